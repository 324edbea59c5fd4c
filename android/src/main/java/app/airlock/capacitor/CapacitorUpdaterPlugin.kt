package app.airlock.capacitor

import android.os.Handler
import android.os.Looper
import android.os.SystemClock
import android.util.Log
import app.airlock.capacitor.logic.BackgroundClock
import app.airlock.capacitor.logic.CallArgs
import app.airlock.capacitor.logic.Emit
import app.airlock.capacitor.logic.Failure
import app.airlock.capacitor.logic.FailureKind
import app.airlock.capacitor.logic.Json
import app.airlock.capacitor.logic.PluginMethods
import app.airlock.capacitor.logic.ReadyWatch
import app.airlock.capacitor.logic.Shapes
import app.airlock.capacitor.logic.TimerAction
import com.getcapacitor.JSObject
import com.getcapacitor.Plugin
import com.getcapacitor.PluginCall
import com.getcapacitor.PluginMethod
import com.getcapacitor.annotation.CapacitorPlugin
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.ExecutorService
import java.util.concurrent.atomic.AtomicBoolean
import uniffi.airlock.Agent
import uniffi.airlock.AgentEvent
import uniffi.airlock.AutoOutcome
import uniffi.airlock.CancelToken
import uniffi.airlock.Launch
import uniffi.airlock.ReadyResult
import uniffi.airlock.Trigger

/**
 * `CapacitorUpdater` on Android: Capgo's JavaScript API over the Airlock agent (DESIGN §8). A thin shell: every
 * decision is the agent's; this class moves calls to the right thread, points the WebView, runs the ready timer
 * and forwards lifecycle and events.
 *
 * Where each call runs (acceptance: nothing blocks the main thread or Capacitor's shared plugin thread):
 * - Capacitor invokes every `@PluginMethod` on its shared "CapacitorPlugins" thread; each one only hops, through
 *   [onState] or [onNetwork], to [AgentHost.state] (local disk) or [AgentHost.network] (may use the network)
 *   and returns. The table of which method goes where is `PluginMethods.SUPPORTED`.
 * - The main thread only schedules (ready timer, periodic tick) and points the WebView (`setServerBasePath`).
 * - Events arrive on the agent's working thread and are handed to the plugin thread (`bridge.execute`), where
 *   Capacitor also registers listeners, for `notifyListeners`.
 */
@CapacitorPlugin(name = "CapacitorUpdater")
class CapacitorUpdaterPlugin : Plugin() {
    private val main = Handler(Looper.getMainLooper())
    private val watch = ReadyWatch(DEFAULT_READY_TIMEOUT_MS)
    private val clock = BackgroundClock()
    private val started = CountDownLatch(1)
    private val cancels: MutableSet<CancelToken> = ConcurrentHashMap.newKeySet()
    private val checkQueued = AtomicBoolean(false)
    private lateinit var web: WebViewLoader

    @Volatile
    private var host: AgentHost.Started? = null

    /** This instance's event sink (a stable value, so destroy can detach exactly it). */
    private val eventSink: (AgentEvent) -> Unit = { onAgentEvent(it) }

    // Main thread only.
    private var armedTimer: Runnable? = null
    private var periodicTick: Runnable? = null

    /** Main thread, before Capacitor's first page load: wires the WebView, then starts the agent on its executor. */
    override fun load() {
        web = WebViewLoader(bridge) { token -> timer(watch.loadStarted(token)) }
        web.install()
        AgentHost.events.target = eventSink
        val pluginConfigJson = config.configJSON.toString()
        val serverUrl = bridge.config.serverUrl
        val appContext = context.applicationContext
        AgentHost.state.execute { startUp(appContext, pluginConfigJson, serverUrl) }
    }

    /**
     * State executor: open the agent and decide the cold-start load, then run the cold-start check on the
     * network. Whatever happens, calls stop waiting and the first page loads (builtin when there is no launch).
     */
    private fun startUp(context: android.content.Context, pluginConfigJson: String, serverUrl: String?) {
        var launch: Launch? = null
        try {
            val h = AgentHost.start(context, pluginConfigJson, serverUrl)
            host = h
            val agent = h.agent ?: return
            watch.timeoutMs = agent.appReadyTimeoutMs().toLong()
            launch = agent.launch()
        } catch (e: Exception) {
            Log.e(TAG, "launch failed (${Shapes.failure(e).code}): ${e.message}; serving the builtin bundle")
        } finally {
            started.countDown()
            web.openGate(launch)
        }
        val agent = host?.agent ?: return
        if (launch != null) AgentHost.network.execute { autoCheck(agent, Trigger.COLD_START) }
        main.post { startPeriodic() }
    }

