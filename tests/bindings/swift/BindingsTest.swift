// The generated Swift bindings drive the real agent library against a real loopback `airlock serve`.
// Compiled into the same module as the generated airlock.swift (Swift 6 language mode, strict concurrency,
// warnings as errors) by scripts/bindings-test. Environment: AIRLOCK_CLI, the `airlock` binary.
// Prints `N passed, N failed` last and exits 1 on any failure.

import Foundation

let appId = "com.example.bindings"
let version = "1.0.1"
let indexHtml = "<html><body>airlock binding test 1.0.1</body></html>\n"

struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: UInt = #line) throws {
    if !condition { throw TestFailure(description: "line \(line): \(message())") }
}

func expectEqual<T: Equatable>(_ actual: T, _ expected: T, line: UInt = #line) throws {
    try expect(actual == expected, "expected \(expected), got \(actual)", line: line)
}

/// Runs `body`, which must throw `UpdateError`; returns the error.
func expectUpdateError(line: UInt = #line, _ body: () throws -> Void) throws -> UpdateError {
    do {
        try body()
    } catch let error as UpdateError {
        return error
    }
    throw TestFailure(description: "line \(line): expected an UpdateError, the call succeeded")
}

func cliPath() throws -> String {
    guard let cli = ProcessInfo.processInfo.environment["AIRLOCK_CLI"] else {
        throw TestFailure(description: "AIRLOCK_CLI is not set")
    }
    return cli
}

func cli(_ args: [String]) throws -> [String: Any] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try cliPath())
    process.arguments = ["--json"] + args
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    else {
        throw TestFailure(description: "airlock \(args) failed: \(String(decoding: data, as: UTF8.self))")
    }
    return json
}

func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

func tempDir(_ prefix: String) throws -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent(prefix + UUID().uuidString)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A publisher repo with one signed release on `production`, served by `airlock serve` on 127.0.0.1.
final class Publisher {
    let work: String
    let trustedKey: String
    let url: String
    let manifestUrl: String
    let zipUrl: String
    let sha256: String
    private let server: Process

    init() throws {
        work = try tempDir("airlock-swift-publisher-")
        try write(indexHtml, to: work + "/dist/index.html")
        try write(String(repeating: "console.log('airlock');\n", count: 2000), to: work + "/dist/js/app.js")
        let keys = try cli(["keys", "new", "--out", work + "/keys"])
        guard let config = keys["capacitor_config"] as? [String: Any], let trusted = config["trustedKeys"] as? [String],
            let key = trusted.first, let signing = keys["signing_key"] as? String
        else { throw TestFailure(description: "unexpected keys output \(keys)") }
        trustedKey = key
        let common = ["--repo", work + "/repo", "--app-id", appId, "--key", signing]
        let release = try cli(["release", work + "/dist", "--version", version] + common)
        guard let number = release["release"] as? Int, let bundle = release["bundle"] as? [String: Any],
            let path = bundle["path"] as? String, let sha = bundle["sha256"] as? String
        else { throw TestFailure(description: "unexpected release output \(release)") }
        _ = try cli(["channel", "set", "production", "--release", String(number)] + common)
        server = Process()
        server.executableURL = URL(fileURLWithPath: try cliPath())
        server.arguments = ["--json", "serve", "--repo", work + "/repo", "--addr", "127.0.0.1:0"]
        let out = Pipe()
        server.standardOutput = out
        try server.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw TestFailure(description: "airlock serve exited before printing its URL") }
            line.append(chunk)
        }
        guard let served = try JSONSerialization.jsonObject(with: line) as? [String: Any],
            let url = served["url"] as? String
        else { throw TestFailure(description: "unexpected serve output") }
        self.url = url
        manifestUrl = "\(url)/\(appId)/releases/\(number).json"
        zipUrl = "\(url)/\(appId)/bundles/\((path as NSString).lastPathComponent)"
        sha256 = sha
    }

    var signedConfig: String {
        #"{"trustedKeys": ["\#(trustedKey)"], "catalogUrl": "\#(url)", "statsUrl": ""}"#
    }

    func close() {
        server.terminate()
        server.waitUntilExit()
        try? FileManager.default.removeItem(atPath: work)
    }
}

/// Records every event with the thread it arrived on. The agent calls it from its working thread.
final class Recorder: EventListener, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [(thread: pthread_t, event: AgentEvent)] = []

    func onEvent(event: AgentEvent) {
        lock.lock()
        recorded.append((pthread_self(), event))
        lock.unlock()
    }

    var events: [(thread: pthread_t, event: AgentEvent)] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }
}

/// A fresh app install: its builtin bundle and data directory in a temp folder.
final class Device {
    let root: String
    let builtin: String
    let data: String
    let facts: DeviceFacts
    var events: Recorder? = Recorder()
    var agent: Agent?

    init(_ plugin: String) throws {
        root = try tempDir("airlock-swift-device-")
        builtin = root + "/builtin"
        data = root + "/data"
        try write("<html>builtin</html>\n", to: builtin + "/index.html")
        facts = DeviceFacts(
            platform: "linux", appId: appId, nativeVersion: "1.0.0", nativeBuild: "1", osVersion: "test",
            builtinDir: builtin, dataDir: data, isEmulator: true, isProd: false, utcOffsetMinutes: 0)
        agent = try Agent(pluginConfigJson: plugin, device: facts, listener: events!)
    }

