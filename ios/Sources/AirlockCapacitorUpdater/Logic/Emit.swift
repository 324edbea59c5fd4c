// Plain Swift (Foundation only, no Capacitor or UIKit): compiled and run on Linux by tests/shells/swift.

/// One JS event: `notifyListeners(name, data:, retainUntilConsumed:)`. Capgo retains `set` and `appReady` until a
/// listener consumes them, so the page loaded after a switch still receives them; the shell does the same.
public struct Emit: Sendable, Equatable {
    public let name: String
    public let data: JSONValue
    public let retain: Bool

    public init(_ name: String, _ data: JSONValue) {
        self.name = name
        self.data = data
        self.retain = Emit.retained.contains(name)
    }

    /// Events kept until a listener consumes them.
    public static let retained: Set<String> = ["set", "appReady"]

    /// Every event name the shells emit (Capgo's), for the parity check with `definitions.ts`.
    public static let names = [
        "download", "downloadComplete", "downloadFailed", "updateAvailable", "noNeedUpdate",
        "updateCheckResult", "breakingAvailable", "majorAvailable", "updateFailed", "set", "setNext",
        "appReloaded", "appReady", "channelPrivate",
    ]

    /// Emitted by the shell after it reloaded the WebView for `reload()`.
    public static func appReloaded() -> Emit { Emit("appReloaded", .object([:])) }
}
