// Plain Kotlin (no android.* or Capacitor imports): runs on the desktop JVM in tests/shells/kotlin.
package app.airlock.capacitor.logic

/**
 * The scripts that give a page its ready token as `window.__airlock = {token}` before the app's scripts run.
 * The JS `notifyAppReady()` sends it back, so only the page loaded for a launch can bless it (DESIGN §7).
 */
object ReadyScript {
    /** First line of every script the shell adds, so it can find and replace its own. */
    const val MARKER = "/* airlock:ready-token */"

    /** Name of the Android JavaScript interface that hands out the token of the latest load. */
    const val ANDROID_INTERFACE = "AirlockShell"

    /**
     * Android document-start script, registered once: at the start of each document it asks the shell for the
     * token of the load the shell started last and keeps it. A page keeps the token it read at its own start,
     * so an old page still alive after a reload can never send the new page's token.
     */
    val androidDocumentStart: String =
        MARKER + "\n(function(){try{var s=window." + ANDROID_INTERFACE + ";var t=s&&s.readyToken();" +
            "if(t){window.__airlock=Object.freeze({token:String(t)});}}catch(e){}})();"

    /** A script that sets one load's token literally (iOS user script per load; Android fallback at page start). */
    fun literal(token: String): String =
        MARKER + "\nwindow.__airlock=Object.freeze({token:" + Json.encode(token) + "});"
}
