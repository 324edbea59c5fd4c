package com.getcapacitor;
public class CapConfig { public String getServerUrl() { return null; } }
