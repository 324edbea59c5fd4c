import Foundation
import Capacitor
import UIKit

/// `CapacitorUpdater` on iOS: Capgo's JavaScript API over the Airlock agent (DESIGN §8). A thin shell: every
/// decision is the agent's; this class moves calls to the right queue, points the WebView, runs the ready timer
/// and forwards lifecycle and events.
///
/// Where each call runs (acceptance: nothing blocks the main queue or Capacitor's shared "bridge" queue):
/// - Capacitor invokes every plugin method on its serial "bridge" queue; each one only hops, through `onState`
///   or `onNetwork`, to `AgentHost.state` (local disk) or `AgentHost.network` (may use the network) and returns.
///   The table of which method goes where is `PluginMethods.supported`.
/// - The main queue only schedules (ready timer, periodic tick) and points the WebView (`WebViewLoader`).
/// - Events arrive on the agent's working thread and go out with `notifyListeners` from the main queue.
@objc(CapacitorUpdaterPlugin)
public class CapacitorUpdaterPlugin: CAPPlugin, CAPBridgedPlugin {
    public let identifier = "CapacitorUpdaterPlugin"
    public let jsName = "CapacitorUpdater"
    public let pluginMethods: [CAPPluginMethod] = [
        // The parity table (PluginMethods.supported).
        CAPPluginMethod(name: "notifyAppReady", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "download", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "next", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "set", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "reload", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "reset", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "current", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "list", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "delete", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getNextBundle", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getFailedUpdate", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setMultiDelay", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "cancelDelay", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getLatest", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setChannel", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "unsetChannel", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getChannel", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "listChannels", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setCustomId", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getDeviceId", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getBuiltinVersion", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getPluginVersion", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "isAutoUpdateEnabled", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "triggerUpdateCheck", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setAttributes", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getAttributes", returnType: CAPPluginReturnPromise),
        // Capgo methods outside the table (PluginMethods.unimplemented): they reject with UNIMPLEMENTED.
        CAPPluginMethod(name: "setBundleError", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getMissingBundleFiles", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getBundleDownloadSize", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "isAutoUpdateAvailable", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setUpdateUrl", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setStatsUrl", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setChannelUrl", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getAppId", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setAppId", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "startPreviewSession", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "listPreviews", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setPreview", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "resetPreview", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "deletePreview", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "checkPreviewUpdate", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "updatePreview", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setShakeMenu", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "isShakeMenuEnabled", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setShakeChannelSelector", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "isShakeChannelSelectorEnabled", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getAppUpdateInfo", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "openAppStore", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "performImmediateUpdate", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "startFlexibleUpdate", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "completeFlexibleUpdate", returnType: CAPPluginReturnPromise),
    ]

    private let host = AgentHost.shared
    private let watch = ReadyWatch(timeoutMs: 10_000)
    private let clock = BackgroundClock()
    private let startedSignal = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var started: AgentHost.Started?  // guarded by lock
    private var cancels: [ObjectIdentifier: CancelToken] = [:]  // guarded by lock
    private var checkQueued = false  // guarded by lock
    private var web: WebViewLoader!
    private var observers: [NSObjectProtocol] = []
    // Main queue only.
    private var armedTimer: DispatchWorkItem?
    private var periodicTick: DispatchWorkItem?

    /// Main queue, before Capacitor's first page load: wires the WebView, then starts the agent on its queue.
    override public func load() {
        web = WebViewLoader(bridge: bridge) { [weak self] token in
            guard let self else { return }
            self.timer(self.watch.loadStarted(token))
        }
        web.install()
        host.events.attach { [weak self] event in self?.onAgentEvent(event) }
        let pluginConfigJson = JSONValue.from(foundation: getConfig().getConfigJSON()).encoded
        // Capacitor's `server.url` (live reload) makes its server URL differ from the local one.
        let serverUrl: String? = {
            guard let config = bridge?.config, config.serverURL != config.localURL else { return nil }
            return config.serverURL.absoluteString
        }()
        let center = NotificationCenter.default
        observers.append(center.addObserver(
            forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: .main
        ) { [weak self] _ in self?.wentToBackground() })
        observers.append(center.addObserver(
            forName: UIApplication.willEnterForegroundNotification, object: nil, queue: .main
        ) { [weak self] _ in self?.cameToForeground() })
        host.state.async { [weak self] in self?.startUp(pluginConfigJson: pluginConfigJson, serverUrl: serverUrl) }
    }

    deinit {
        observers.forEach(NotificationCenter.default.removeObserver)
        lock.lock()
        cancels.values.forEach { $0.cancel() }
        lock.unlock()
    }

    /// State queue: open the agent and decide the cold-start load, then run the cold-start check on the network.
    /// Whatever happens, calls stop waiting and a page loads (builtin when there is no launch).
    private func startUp(pluginConfigJson: String, serverUrl: String?) {
        let h = host.start(pluginConfigJson: pluginConfigJson, serverUrl: serverUrl)
        lock.lock()
        started = h
        lock.unlock()
        AgentHost.ensureHoldingPage()
        var launch: Launch?
        if let agent = h.agent {
            watch.timeoutMs = agent.appReadyTimeoutMs()
            do {
                launch = try agent.launch()
            } catch {
                NSLog("[Airlock] launch failed (%@): %@; serving the builtin bundle", Shapes.failure(error).code, "\(error)")
            }
        }
        startedSignal.signal()
        guard let agent = h.agent, let launch else {
            web.builtinWithoutAgent()
            return
        }
        web.initial(launch)
        host.network.async { [weak self] in self?.autoCheck(agent, .coldStart) }
        DispatchQueue.main.async { [weak self] in self?.startPeriodic() }
    }

    // MARK: - JS methods: the parity table (PluginMethods.supported)

    @objc func notifyAppReady(_ call: CAPPluginCall) {
        onState(call) { agent in
            let (token, fallback) = self.watch.token(for: self.args(call).token())
            guard let token else {
                self.resolve(call, Shapes.wrapped(try agent.current().bundle))
                return
            }
            if fallback { NSLog("[Airlock] notifyAppReady() sent no ready token; crediting the latest load") }
            let result = try agent.notifyAppReady(token: token)
            switch result {
            case .blessed: self.timer(self.watch.ready(token))
            case .ignored(_, let reason): NSLog("[Airlock] notifyAppReady() ignored: %@", reason)
            }
            self.resolve(call, Shapes.ready(result))
        }
    }

    @objc func download(_ call: CAPPluginCall) {
        onNetwork(call) { agent, cancel in
            let request = Shapes.downloadRequest(try self.args(call).download(signedOnly: self.signedOnly()))
            self.resolve(call, Shapes.bundle(try agent.download(request: request, cancel: cancel)))
        }
    }

    @objc func next(_ call: CAPPluginCall) {
        onState(call) { agent in self.resolve(call, Shapes.bundle(try agent.setNext(id: try self.args(call).id()))) }
    }

    @objc func set(_ call: CAPPluginCall) {
        onState(call) { agent in
            let launch = try agent.setCurrent(id: try self.args(call).id())
            call.resolve()
            self.web.load(launch)
        }
    }

    @objc func reload(_ call: CAPPluginCall) {
        onState(call) { agent in
            let launch = try agent.reload()
            call.resolve()
            self.web.load(launch)
            self.emit(Emit.appReloaded())
        }
    }

    @objc func reset(_ call: CAPPluginCall) {
        onState(call) { agent in
            let a = try self.args(call).reset()
            let launch: Launch
            if a.usePendingBundle, try agent.nextBundle() != nil {
                launch = try agent.reload()
            } else {
                launch = try agent.reset(toLastGood: a.toLastSuccessful)
            }
            call.resolve()
            self.web.load(launch)
        }
    }

    @objc func current(_ call: CAPPluginCall) {
        onState(call) { agent in self.resolve(call, Shapes.current(try agent.current())) }
    }

    @objc func list(_ call: CAPPluginCall) {
        onState(call) { agent in self.resolve(call, Shapes.list(try agent.list())) }
    }

    @objc func delete(_ call: CAPPluginCall) {
        onState(call) { agent in
            try agent.delete(id: try self.args(call).id())
            call.resolve()
        }
    }

    @objc func getNextBundle(_ call: CAPPluginCall) {
        onState(call) { agent in
            if let next = try agent.nextBundle() { self.resolve(call, Shapes.bundle(next)) } else { call.resolve() }
        }
    }

    @objc func getFailedUpdate(_ call: CAPPluginCall) {
        onState(call) { agent in
            if let failed = try agent.takeFailedUpdate() { self.resolve(call, Shapes.wrapped(failed)) } else { call.resolve() }
        }
    }

    @objc func setMultiDelay(_ call: CAPPluginCall) {
        onState(call) { agent in
            try agent.setDelayConditions(conditions: Shapes.delayConditions(try self.args(call).delayConditions()))
            call.resolve()
        }
    }

    @objc func cancelDelay(_ call: CAPPluginCall) {
        onState(call) { agent in
            try agent.cancelDelay()
            call.resolve()
        }
    }

    @objc func getLatest(_ call: CAPPluginCall) {
        onNetwork(call) { agent, cancel in
            let latest = try agent.latest(channel: try self.args(call).latestChannel(), cancel: cancel)
            if latest.kind == "failed" {
                self.reject(call, Failure(.network, latest.error ?? latest.message ?? "the update check failed"))
            } else {
                self.resolve(call, Shapes.latest(latest))
            }
        }
    }

    @objc func setChannel(_ call: CAPPluginCall) {
        onNetwork(call) { agent, cancel in
            let a = try self.args(call).channel(required: true)
            self.resolve(call, Shapes.channel(try agent.setChannel(channel: a.channel ?? "", cancel: cancel)))
            if a.triggerAutoUpdate { self.autoCheck(agent, .manual) }
        }
    }

    @objc func unsetChannel(_ call: CAPPluginCall) {
        onState(call) { agent in
            let a = try self.args(call).channel(required: false)
            try agent.unsetChannel()
            call.resolve()
            if a.triggerAutoUpdate { _ = self.queueCheck(agent) }
        }
    }

    @objc func getChannel(_ call: CAPPluginCall) {
        onState(call) { agent in self.resolve(call, Shapes.channel(try agent.getChannel())) }
    }

    @objc func listChannels(_ call: CAPPluginCall) {
        onNetwork(call) { agent, cancel in self.resolve(call, Shapes.channels(try agent.listChannels(cancel: cancel))) }
    }

    @objc func setCustomId(_ call: CAPPluginCall) {
        onState(call) { agent in
            try agent.setCustomId(customId: try self.args(call).customId())
            call.resolve()
        }
    }

    @objc func getDeviceId(_ call: CAPPluginCall) {
        onState(call) { agent in self.resolve(call, .object(["deviceId": .string(try agent.deviceId())])) }
    }

    @objc func getBuiltinVersion(_ call: CAPPluginCall) {
        onState(call) { agent in self.resolve(call, .object(["version": .string(agent.builtinVersion())])) }
    }

    @objc func getPluginVersion(_ call: CAPPluginCall) {
        onState(call) { agent in self.resolve(call, .object(["version": .string(agent.pluginVersion())])) }
    }

    @objc func isAutoUpdateEnabled(_ call: CAPPluginCall) {
        onState(call) { agent in self.resolve(call, .object(["enabled": .bool(agent.autoUpdateEnabled())])) }
    }

    /// Answers at once, as Capgo does; the check itself runs on the network queue.
    @objc func triggerUpdateCheck(_ call: CAPPluginCall) {
        onState(call) { agent in
            let status: String
            if !agent.autoUpdateEnabled() {
                status = "unavailable"
            } else {
                status = self.queueCheck(agent) ? "queued" : "already_running"
            }
            self.resolve(call, .object(["status": .string(status), "queued": .bool(status == "queued")]))
        }
    }

    @objc func setAttributes(_ call: CAPPluginCall) {
        onState(call) { agent in
            try agent.setAttributes(attributes: try self.args(call).attributes())
            call.resolve()
        }
    }

    @objc func getAttributes(_ call: CAPPluginCall) {
        onState(call) { agent in
            self.resolve(call, .object(["attributes": .object(try agent.attributes().mapValues { .string($0) })]))
        }
    }

    // MARK: - Capgo methods outside the parity table (PluginMethods.unimplemented)

    @objc func setBundleError(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func getMissingBundleFiles(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func getBundleDownloadSize(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func isAutoUpdateAvailable(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func setUpdateUrl(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func setStatsUrl(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func setChannelUrl(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func getAppId(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func setAppId(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func startPreviewSession(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func listPreviews(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func setPreview(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func resetPreview(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func deletePreview(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func checkPreviewUpdate(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func updatePreview(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func setShakeMenu(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func isShakeMenuEnabled(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func setShakeChannelSelector(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func isShakeChannelSelectorEnabled(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func getAppUpdateInfo(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func openAppStore(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func performImmediateUpdate(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func startFlexibleUpdate(_ call: CAPPluginCall) { rejectUnimplemented(call) }
    @objc func completeFlexibleUpdate(_ call: CAPPluginCall) { rejectUnimplemented(call) }

    // MARK: - Lifecycle (main queue)

    /// The app left the foreground: pause the ready timer and let the agent apply a queued bundle (state).
    private func wentToBackground() {
        clock.wentToBackground(nowMs: Self.monotonicMs())
        timer(watch.background())
        stopPeriodic()
        guard let agent = currentAgent() else { return }
        host.state.async { [weak self] in
            self?.guarded("onBackground") { if let launch = try agent.onBackground() { self?.web.load(launch) } }
        }
    }

    /// Back in the foreground (never the cold start: iOS posts no willEnterForeground at launch).
    private func cameToForeground() {
        guard let away = clock.cameToForeground(nowMs: Self.monotonicMs()) else { return }
        timer(watch.foregrounded())
        startPeriodic()
        guard let agent = currentAgent() else { return }
        host.network.async { [weak self] in
            self?.withCancel { cancel in
                self?.guarded("onForeground") { self?.handle(try agent.onForeground(backgroundMs: away, cancel: cancel)) }
            }
        }
    }

    // MARK: - Plumbing

    /// Runs `body` on the state queue once the agent is up (Capacitor's bridge queue only hops).
    private func onState(_ call: CAPPluginCall, _ body: @escaping (Agent) throws -> Void) {
        dispatch(host.state, call, body)
    }

    /// Runs `body` on the network queue with a cancel token, once the agent is up.
    private func onNetwork(_ call: CAPPluginCall, _ body: @escaping (Agent, CancelToken) throws -> Void) {
        dispatch(host.network, call) { agent in try self.withCancel { try body(agent, $0) } }
    }

    private func dispatch(_ queue: DispatchQueue, _ call: CAPPluginCall, _ body: @escaping (Agent) throws -> Void) {
        queue.async {
            self.startedSignal.wait()
            self.startedSignal.signal()
            guard let agent = self.currentAgent() else {
                self.lock.lock()
                let failure = self.started?.failure
                self.lock.unlock()
                self.reject(call, failure ?? Failure(.notStarted, "the agent is not running"))
                return
            }
            do {
                try body(agent)
            } catch {
                self.reject(call, Shapes.failure(error))
            }
        }
    }

    private func currentAgent() -> Agent? {
        lock.lock()
        defer { lock.unlock() }
        return started?.agent
    }

    private func signedOnly() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return started?.config?.signedOnly ?? false
    }

    private func rejectUnimplemented(_ call: CAPPluginCall) {
        call.unimplemented(PluginMethods.unimplementedMessage(call.methodName))
    }

    private func args(_ call: CAPPluginCall) -> CallArgs { CallArgs(foundation: call.options) }

    private func resolve(_ call: CAPPluginCall, _ value: JSONValue) {
        call.resolve(value.foundation as? [String: Any] ?? [:])
    }

    private func reject(_ call: CAPPluginCall, _ f: Failure) {
        call.reject(f.message, f.code, nil, f.data.foundation as? [String: Any])
    }

    private func withCancel<T>(_ body: (CancelToken) throws -> T) rethrows -> T {
        let cancel = CancelToken()
        lock.lock()
        cancels[ObjectIdentifier(cancel)] = cancel
        lock.unlock()
        defer {
            lock.lock()
            cancels[ObjectIdentifier(cancel)] = nil
            lock.unlock()
        }
        return try body(cancel)
    }

    private func guarded(_ what: String, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            let f = Shapes.failure(error)
            NSLog("[Airlock] %@ failed (%@): %@", what, f.code, f.message)
        }
    }

    /// Network queue: the automatic pipeline for `trigger`.
    private func autoCheck(_ agent: Agent, _ trigger: Trigger) {
        withCancel { cancel in guarded("update check") { handle(try agent.checkAndUpdate(trigger: trigger, cancel: cancel)) } }
    }

    /// Queues one manual check on the network queue; false when one is already queued or running.
    private func queueCheck(_ agent: Agent) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if checkQueued { return false }
        checkQueued = true
        host.network.async { [weak self] in
            self?.autoCheck(agent, .manual)
            self?.lock.lock()
            self?.checkQueued = false
            self?.lock.unlock()
        }
        return true
    }

    private func handle(_ outcome: AutoOutcome) {
        if case .reload(let launch) = outcome { web.load(launch) }
    }

    /// Carries out a ready-timer decision: scheduling on the main queue, the agent call on the state queue.
    private func timer(_ action: TimerAction) {
        switch action {
        case .arm(let token, let delayMs):
            DispatchQueue.main.async {
                self.armedTimer?.cancel()
                let item = DispatchWorkItem { [weak self] in
                    guard let self else { return }
                    self.timer(self.watch.fired(token))
                }
                self.armedTimer = item
                DispatchQueue.main.asyncAfter(deadline: .now() + .milliseconds(Int(delayMs)), execute: item)
            }
        case .cancel:
            DispatchQueue.main.async { self.armedTimer?.cancel() }
        case .callReadyTimeout(let token):
            guard let agent = currentAgent() else { return }
            host.state.async { [weak self] in
                self?.guarded("readyTimeout") { if let launch = try agent.readyTimeout(token: token) { self?.web.load(launch) } }
            }
        case .none:
            break
        }
    }

    private func startPeriodic() {
        lock.lock()
        let periodic = started?.config?.periodicChecks ?? false
        let agent = started?.agent
        lock.unlock()
        guard periodic, let agent, periodicTick == nil else { return }
        schedulePeriodic(agent)
    }

    private func schedulePeriodic(_ agent: Agent) {
        let item = DispatchWorkItem { [weak self] in
            guard let self, self.periodicTick != nil else { return }
            self.host.network.async { [weak self] in self?.autoCheck(agent, .periodic) }
            self.schedulePeriodic(agent)
        }
        periodicTick = item
        DispatchQueue.main.asyncAfter(deadline: .now() + ShellConfig.periodicTickSeconds, execute: item)
    }

    private func stopPeriodic() {
        periodicTick?.cancel()
        periodicTick = nil
    }

    /// Agent thread: each JS event goes out from the main queue.
    private func onAgentEvent(_ event: AgentEvent) { Shapes.events(event).forEach(emit) }

    private func emit(_ e: Emit) {
        DispatchQueue.main.async { [weak self] in
            self?.notifyListeners(e.name, data: e.data.foundation as? [String: Any] ?? [:], retainUntilConsumed: e.retain)
        }
    }

    /// Milliseconds on a clock that keeps counting while the device sleeps.
    private static func monotonicMs() -> UInt64 { clock_gettime_nsec_np(CLOCK_MONOTONIC) / 1_000_000 }
}
