// Plain Kotlin (no android.* or Capacitor imports): runs on the desktop JVM in tests/shells/kotlin.
package app.airlock.capacitor.logic

/** What the shell must do with its ready timer after a lifecycle step. */
sealed class TimerAction {
    /** (Re)arm the timer for [token]: fire after [delayMs] unless cancelled. Replaces any armed timer. */
    data class Arm(val token: String, val delayMs: Long) : TimerAction()

    /** Cancel the armed timer, if any. */
    object Cancel : TimerAction()

    /** The timer fired for the load in progress: call `agent.readyTimeout(token)` (on the state executor). */
    data class CallReadyTimeout(val token: String) : TimerAction()

    /** Nothing to do. */
    object None : TimerAction()
}

/**
 * The `appReadyTimeout` timer of one WebView, as a state machine the shell drives from its lifecycle callbacks.
 * Invariant: at most one load is pending; its timer runs only while the app is in the foreground (Capgo re-arms
 * the full timeout on every foreground, and a backgrounded app cannot run its page), and a timer that fires for a
 * load that is no longer pending does nothing.
 *
 * Thread-safe: callbacks come from the main thread, the executors and the JS bridge thread.
 */
class ReadyWatch(timeoutMs: Long) {
    /** `appReadyTimeout` in ms; the shell sets the agent's value once the agent has started. */
    @get:Synchronized @set:Synchronized
    var timeoutMs: Long = timeoutMs

    private var pending: String? = null
    private var latest: String? = null
    private var foreground = true

    /** The shell pointed the WebView at a new load with [token]. */
    @Synchronized
    fun loadStarted(token: String): TimerAction {
        pending = token
        latest = token
        return if (foreground) TimerAction.Arm(token, timeoutMs) else TimerAction.None
    }

    /** The agent blessed the load of [token] (`notifyAppReady` returned `Blessed`). */
    @Synchronized
    fun ready(token: String): TimerAction {
        if (pending != token) return TimerAction.None
        pending = null
        return TimerAction.Cancel
    }

    /** The app went to the background: the timer pauses. */
    @Synchronized
    fun background(): TimerAction {
        foreground = false
        return if (pending != null) TimerAction.Cancel else TimerAction.None
    }

    /** The app is in the foreground again: a pending load gets the full timeout again. */
    @Synchronized
    fun foreground(): TimerAction {
        foreground = true
        return pending?.let { TimerAction.Arm(it, timeoutMs) } ?: TimerAction.None
    }

    /** The timer armed for [token] fired. */
    @Synchronized
    fun fired(token: String): TimerAction {
        if (!foreground || pending != token) return TimerAction.None
        pending = null
        return TimerAction.CallReadyTimeout(token)
    }

    /**
     * The token to hand the agent for a `notifyAppReady()` that sent [sent]. A page that sent none (the shell
     * could not inject one, or the page calls the bridge directly) is credited to the latest load the shell
     * started; the second value says so, for a warning in the log.
     */
    @Synchronized
    fun tokenFor(sent: String?): Pair<String?, Boolean> =
        if (!sent.isNullOrEmpty()) sent to false else latest to true

    /** The token of the latest load the shell started (what a new page reads at document start). */
    @get:Synchronized
    val latestToken: String?
        get() = latest
}

/**
 * How long the app stayed in the background, for `agent.onForeground(backgroundMs)`. The first foreground of a
 * process (Android's first `onResume`, iOS's first activation) follows no background: it is the cold start,
 * which the shell handles with `launch()` + `checkAndUpdate(COLD_START)`, so it yields `null`.
 */
class BackgroundClock {
    private var since: Long? = null

    /** The app went to the background at [nowMs] (a monotonic clock). */
    @Synchronized
    fun wentToBackground(nowMs: Long) {
        since = nowMs
    }

    /** The app came back at [nowMs]: milliseconds spent in the background, or `null` if it never left. */
    @Synchronized
    fun cameToForeground(nowMs: Long): Long? {
        val start = since ?: return null
        since = null
        return (nowMs - start).coerceAtLeast(0)
    }
}
