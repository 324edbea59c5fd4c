package android.webkit;
public interface WebResourceRequest {}