    // --- JS methods: the parity table (PluginMethods.SUPPORTED) ------------------------------------------------

    @PluginMethod
    fun notifyAppReady(call: PluginCall) = onState(call) { agent ->
        val (token, fallback) = watch.tokenFor(args(call).token())
        if (token == null) {
            call.resolve(js(Shapes.wrapped(agent.current().bundle)))
            return@onState
        }
        if (fallback) Log.w(TAG, "notifyAppReady() sent no ready token; crediting the latest load")
        val result = agent.notifyAppReady(token)
        when (result) {
            is ReadyResult.Blessed -> timer(watch.ready(token))
            is ReadyResult.Ignored -> Log.w(TAG, "notifyAppReady() ignored: ${result.reason}")
        }
        call.resolve(js(Shapes.ready(result)))
    }

    @PluginMethod
    fun download(call: PluginCall) = onNetwork(call) { agent, cancel ->
        val request = Shapes.downloadRequest(args(call).download(signedOnly()))
        call.resolve(js(Shapes.bundle(agent.download(request, cancel))))
    }

    @PluginMethod
    fun next(call: PluginCall) = onState(call) { agent ->
        call.resolve(js(Shapes.bundle(agent.setNext(args(call).id()))))
    }

    @PluginMethod
    fun set(call: PluginCall) = onState(call) { agent ->
        val launch = agent.setCurrent(args(call).id())
        call.resolve()
        web.load(launch)
    }

    @PluginMethod
    fun reload(call: PluginCall) = onState(call) { agent ->
        val launch = agent.reload()
        call.resolve()
        web.load(launch)
        emit(Emit.appReloaded())
    }

    @PluginMethod
    fun reset(call: PluginCall) = onState(call) { agent ->
        val a = args(call).reset()
        val launch = if (a.usePendingBundle && agent.nextBundle() != null) agent.reload() else agent.reset(a.toLastSuccessful)
        call.resolve()
        web.load(launch)
    }

    @PluginMethod
    fun current(call: PluginCall) = onState(call) { agent -> call.resolve(js(Shapes.current(agent.current()))) }

    @PluginMethod
    fun list(call: PluginCall) = onState(call) { agent -> call.resolve(js(Shapes.list(agent.list()))) }

    @PluginMethod
    fun delete(call: PluginCall) = onState(call) { agent ->
        agent.delete(args(call).id())
        call.resolve()
    }

    @PluginMethod
    fun getNextBundle(call: PluginCall) = onState(call) { agent ->
        val next = agent.nextBundle()
        if (next != null) call.resolve(js(Shapes.bundle(next))) else call.resolve(null)
    }

    @PluginMethod
    fun getFailedUpdate(call: PluginCall) = onState(call) { agent ->
        val failed = agent.takeFailedUpdate()
        if (failed != null) call.resolve(js(Shapes.wrapped(failed))) else call.resolve(null)
    }

    @PluginMethod
    fun setMultiDelay(call: PluginCall) = onState(call) { agent ->
        agent.setDelayConditions(Shapes.delayConditions(args(call).delayConditions()))
        call.resolve()
    }

    @PluginMethod
    fun cancelDelay(call: PluginCall) = onState(call) { agent ->
        agent.cancelDelay()
        call.resolve()
    }

    @PluginMethod
    fun getLatest(call: PluginCall) = onNetwork(call) { agent, cancel ->
        val latest = agent.latest(args(call).latestChannel(), cancel)
        if (latest.kind == "failed") {
            reject(call, Failure(FailureKind.NETWORK, latest.error ?: latest.message ?: "the update check failed"))
        } else {
            call.resolve(js(Shapes.latest(latest)))
        }
    }

    @PluginMethod
    fun setChannel(call: PluginCall) = onNetwork(call) { agent, cancel ->
        val a = args(call).channel(required = true)
        call.resolve(js(Shapes.channel(agent.setChannel(a.channel ?: "", cancel))))
        if (a.triggerAutoUpdate) autoCheck(agent, Trigger.MANUAL)
    }

    @PluginMethod
    fun unsetChannel(call: PluginCall) = onState(call) { agent ->
        val a = args(call).channel(required = false)
        agent.unsetChannel()
        call.resolve()
        if (a.triggerAutoUpdate) queueCheck(agent)
    }

