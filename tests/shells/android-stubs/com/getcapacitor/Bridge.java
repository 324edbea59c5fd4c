package com.getcapacitor;
public class Bridge {
    public android.webkit.WebView getWebView() { return null; }
    public androidx.appcompat.app.AppCompatActivity getActivity() { return null; }
    public String getScheme() { return null; }
    public String getHost() { return null; }
    public CapConfig getConfig() { return null; }
    public WebViewLocalServer getLocalServer() { return null; }
    public BridgeWebViewClient getWebViewClient() { return null; }
    public void setWebViewClient(BridgeWebViewClient client) {}
    public void addWebViewListener(WebViewListener webViewListener) {}
    public void setServerBasePath(String path) {}
    public void setServerAssetPath(String path) {}
    public void execute(Runnable runnable) {}
}