    /// The agent (tests that release it do so last).
    var a: Agent {
        get throws {
            guard let agent else { throw TestFailure(description: "the agent was released") }
            return agent
        }
    }

    func close() {
        agent = nil
        try? FileManager.default.removeItem(atPath: root)
    }
}

func openFiles() -> [String] {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }
}

func downloadSigned(_ d: Device, _ p: Publisher) throws -> BundleInfo {
    try d.a.download(request: DownloadRequest(manifestUrl: p.manifestUrl), cancel: CancelToken())
}

/// Holds what a worker thread produced.
final class Box<T>: @unchecked Sendable {
    var value: T?
}

typealias Test = (name: String, body: (Device, Publisher) throws -> Void)

@MainActor let tests: [Test] = [
    ("a signed bundle downloads, applies and is blessed by notifyAppReady", { d, p in
        let agent = try d.a
        let bundle = try downloadSigned(d, p)
        try expectEqual(bundle.version, version)
        try expectEqual(bundle.checksum, p.sha256)
        try expectEqual(bundle.status, .pending)
        try expectEqual(try agent.setNext(id: bundle.id).id, bundle.id)
        let launch = try agent.launch()
        try expectEqual(launch.bundle.id, bundle.id)
        try expectEqual(try String(contentsOfFile: launch.path + "/index.html", encoding: .utf8), indexHtml)
        try expect(FileManager.default.fileExists(atPath: launch.path + "/js/app.js"), "js/app.js unpacked")
        guard case .blessed(let blessed) = try agent.notifyAppReady(token: launch.token) else {
            throw TestFailure(description: "notifyAppReady did not bless the bundle")
        }
        try expectEqual(blessed.status, .success)
        let current = try agent.current()
        try expectEqual(current.bundle.id, bundle.id)
        try expectEqual(current.bundle.status, .success)
        try expectEqual(current.native, "1.0.0")
        try expectEqual(try agent.list().map(\.id), [bundle.id])
        let events = d.events?.events.map(\.event) ?? []
        try expect(events.contains { if case .downloadComplete = $0 { true } else { false } }, "downloadComplete")
        try expect(events.contains { if case .setNext = $0 { true } else { false } }, "setNext")
    }),
    ("checkAndUpdate fetches the channel release and queues it", { d, _ in
        let agent = try d.a
        guard case .downloaded(let bundle, let apply) = try agent.checkAndUpdate(trigger: .manual, cancel: CancelToken())
        else { throw TestFailure(description: "checkAndUpdate did not download") }
        try expectEqual(bundle.version, version)
        try expectEqual(apply, .nextBackground)
        try expectEqual(try agent.nextBundle()?.id, bundle.id)
        try expect(
            FileManager.default.fileExists(atPath: d.data + "/airlock/bundles/\(bundle.id)/index.html"), "on disk")
    }),
    ("a missed ready rolls back to builtin and reports the failed update", { d, p in
        let agent = try d.a
        let bundle = try downloadSigned(d, p)
        _ = try agent.setNext(id: bundle.id)
        let launch = try agent.launch()
        try expectEqual(launch.bundle.id, bundle.id)
        guard let instead = try agent.readyTimeout(token: launch.token) else {
            throw TestFailure(description: "readyTimeout did not roll back")
        }
        try expectEqual(instead.bundle.id, "builtin")
        try expectEqual(
            URL(fileURLWithPath: instead.path).resolvingSymlinksInPath().path,
            URL(fileURLWithPath: d.builtin).resolvingSymlinksInPath().path)
        try expectEqual(try agent.current().bundle.id, "builtin")
        let failed = try agent.takeFailedUpdate()
        try expectEqual(failed?.id, bundle.id)
        try expectEqual(failed?.version, version)
        try expect(try agent.takeFailedUpdate() == nil, "cleared once read")
        let rolledBack = d.events?.events.compactMap { if case .updateFailed(let b) = $0.event { b.id } else { nil } }
        try expectEqual(rolledBack ?? [], [bundle.id])
    }),
    ("a wrong checksum is rejected with its code and nothing is installed", { _, p in
        let unsigned = try Device(#"{"statsUrl": ""}"#)
        defer { unsigned.close() }
        let request = DownloadRequest(url: p.zipUrl, version: version, checksum: String(repeating: "0", count: 64))
        let error = try expectUpdateError { _ = try unsigned.a.download(request: request, cancel: CancelToken()) }
        guard case .Rejected(let code, _) = error else { throw TestFailure(description: "expected Rejected, got \(error)") }
        try expectEqual(code, "checksum_mismatch")
        try expectEqual(try unsigned.a.list(), [])
        let failed = unsigned.events?.events.compactMap {
            if case .downloadFailed(let v, _) = $0.event { v } else { nil }
        }
        try expectEqual(failed ?? [], [version])
        try expectEqual(try FileManager.default.contentsOfDirectory(atPath: unsigned.data + "/airlock/bundles"), [])
    }),
    ("an unsigned download is rejected when trusted keys are set", { d, p in
        let request = DownloadRequest(url: p.zipUrl, version: version, checksum: p.sha256)
        let error = try expectUpdateError { _ = try d.a.download(request: request, cancel: CancelToken()) }
        guard case .Rejected(let code, _) = error else { throw TestFailure(description: "expected Rejected, got \(error)") }
        try expectEqual(code, "unsigned")
    }),
    ("a bad config fails fast naming the key", { d, _ in
        let error = try expectUpdateError {
            _ = try Agent(pluginConfigJson: #"{"appReadyTimeout": "soon"}"#, device: d.facts, listener: Recorder())
        }
        guard case .Config(let reason) = error else { throw TestFailure(description: "expected Config, got \(error)") }
        try expect(reason.contains("appReadyTimeout"), reason)
        let unknown = try expectUpdateError { _ = try d.a.setNext(id: "no-such-bundle") }
        guard case .InvalidRequest = unknown else { throw TestFailure(description: "expected InvalidRequest") }
    }),
    ("events and progress arrive on the thread doing the work", { d, p in
        let worker = Box<pthread_t>()
        let result = Box<Result<BundleInfo, any Error>>()
        let done = DispatchSemaphore(value: 0)
        let agent = try d.a
        let manifest = p.manifestUrl
        DispatchQueue.global().async {
            worker.value = pthread_self()
            result.value = Result { try agent.download(request: DownloadRequest(manifestUrl: manifest), cancel: CancelToken()) }
            done.signal()
        }
        done.wait()
        try expectEqual(try result.value?.get().version, version)
        let events = d.events?.events ?? []
        let progress = events.compactMap { if case .download(let percent, _) = $0.event { percent } else { nil } }
        try expect(!progress.isEmpty, "download progress events")
        try expectEqual(progress.last, 100)
        try expect(events.allSatisfy { pthread_equal($0.thread, worker.value!) != 0 }, "every event on the worker")
        try expect(pthread_equal(worker.value!, pthread_self()) == 0, "the worker is not the main thread")
    }),
    ("a cancelled token stops the download before it starts", { d, p in
        let token = CancelToken()
        try expect(!token.isCancelled(), "fresh token")
        token.cancel()
        try expect(token.isCancelled(), "cancelled token")
        let error = try expectUpdateError {
            _ = try d.a.download(request: DownloadRequest(manifestUrl: p.manifestUrl), cancel: token)
        }
        try expectEqual(error, .Cancelled)
        try expectEqual(try d.a.list(), [])
        try expectEqual(try d.a.current().bundle.id, "builtin")
    }),
    ("releasing the agent closes its database and releases the listener", { d, p in
        let db = d.data + "/airlock/state.sqlite3"
        try expectEqual(try d.a.current().bundle.id, "builtin")
        try expect(openFiles().contains(db), "the state database is open")
        weak var listener = d.events
        d.events = nil
        d.agent = nil
        try expect(!openFiles().contains(db), "the state database is closed")
        try expect(listener == nil, "the agent released the foreign listener")
        let reopened = try Agent(pluginConfigJson: p.signedConfig, device: d.facts, listener: Recorder())
        try expectEqual(try reopened.current().bundle.id, "builtin")
    }),
    ("the log sink receives the library logs", { d, _ in
        final class Sink: LogSink, @unchecked Sendable {
            private let lock = NSLock()
            private var recorded: [(LogLevel, String)] = []
            func log(level: LogLevel, target: String, message: String) {
                lock.lock()
                recorded.append((level, message))
                lock.unlock()
            }
            var lines: [(LogLevel, String)] {
                lock.lock()
                defer { lock.unlock() }
                return recorded
            }
        }
        let sink = Sink()
        setLogSink(sink: sink, maxLevel: .warn)
        defer { setLogSink(sink: Sink(), maxLevel: .error) }
        _ = try Agent(pluginConfigJson: #"{"noSuchKey": 1}"#, device: d.facts, listener: Recorder())
        try expect(sink.lines.contains { $0.0 == .warn && $0.1.contains("noSuchKey") }, "\(sink.lines)")
        try expectEqual(pluginVersion(), try d.a.pluginVersion())
        try expectEqual(try d.a.appReadyTimeoutMs(), 10_000)
    }),
]

@main
@MainActor
struct Main {
    static func main() {
        var passed = 0
        var failed = 0
        do {
            let publisher = try Publisher()
            defer { publisher.close() }
            for test in tests {
                do {
                    let device = try Device(publisher.signedConfig)
                    defer { device.close() }
                    try test.body(device, publisher)
                    passed += 1
                    print("ok   \(test.name)")
                } catch {
                    failed += 1
                    print("FAIL \(test.name): \(error)")
                }
            }
        } catch {
            failed += 1
            print("FAIL publisher setup: \(error)")
        }
        print("swift bindings: \(passed) passed, \(failed) failed")
        if failed > 0 || passed == 0 { exit(1) }
    }
}
