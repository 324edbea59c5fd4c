// Plain Kotlin (no android.* or Capacitor imports): runs on the desktop JVM in tests/shells/kotlin.
package app.airlock.capacitor.logic

/**
 * Facts about the app and device, as the shell reads them from the OS. They become the agent's `DeviceFacts`
 * (DESIGN §9 `device`): the shell collects them on its state executor (PackageManager is an IPC call).
 */
data class PlatformFacts(
    val platform: String,
    val appId: String,
    val nativeVersion: String,
    val nativeBuild: String,
    val osVersion: String,
    /** Directory of the bundle shipped in the app; on Android see [ANDROID_BUILTIN_DIR]. */
    val builtinDir: String,
    /** The private, no-backup app directory; the agent keeps everything under `<dataDir>/airlock/`. */
    val dataDir: String,
    val isEmulator: Boolean,
    val isProd: Boolean,
    val utcOffsetMinutes: Int,
) {
    /** The `device` object of DESIGN §9 (camelCase keys), as the CLI's device simulator reads it. */
    fun toJson(): Map<String, Any?> = linkedMapOf(
        "platform" to platform,
        "appId" to appId,
        "nativeVersion" to nativeVersion,
        "nativeBuild" to nativeBuild,
        "osVersion" to osVersion,
        "builtinDir" to builtinDir,
        "dataDir" to dataDir,
        "isEmulator" to isEmulator,
        "isProd" to isProd,
        "utcOffsetMinutes" to utcOffsetMinutes,
    )

    companion object {
        /**
         * On Android the builtin bundle is inside the APK's assets, not a directory. The FFI has no foreign
         * builtin source yet, so the shell passes this path, which never exists: the agent then finds no builtin
         * files to reuse for delta updates (it fetches those objects instead), and the shell serves `builtin`
         * with Capacitor's asset host (`bridge.setServerAssetPath("public")`), never through this path.
         */
        const val ANDROID_BUILTIN_DIR = "/android_asset/public"
    }
}

/** A configuration the shell cannot start with; the message names the key. */
class ShellConfigException(message: String) : IllegalArgumentException(message)

/**
 * What the shell derives from `plugins.CapacitorUpdater` before it creates the agent. The agent itself parses
 * and validates every key (DESIGN §9): the shell passes the object through unchanged except for the one rule
 * that only the shell can know, and reads the few values it needs for its own timers.
 */
class ShellConfig private constructor(
    /** The JSON text given to `Agent(pluginConfigJson, …)`. */
    val agentConfigJson: String,
    /** The plugin config as parsed (after the shell's rule). */
    val plugin: Map<String, Any?>,
    val device: PlatformFacts,
    /** Findings to log at start-up. */
    val warnings: List<String>,
) {
    /**
     * How often the shell asks the agent for a periodic check while in the foreground, or `null` when
     * `periodCheckDelay` is 0 or absent. The agent decides whether a check is due (period, jitter); the shell
     * only gives it the chance once a minute.
     */
    val periodicTickMs: Long?
        get() = when (val v = plugin["periodCheckDelay"]) {
            is Number -> if (v.toDouble() > 0) PERIODIC_TICK_MS else null
            else -> null
        }

    /**
     * `trustedKeys` is set: the agent installs only signed releases, so a `download({url})` without a manifest
     * URL takes `url` as the signed release manifest (what `getLatest()` returns in `url`).
     */
    val signedOnly: Boolean
        get() = (plugin["trustedKeys"] as? List<*>)?.isNotEmpty() == true

    companion object {
        const val PERIODIC_TICK_MS = 60_000L

        /**
         * @param pluginConfigJson `plugins.CapacitorUpdater` as JSON text (null or blank: no config).
         * @param serverUrl Capacitor's `server.url` (live reload): when set, automatic updates are turned off,
         *   as Capgo does, because the WebView does not load local bundles then.
         */
        fun from(pluginConfigJson: String?, serverUrl: String?, device: PlatformFacts): ShellConfig {
            val parsed = try {
                Json.parseObject(pluginConfigJson)
            } catch (e: Json.ParseException) {
                throw ShellConfigException("plugins.CapacitorUpdater is not a JSON object: ${e.message}")
            }
            val plugin = LinkedHashMap(parsed)
            val warnings = ArrayList<String>()
            if (!serverUrl.isNullOrBlank()) {
                if (!isOff(plugin["autoUpdate"])) {
                    warnings.add("server.url is set ($serverUrl): automatic updates are off while the app loads a dev server")
                }
                plugin["autoUpdate"] = false
                plugin.remove("directUpdate")
            }
            return ShellConfig(Json.encode(plugin), plugin, device, warnings)
        }

        private fun isOff(v: Any?): Boolean = v == false || v == "off" || v == "false"
    }
}
