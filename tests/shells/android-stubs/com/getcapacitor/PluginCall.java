package com.getcapacitor;
public class PluginCall {
    public JSObject getData() { return null; }
    public String getMethodName() { return null; }
    public void resolve() {}
    public void resolve(JSObject data) {}
    public void reject(String msg, String code, Exception ex, JSObject data) {}
    public void unimplemented(String msg) {}
}
