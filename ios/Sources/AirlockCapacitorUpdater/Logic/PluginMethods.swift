// Plain Swift (Foundation only, no Capacitor or UIKit): compiled and run on Linux by tests/shells/swift.

/// The JavaScript methods of `CapacitorUpdater`, with Capgo's names: the ones this plugin implements (the parity
/// table of DESIGN §8) and the Capgo methods it rejects with Capacitor's "UNIMPLEMENTED" error. The Android and
/// iOS shells, `src/definitions.ts` and `src/methods.ts` must agree with these lists; scripts/shells-test checks it.
public enum PluginMethods {
    /// Where a method's agent call runs. Never the main queue, never Capacitor's shared "bridge" queue.
    public enum Worker: Sendable, Equatable {
        /// The shell's serial "app.airlock.state" queue: local disk work only, short, in call order.
        case state
        /// The shell's serial "app.airlock.network" queue: calls that may use the network (long, cancellable).
        case network
    }

    /// Supported methods in the parity table's order, each with the queue the call runs on. `triggerUpdateCheck`
    /// answers at once from the state queue (Capgo's `{status: "queued"}`) and queues the check on the network queue.
    public static let supported: [(name: String, worker: Worker)] = [
        ("notifyAppReady", .state),
        ("download", .network),
        ("next", .state),
        ("set", .state),
        ("reload", .state),
        ("reset", .state),
        ("current", .state),
        ("list", .state),
        ("delete", .state),
        ("getNextBundle", .state),
        ("getFailedUpdate", .state),
        ("setMultiDelay", .state),
        ("cancelDelay", .state),
        ("getLatest", .network),
        ("setChannel", .network),
        ("unsetChannel", .state),
        ("getChannel", .state),
        ("listChannels", .network),
        ("setCustomId", .state),
        ("getDeviceId", .state),
        ("getBuiltinVersion", .state),
        ("getPluginVersion", .state),
        ("isAutoUpdateEnabled", .state),
        ("triggerUpdateCheck", .state),
        ("setAttributes", .state),
        ("getAttributes", .state),
    ]

    /// Capgo methods outside the parity table: preview sessions, shake menu, store helpers, runtime URL changes.
    public static let unimplemented: [String] = [
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
    ]

    /// The queue a supported method's agent call runs on (nil for a name that is not supported).
    public static func worker(_ method: String) -> Worker? {
        supported.first { $0.name == method }?.worker
    }

    /// The message an unimplemented method rejects with.
    public static func unimplementedMessage(_ method: String) -> String {
        "CapacitorUpdater.\(method)() is not implemented by Airlock (see docs/migrating-from-capgo.md)"
    }
}
