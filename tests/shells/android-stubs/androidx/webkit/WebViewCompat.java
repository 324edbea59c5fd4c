package androidx.webkit;
public class WebViewCompat {
    public static ScriptHandler addDocumentStartJavaScript(android.webkit.WebView webview, String script,
            java.util.Set<String> allowedOriginRules) { return null; }
}