    @PluginMethod
    fun getChannel(call: PluginCall) = onState(call) { agent -> call.resolve(js(Shapes.channel(agent.getChannel()))) }

    @PluginMethod
    fun listChannels(call: PluginCall) = onNetwork(call) { agent, cancel ->
        call.resolve(js(Shapes.channels(agent.listChannels(cancel))))
    }

    @PluginMethod
    fun setCustomId(call: PluginCall) = onState(call) { agent ->
        agent.setCustomId(args(call).customId())
        call.resolve()
    }

    @PluginMethod
    fun getDeviceId(call: PluginCall) = onState(call) { agent -> call.resolve(js(mapOf("deviceId" to agent.deviceId()))) }

    @PluginMethod
    fun getBuiltinVersion(call: PluginCall) = onState(call) { agent ->
        call.resolve(js(mapOf("version" to agent.builtinVersion())))
    }

    @PluginMethod
    fun getPluginVersion(call: PluginCall) = onState(call) { agent ->
        call.resolve(js(mapOf("version" to agent.pluginVersion())))
    }

    @PluginMethod
    fun isAutoUpdateEnabled(call: PluginCall) = onState(call) { agent ->
        call.resolve(js(mapOf("enabled" to agent.autoUpdateEnabled())))
    }

    /** Answers at once, as Capgo does; the check itself runs on the network executor. */
    @PluginMethod
    fun triggerUpdateCheck(call: PluginCall) = onState(call) { agent ->
        val status = when {
            !agent.autoUpdateEnabled() -> "unavailable"
            queueCheck(agent) -> "queued"
            else -> "already_running"
        }
        call.resolve(js(mapOf("status" to status, "queued" to (status == "queued"))))
    }

    @PluginMethod
    fun setAttributes(call: PluginCall) = onState(call) { agent ->
        agent.setAttributes(args(call).attributes())
        call.resolve()
    }

    @PluginMethod
    fun getAttributes(call: PluginCall) = onState(call) { agent ->
        call.resolve(js(mapOf("attributes" to agent.attributes())))
    }

    // --- Capgo methods outside the parity table (PluginMethods.UNIMPLEMENTED) ---------------------------------

