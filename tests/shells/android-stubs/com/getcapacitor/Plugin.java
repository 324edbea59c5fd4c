package com.getcapacitor;
public class Plugin {
    protected Bridge bridge;
    public void load() {}
    public android.content.Context getContext() { return null; }
    public Bridge getBridge() { return bridge; }
    public PluginConfig getConfig() { return null; }
    protected void notifyListeners(String eventName, JSObject data, boolean retainUntilConsumed) {}
    protected void handleOnPause() {}
    protected void handleOnResume() {}
    protected void handleOnDestroy() {}
}
