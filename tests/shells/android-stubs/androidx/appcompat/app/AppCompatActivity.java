package androidx.appcompat.app;
public abstract class AppCompatActivity extends android.app.Activity {}
