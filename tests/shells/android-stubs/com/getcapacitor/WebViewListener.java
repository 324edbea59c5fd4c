package com.getcapacitor;
public abstract class WebViewListener {
    public void onPageLoaded(android.webkit.WebView webView) {}
    public void onPageStarted(android.webkit.WebView webView) {}
}