    @PluginMethod fun setBundleError(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun getMissingBundleFiles(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun getBundleDownloadSize(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun isAutoUpdateAvailable(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun setUpdateUrl(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun setStatsUrl(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun setChannelUrl(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun getAppId(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun setAppId(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun startPreviewSession(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun listPreviews(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun setPreview(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun resetPreview(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun deletePreview(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun checkPreviewUpdate(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun updatePreview(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun setShakeMenu(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun isShakeMenuEnabled(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun setShakeChannelSelector(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun isShakeChannelSelectorEnabled(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun getAppUpdateInfo(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun openAppStore(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun performImmediateUpdate(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun startFlexibleUpdate(call: PluginCall) = rejectUnimplemented(call)
    @PluginMethod fun completeFlexibleUpdate(call: PluginCall) = rejectUnimplemented(call)

    // --- Lifecycle (main thread) -------------------------------------------------------------------------------

    /** The app left the foreground: pause the ready timer and let the agent apply a queued bundle (state). */
    override fun handleOnPause() {
        clock.wentToBackground(SystemClock.elapsedRealtime())
        timer(watch.background())
        stopPeriodic()
        val agent = host?.agent ?: return
        AgentHost.state.execute {
            guarded("onBackground") { agent.onBackground()?.let(web::load) }
        }
    }

    /** Back in the foreground (not the first resume of the process, which is the cold start). */
    override fun handleOnResume() {
        val away = clock.cameToForeground(SystemClock.elapsedRealtime()) ?: return
        timer(watch.foreground())
        startPeriodic()
        val agent = host?.agent ?: return
        AgentHost.network.execute {
            withCancel { cancel -> guarded("onForeground") { handle(agent.onForeground(away, cancel)) } }
        }
    }

    override fun handleOnDestroy() {
        if (AgentHost.events.target === eventSink) AgentHost.events.target = null
        cancels.forEach { it.cancel() }
        main.removeCallbacksAndMessages(null)
    }

    // --- Plumbing ----------------------------------------------------------------------------------------------

    /** Runs [body] on the state executor once the agent is up (Capacitor's plugin thread only hops). */
    private fun onState(call: PluginCall, body: (Agent) -> Unit) = dispatch(AgentHost.state, call) { body(it) }

    /** Runs [body] on the network executor with a cancel token, once the agent is up. */
    private fun onNetwork(call: PluginCall, body: (Agent, CancelToken) -> Unit) =
        dispatch(AgentHost.network, call) { agent -> withCancel { body(agent, it) } }

    private fun dispatch(executor: ExecutorService, call: PluginCall, body: (Agent) -> Unit) {
        executor.execute {
            started.await()
            val h = host
            val agent = h?.agent
            if (agent == null) {
                reject(call, h?.failure ?: Failure(FailureKind.NOT_STARTED, "the agent is not running"))
                return@execute
            }
            try {
                body(agent)
            } catch (e: Exception) {
                reject(call, Shapes.failure(e))
            }
        }
    }

    private fun rejectUnimplemented(call: PluginCall) =
        call.unimplemented(PluginMethods.unimplementedMessage(call.methodName))

    private fun reject(call: PluginCall, f: Failure) = call.reject(f.message, f.code, null, js(f.data))

    private fun args(call: PluginCall): CallArgs = CallArgs.fromJson(call.data.toString())

    private fun js(value: Map<String, Any?>): JSObject = JSObject(Json.encode(value))

    private fun signedOnly(): Boolean = host?.config?.signedOnly == true

    private fun <T> withCancel(body: (CancelToken) -> T): T {
        val cancel = CancelToken()
        cancels.add(cancel)
        try {
            return body(cancel)
        } finally {
            cancels.remove(cancel)
            cancel.close()
        }
    }

    private inline fun guarded(what: String, body: () -> Unit) {
        try {
            body()
        } catch (e: Exception) {
            val f = Shapes.failure(e)
            Log.w(TAG, "$what failed (${f.code}): ${f.message}")
        }
    }

    /** Network executor: the automatic pipeline for [trigger]. */
    private fun autoCheck(agent: Agent, trigger: Trigger) = withCancel { cancel ->
        guarded("update check") { handle(agent.checkAndUpdate(trigger, cancel)) }
    }

    /** Queues one manual check on the network executor; false when one is already queued or running. */
    private fun queueCheck(agent: Agent): Boolean {
        if (!checkQueued.compareAndSet(false, true)) return false
        AgentHost.network.execute {
            try {
                autoCheck(agent, Trigger.MANUAL)
            } finally {
                checkQueued.set(false)
            }
        }
        return true
    }

    private fun handle(outcome: AutoOutcome) {
        if (outcome is AutoOutcome.Reload) web.load(outcome.launch)
    }

    /** Carries out a ready-timer decision: scheduling on the main looper, the agent call on the state executor. */
    private fun timer(action: TimerAction) {
        when (action) {
            is TimerAction.Arm -> main.post {
                armedTimer?.let(main::removeCallbacks)
                val r = Runnable { timer(watch.fired(action.token)) }
                armedTimer = r
                main.postDelayed(r, action.delayMs)
            }
            TimerAction.Cancel -> main.post { armedTimer?.let(main::removeCallbacks) }
            is TimerAction.CallReadyTimeout -> {
                val agent = host?.agent ?: return
                AgentHost.state.execute {
                    guarded("readyTimeout") { agent.readyTimeout(action.token)?.let(web::load) }
                }
            }
            TimerAction.None -> {}
        }
    }

    private fun startPeriodic() {
        val agent = host?.agent ?: return
        if (host?.config?.periodicTickMs == null || periodicTick != null) return
        val tick = object : Runnable {
            override fun run() {
                AgentHost.network.execute { autoCheck(agent, Trigger.PERIODIC) }
                main.postDelayed(this, host?.config?.periodicTickMs ?: return)
            }
        }
        periodicTick = tick
        main.postDelayed(tick, host?.config?.periodicTickMs ?: return)
    }

    private fun stopPeriodic() {
        periodicTick?.let(main::removeCallbacks)
        periodicTick = null
    }

    /** Agent thread: hand each JS event to Capacitor's plugin thread for `notifyListeners`. */
    private fun onAgentEvent(event: AgentEvent) = Shapes.events(event).forEach(::emit)

    private fun emit(e: Emit) = bridge.execute { notifyListeners(e.name, js(e.data), e.retain) }

    companion object {
        /** Until the agent answers with the configured `appReadyTimeout`. */
        const val DEFAULT_READY_TIMEOUT_MS = 10_000L
    }
}
