package org.json;
public class JSONException extends RuntimeException { public JSONException(String m) { super(m); } }
