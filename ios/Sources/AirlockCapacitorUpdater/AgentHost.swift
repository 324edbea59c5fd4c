import Foundation

/// The agent of this app process (DESIGN §1: one per process) and the two serial queues every agent call runs
/// on. Shared by every bridge the process creates.
///
/// Queues: nothing here runs on the main queue or on Capacitor's shared "bridge" queue.
/// - `state` ("app.airlock.state"): short calls that touch only local disk (launch, ready, set, list, delay, …),
///   in call order. It never waits behind the network, so `notifyAppReady()` is never delayed by a download.
/// - `network` ("app.airlock.network"): calls that may use the network (download, checks, channels), one at a
///   time, each with a `CancelToken`.
final class AgentHost: @unchecked Sendable {
    static let shared = AgentHost()

    let state = DispatchQueue(label: "app.airlock.state", qos: .userInitiated)
    let network = DispatchQueue(label: "app.airlock.network", qos: .utility)

    /// Forwards agent events (delivered on the agent's working thread) to the current plugin instance.
    let events = ForwardingListener()

    /// The outcome of starting the agent: an agent and its config, or why there is none.
    struct Started {
        let agent: Agent?
        let config: ShellConfig?
        let failure: Failure?
    }

    private let lock = NSLock()
    private var started: Started?

    /// Creates the agent once per process. Runs on `state`: opening the agent touches disk (database, crash
    /// sweep). A failure is kept: the app then runs its builtin bundle and every call rejects with the reason.
    func start(pluginConfigJson: String?, serverUrl: String?) -> Started {
        lock.lock()
        defer { lock.unlock() }
        if let started { return started }
        let result: Started
        do {
            let config = try ShellConfig(pluginConfigJson: pluginConfigJson, serverUrl: serverUrl,
                                         device: try AgentHost.collectFacts())
            config.warnings.forEach { NSLog("[Airlock] %@", $0) }
            let agent = try Agent(pluginConfigJson: config.agentConfigJson, device: Shapes.device(config.device),
                                  listener: events)
            result = Started(agent: agent, config: config, failure: nil)
        } catch {
            result = Started(agent: nil, config: nil, failure: Shapes.failure(error))
        }
        if let f = result.failure {
            NSLog("[Airlock] did not start (%@): %@; serving the builtin bundle", f.code, f.message)
        }
        started = result
        return result
    }

    /// `Library/Application Support`: private, and the agent's `airlock/` folder in it is excluded from backup.
    static func dataDir() throws -> URL {
        try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil,
                                    create: true)
    }

    /// A blank page the WebView shows until the cold-start launch is known (see `WebViewLoader`). Computing the
    /// path creates nothing (it is read on the main queue).
    static func holdingDir() -> URL? {
        FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask).first?
            .appendingPathComponent("airlock-shell/holding", isDirectory: true)
    }

    /// Writes the holding page once (state queue).
    static func ensureHoldingPage() {
        guard let dir = holdingDir() else { return }
        let page = dir.appendingPathComponent("index.html")
        guard !FileManager.default.fileExists(atPath: page.path) else { return }
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? Data("<!doctype html><meta charset=\"utf-8\"><title></title>\n".utf8).write(to: page, options: .atomic)
    }

    /// Facts about the app and device (DESIGN §9 `device`).
    private static func collectFacts() throws -> PlatformFacts {
        let info = Bundle.main.infoDictionary ?? [:]
        guard let builtin = Bundle.main.url(forResource: "public", withExtension: nil) else {
            throw ShellConfigError(description:
                "the app has no public/ folder (the builtin bundle); run `npx cap sync ios`")
        }
        let data = try dataDir()
        var airlock = data.appendingPathComponent("airlock", isDirectory: true)
        try FileManager.default.createDirectory(at: airlock, withIntermediateDirectories: true)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try airlock.setResourceValues(values)
        let os = ProcessInfo.processInfo.operatingSystemVersion
        #if targetEnvironment(simulator)
        let simulator = true
        #else
        let simulator = false
        #endif
        #if DEBUG
        let debug = true
        #else
        let debug = false
        #endif
        return PlatformFacts(
            platform: "ios",
            appId: Bundle.main.bundleIdentifier ?? "",
            nativeVersion: info["CFBundleShortVersionString"] as? String ?? "0",
            nativeBuild: info["CFBundleVersion"] as? String ?? "",
            osVersion: "\(os.majorVersion).\(os.minorVersion).\(os.patchVersion)",
            builtinDir: builtin.path,
            dataDir: data.path,
            isEmulator: simulator,
            isProd: !debug,
            utcOffsetMinutes: Int32(TimeZone.current.secondsFromGMT() / 60))
    }
}

/// The agent's event sink: hands each event to whichever plugin instance is attached.
final class ForwardingListener: EventListener, @unchecked Sendable {
    private let lock = NSLock()
    private var target: ((AgentEvent) -> Void)?

    func attach(_ target: @escaping (AgentEvent) -> Void) {
        lock.lock()
        self.target = target
        lock.unlock()
    }

    func onEvent(event: AgentEvent) {
        lock.lock()
        let t = target
        lock.unlock()
        t?(event)
    }
}
