package android.content.pm;
public abstract class PackageManager {
    public static final class PackageInfoFlags { public static PackageInfoFlags of(long value) { return null; } }
    public abstract PackageInfo getPackageInfo(String packageName, int flags) throws NameNotFoundException;
    public PackageInfo getPackageInfo(String packageName, PackageInfoFlags flags) throws NameNotFoundException { return null; }
    public static class NameNotFoundException extends Exception {}
}
