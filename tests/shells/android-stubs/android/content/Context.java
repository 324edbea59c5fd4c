package android.content;
import android.content.pm.ApplicationInfo;
import android.content.pm.PackageManager;
public abstract class Context {
    public static final int MODE_PRIVATE = 0;
    public abstract PackageManager getPackageManager();
    public abstract String getPackageName();
    public abstract ApplicationInfo getApplicationInfo();
    public abstract java.io.File getNoBackupFilesDir();
    public abstract Context getApplicationContext();
    public abstract SharedPreferences getSharedPreferences(String name, int mode);
}
