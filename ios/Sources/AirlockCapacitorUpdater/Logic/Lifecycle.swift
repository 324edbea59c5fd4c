// Plain Swift (Foundation only, no Capacitor or UIKit): compiled and run on Linux by tests/shells/swift.
import Foundation

/// What the shell must do with its ready timer after a lifecycle step.
public enum TimerAction: Sendable, Equatable {
    /// (Re)arm the timer for `token`: fire after `delayMs` unless cancelled. Replaces any armed timer.
    case arm(token: String, delayMs: UInt64)
    /// Cancel the armed timer, if any.
    case cancel
    /// The timer fired for the load in progress: call `agent.readyTimeout(token:)` (on the state queue).
    case callReadyTimeout(token: String)
    /// Nothing to do.
    case none
}

/// The `appReadyTimeout` timer of one WebView, as a state machine the shell drives from its lifecycle callbacks.
/// Invariant: at most one load is pending; its timer runs only while the app is in the foreground (Capgo re-arms
/// the full timeout on every foreground, and a suspended app cannot run its page), and a timer that fires for a
/// load that is no longer pending does nothing.
///
/// Thread-safe: callbacks come from the main queue, the shell's queues and Capacitor's bridge queue.
public final class ReadyWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var timeout: UInt64
    private var pending: String?
    private var latest: String?
    private var foreground = true

    public init(timeoutMs: UInt64) { self.timeout = timeoutMs }

    /// `appReadyTimeout` in ms; the shell sets the agent's value once the agent has started.
    public var timeoutMs: UInt64 {
        get { locked { timeout } }
        set { locked { timeout = newValue } }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// The shell pointed the WebView at a new load with `token`.
    public func loadStarted(_ token: String) -> TimerAction {
        locked {
            pending = token
            latest = token
            return foreground ? .arm(token: token, delayMs: timeout) : .none
        }
    }

    /// The agent blessed the load of `token` (`notifyAppReady` returned `blessed`).
    public func ready(_ token: String) -> TimerAction {
        locked {
            guard pending == token else { return .none }
            pending = nil
            return .cancel
        }
    }

    /// The app went to the background: the timer pauses.
    public func background() -> TimerAction {
        locked {
            foreground = false
            return pending != nil ? .cancel : .none
        }
    }

    /// The app is in the foreground again: a pending load gets the full timeout again.
    public func foregrounded() -> TimerAction {
        locked {
            foreground = true
            guard let p = pending else { return .none }
            return .arm(token: p, delayMs: timeout)
        }
    }

    /// The timer armed for `token` fired.
    public func fired(_ token: String) -> TimerAction {
        locked {
            guard foreground, pending == token else { return .none }
            pending = nil
            return .callReadyTimeout(token: token)
        }
    }

    /// The token to hand the agent for a `notifyAppReady()` that sent `sent`. A page that sent none (the shell
    /// could not inject one, or the page calls the bridge directly) is credited to the latest load the shell
    /// started; `fallback` says so, for a warning in the log.
    public func token(for sent: String?) -> (token: String?, fallback: Bool) {
        locked {
            if let sent, !sent.isEmpty { return (sent, false) }
            return (latest, true)
        }
    }

    /// The token of the latest load the shell started.
    public var latestToken: String? { locked { latest } }
}

/// How long the app stayed in the background, for `agent.onForeground(backgroundMs:)`. The first activation of a
/// process follows no background: it is the cold start, which the shell handles with `launch()` +
/// `checkAndUpdate(.coldStart)`, so it yields nil.
public final class BackgroundClock: @unchecked Sendable {
    private let lock = NSLock()
    private var since: UInt64?

    public init() {}

    /// The app went to the background at `nowMs` (a monotonic clock).
    public func wentToBackground(nowMs: UInt64) {
        lock.lock()
        since = nowMs
        lock.unlock()
    }

    /// The app came back at `nowMs`: milliseconds spent in the background, or nil if it never left.
    public func cameToForeground(nowMs: UInt64) -> Int64? {
        lock.lock()
        defer { lock.unlock() }
        guard let start = since else { return nil }
        since = nil
        return nowMs >= start ? Int64(nowMs - start) : 0
    }
}
