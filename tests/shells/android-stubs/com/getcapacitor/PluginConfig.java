package com.getcapacitor;
public class PluginConfig { public org.json.JSONObject getConfigJSON() { return null; } }
