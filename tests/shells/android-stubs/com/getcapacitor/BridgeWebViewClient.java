package com.getcapacitor;
public class BridgeWebViewClient extends android.webkit.WebViewClient {
    public BridgeWebViewClient(Bridge bridge) {}
    @Override
    public android.webkit.WebResourceResponse shouldInterceptRequest(android.webkit.WebView view,
            android.webkit.WebResourceRequest request) { return null; }
}
