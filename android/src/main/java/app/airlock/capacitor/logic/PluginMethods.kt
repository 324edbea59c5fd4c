// Plain Kotlin (no android.* or Capacitor imports): runs on the desktop JVM in tests/shells/kotlin.
package app.airlock.capacitor.logic

/**
 * The JavaScript methods of `CapacitorUpdater`, with Capgo's names: the ones this plugin implements (the parity
 * table of DESIGN §8) and the Capgo methods it rejects with Capacitor's "UNIMPLEMENTED" error. The Android and
 * iOS shells, `src/definitions.ts` and `src/methods.ts` must agree with these lists; scripts/shells-test checks it.
 */
object PluginMethods {
    /** Where a method's agent call runs. Never the main thread, never Capacitor's shared plugin thread. */
    enum class Worker {
        /** The shell's "airlock-state" single-thread executor: local disk work only, short, in call order. */
        STATE,

        /** The shell's "airlock-net" single-thread executor: calls that may use the network (long, cancellable). */
        NETWORK,
    }

    /**
     * Supported methods, each with the executor the call runs on. `triggerUpdateCheck` answers at once from the
     * state executor (Capgo's `{status: "queued"}`) and queues the check itself on the network executor.
     */
    val SUPPORTED: Map<String, Worker> = linkedMapOf(
        "notifyAppReady" to Worker.STATE,
        "download" to Worker.NETWORK,
        "next" to Worker.STATE,
        "set" to Worker.STATE,
        "reload" to Worker.STATE,
        "reset" to Worker.STATE,
        "current" to Worker.STATE,
        "list" to Worker.STATE,
        "delete" to Worker.STATE,
        "getNextBundle" to Worker.STATE,
        "getFailedUpdate" to Worker.STATE,
        "setMultiDelay" to Worker.STATE,
        "cancelDelay" to Worker.STATE,
        "getLatest" to Worker.NETWORK,
        "setChannel" to Worker.NETWORK,
        "unsetChannel" to Worker.STATE,
        "getChannel" to Worker.STATE,
        "listChannels" to Worker.NETWORK,
        "setCustomId" to Worker.STATE,
        "getDeviceId" to Worker.STATE,
        "getBuiltinVersion" to Worker.STATE,
        "getPluginVersion" to Worker.STATE,
        "isAutoUpdateEnabled" to Worker.STATE,
        "triggerUpdateCheck" to Worker.STATE,
        "setAttributes" to Worker.STATE,
        "getAttributes" to Worker.STATE,
    )

    /** Capgo methods outside the parity table: preview sessions, shake menu, store helpers, runtime URL changes. */
    val UNIMPLEMENTED: List<String> = listOf(
        "setBundleError",
        "getMissingBundleFiles",
        "getBundleDownloadSize",
        "isAutoUpdateAvailable",
        "setUpdateUrl",
        "setStatsUrl",
        "setChannelUrl",
        "getAppId",
        "setAppId",
        "startPreviewSession",
        "listPreviews",
        "setPreview",
        "resetPreview",
        "deletePreview",
        "checkPreviewUpdate",
        "updatePreview",
        "setShakeMenu",
        "isShakeMenuEnabled",
        "setShakeChannelSelector",
        "isShakeChannelSelectorEnabled",
        "getAppUpdateInfo",
        "openAppStore",
        "performImmediateUpdate",
        "startFlexibleUpdate",
        "completeFlexibleUpdate",
    )

    /** The message an unimplemented method rejects with. */
    fun unimplementedMessage(method: String): String =
        "CapacitorUpdater.$method() is not implemented by Airlock (see docs/migrating-from-capgo.md)"
}
