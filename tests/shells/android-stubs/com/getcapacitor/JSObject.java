package com.getcapacitor;
public class JSObject extends org.json.JSONObject {
    public JSObject() {}
    public JSObject(String json) throws org.json.JSONException { super(json); }
}
