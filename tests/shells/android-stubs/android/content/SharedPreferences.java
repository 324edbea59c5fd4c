package android.content;
public interface SharedPreferences {
    interface Editor { Editor remove(String key); void apply(); }
    Editor edit();
}
