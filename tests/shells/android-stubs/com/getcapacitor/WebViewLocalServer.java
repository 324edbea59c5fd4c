package com.getcapacitor;
public class WebViewLocalServer {
    public void hostAssets(String assetPath) {}
    public void hostFiles(String basePath) {}
}
