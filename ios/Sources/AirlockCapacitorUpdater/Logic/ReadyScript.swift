// Plain Swift (Foundation only, no Capacitor or UIKit): compiled and run on Linux by tests/shells/swift.

/// The user script that gives a page its ready token as `window.__airlock = {token}` before the app's scripts
/// run. The JS `notifyAppReady()` sends it back, so only the page loaded for a launch can bless it (DESIGN §7).
public enum ReadyScript {
    /// First line of every script the shell adds, so it can find and replace its own among Capacitor's.
    public static let marker = "/* airlock:ready-token */"

    /// The script for one load's token.
    public static func literal(token: String) -> String {
        marker + "\nwindow.__airlock=Object.freeze({token:" + JSONValue.string(token).encoded + "});"
    }

    /// Whether a user script's source is one of ours.
    public static func isOurs(_ source: String) -> Bool { source.hasPrefix(marker) }
}
