package android.os;
public class Build {
    private static String get() { return ""; }
    public static final String FINGERPRINT = get();
    public static final String HARDWARE = get();
    public static final String PRODUCT = get();
    public static class VERSION { public static final int SDK_INT = 0; public static final String RELEASE = get(); }
}
