// Plain Swift over the uniffi-generated types (same module), no Capacitor or UIKit imports.
// It needs the generated bindings, so tests/shells compiles it only when target/bindings exists.

/// JSON shapes of the agent's results and events, with Capgo's names (DESIGN §8): what the shell resolves JS
/// calls with and what it emits to listeners. Optional fields are left out when absent, as Capgo does.
enum Shapes {
    /// The bundle id of the app's own bundle.
    static let builtinId = "builtin"

    static func status(_ s: BundleStatus) -> String {
        switch s {
        case .downloading: return "downloading"
        case .pending: return "pending"
        case .success: return "success"
        case .error: return "error"
        case .deleted: return "deleted"
        }
    }

    /// Capgo's `BundleInfo`: `{id, version, downloaded, checksum, status, link?, comment?}`.
    static func bundle(_ b: BundleInfo) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(b.id),
            "version": .string(b.version),
            "downloaded": .string(b.downloaded),
            "checksum": .string(b.checksum),
            "status": .string(status(b.status)),
        ]
        if let link = b.link { o["link"] = .string(link) }
        if let comment = b.comment { o["comment"] = .string(comment) }
        return .object(o)
    }

    /// `{bundle}`: `notifyAppReady()` and `getFailedUpdate()`.
    static func wrapped(_ b: BundleInfo) -> JSONValue { .object(["bundle": bundle(b)]) }

    /// `notifyAppReady()`: the blessed bundle, or the current one when the token was stale (never rejects).
    static func ready(_ r: ReadyResult) -> JSONValue {
        switch r {
        case .blessed(let b): return wrapped(b)
        case .ignored(let current, _): return wrapped(current)
        }
    }

    /// `current()`: `{bundle, native}`.
    static func current(_ c: CurrentBundle) -> JSONValue {
        .object(["bundle": bundle(c.bundle), "native": .string(c.native)])
    }

    /// `list()`: `{bundles}`.
    static func list(_ bundles: [BundleInfo]) -> JSONValue { .object(["bundles": .array(bundles.map(bundle))]) }

    /// Capgo's `LatestVersion`; `major` repeats `breaking` (Capgo's deprecated name).
    static func latest(_ l: LatestVersion) -> JSONValue {
        var o: [String: JSONValue] = ["version": .string(l.version)]
        if let v = l.checksum { o["checksum"] = .string(v) }
        if let v = l.url { o["url"] = .string(v) }
        if let v = l.kind { o["kind"] = .string(v) }
        if let v = l.message { o["message"] = .string(v) }
        if let v = l.error { o["error"] = .string(v) }
        if let v = l.breaking {
            o["breaking"] = .bool(v)
            o["major"] = .bool(v)
        }
        if let v = l.link { o["link"] = .string(v) }
        if let v = l.comment { o["comment"] = .string(v) }
        return .object(o)
    }

    /// `getChannel()` / `setChannel()`: `{channel, status, allowSet}`.
    static func channel(_ c: ChannelInfo) -> JSONValue {
        .object(["channel": .string(c.channel), "status": .string(c.status), "allowSet": .bool(c.allowSet)])
    }

    /// `listChannels()`: `{channels: [{id, name, public, allow_self_set}]}` (Capgo's snake_case field).
    static func channels(_ list: [ChannelEntry]) -> JSONValue {
        .object(["channels": .array(list.map {
            .object([
                "id": .string($0.id), "name": .string($0.name), "public": .bool($0.public),
                "allow_self_set": .bool($0.allowSelfSet),
            ])
        })])
    }

    /// The JS events for one agent event (`breakingAvailable` also goes out as Capgo's `majorAvailable`).
    static func events(_ e: AgentEvent) -> [Emit] {
        switch e {
        case .download(let percent, let b):
            return [Emit("download", .object(["percent": .int(Int64(percent)), "bundle": bundle(b)]))]
        case .downloadComplete(let b): return [Emit("downloadComplete", wrapped(b))]
        case .downloadFailed(let version, let reason):
            return [Emit("downloadFailed", .object(["version": .string(version), "reason": .string(reason)]))]
        case .updateAvailable(let b): return [Emit("updateAvailable", wrapped(b))]
        case .set(let b): return [Emit("set", wrapped(b))]
        case .setNext(let b): return [Emit("setNext", wrapped(b))]
        case .updateFailed(let b): return [Emit("updateFailed", wrapped(b))]
        case .appReady(let b, let status):
            return [Emit("appReady", .object(["bundle": bundle(b), "status": .string(status)]))]
        case .noNeedUpdate(let b): return [Emit("noNeedUpdate", wrapped(b))]
        case .updateCheckResult(let kind, let message, let version, let b):
            var o: [String: JSONValue] = ["kind": .string(kind), "bundle": bundle(b)]
            if let message { o["message"] = .string(message) }
            if let version { o["version"] = .string(version) }
            return [Emit("updateCheckResult", .object(o))]
        case .breakingAvailable(let version):
            let data = JSONValue.object(["version": .string(version)])
            return [Emit("breakingAvailable", data), Emit("majorAvailable", data)]
        case .channelPrivate(let channel, let message):
            return [Emit("channelPrivate", .object(["channel": .string(channel), "message": .string(message)]))]
        }
    }

    /// The agent's `DeviceFacts` from what the shell read.
    static func device(_ f: PlatformFacts) -> DeviceFacts {
        DeviceFacts(
            platform: f.platform, appId: f.appId, nativeVersion: f.nativeVersion, nativeBuild: f.nativeBuild,
            osVersion: f.osVersion, builtinDir: f.builtinDir, dataDir: f.dataDir, isEmulator: f.isEmulator,
            isProd: f.isProd, utcOffsetMinutes: f.utcOffsetMinutes)
    }

    static func downloadRequest(_ a: DownloadArgs) -> DownloadRequest {
        DownloadRequest(
            url: a.url, version: a.version, checksum: a.checksum, sessionKey: a.sessionKey, manifestUrl: a.manifestUrl)
    }

    static func delayConditions(_ list: [DelayArgs]) -> [DelayCondition] {
        list.map {
            let kind: DelayKind
            switch $0.kind {
            case "background": kind = .background
            case "kill": kind = .kill
            case "date": kind = .date
            default: kind = .nativeVersion
            }
            return DelayCondition(kind: kind, value: $0.value)
        }
    }

    /// How a failed agent call rejects its JS call.
    static func failure(_ e: any Error) -> Failure {
        switch e {
        case UpdateError.Network(let reason): return Failure(.network, reason)
        case UpdateError.DiskFull(let reason): return Failure(.diskFull, reason)
        case UpdateError.Storage(let reason): return Failure(.storage, reason)
        case UpdateError.Rejected(let code, let reason): return Failure(.rejected, reason, rejectionCode: code)
        case UpdateError.InvalidRequest(let reason): return Failure(.invalidRequest, reason)
        case UpdateError.Config(let reason): return Failure(.config, reason)
        case UpdateError.Cancelled: return Failure(.cancelled, "cancelled")
        case let e as CallArgsError: return Failure(.invalidRequest, e.description)
        case let e as ShellConfigError: return Failure(.config, e.description)
        default: return Failure.unexpected(e)
        }
    }
}
