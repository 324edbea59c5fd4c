// Plain Kotlin (no android.* or Capacitor imports): runs on the desktop JVM in tests/shells/kotlin.
package app.airlock.capacitor.logic

/**
 * One JS event: `notifyListeners(name, data, retain)`. Capgo retains `set` and `appReady` until a listener
 * consumes them, so the page loaded after a switch still receives them; the shell does the same.
 */
data class Emit(val name: String, val data: Map<String, Any?>, val retain: Boolean = name in RETAINED) {
    companion object {
        /** Events kept until a listener consumes them. */
        val RETAINED = setOf("set", "appReady")

        /** Every event name the shells emit (Capgo's), for the parity check with `definitions.ts`. */
        val NAMES = listOf(
            "download", "downloadComplete", "downloadFailed", "updateAvailable", "noNeedUpdate",
            "updateCheckResult", "breakingAvailable", "majorAvailable", "updateFailed", "set", "setNext",
            "appReloaded", "appReady", "channelPrivate",
        )

        /** Emitted by the shell after it reloaded the WebView for `reload()`. */
        fun appReloaded(): Emit = Emit("appReloaded", emptyMap())
    }
}
