package android.webkit;
public class WebView {
    public void addJavascriptInterface(Object object, String name) {}
    public void evaluateJavascript(String script, ValueCallback<String> resultCallback) {}
}
