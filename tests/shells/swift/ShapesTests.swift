// Specification of the JSON shapes the iOS shell resolves calls with and emits (Logic/Shapes.swift), over the
// uniffi-generated records. Compiled (with -D AIRLOCK_BINDINGS) only when target/bindings exists. Building
// records and errors calls no native code.

let v2 = BundleInfo(
    id: "AbCdEf0123", version: "2.0.0", downloaded: "2026-11-28T10:00:00.000Z",
    checksum: String(repeating: "ab", count: 32), status: .pending, link: nil, comment: nil)
let builtin = BundleInfo(
    id: "builtin", version: "1.0.0", downloaded: "1970-01-01T00:00:00.000Z", checksum: "", status: .success,
    link: nil, comment: nil)
let v2Json = #"{"checksum":"abababababababababababababababababababababababababababababababab","#
    + #""downloaded":"2026-11-28T10:00:00.000Z","id":"AbCdEf0123","status":"pending","version":"2.0.0"}"#

func shapesTests(_ s: Suite) {
    s.test("a bundle has Capgo's BundleInfo shape and leaves out an absent link and comment") {
        try expectEqual(Shapes.bundle(v2).encoded, v2Json)
        var linked = v2
        linked.status = .error
        linked.link = "https://x/notes"
        linked.comment = "fix"
        guard case .object(let o) = Shapes.bundle(linked) else { throw Expectation(description: "not an object") }
        try expectEqual(o["status"], .string("error"))
        try expectEqual(o["link"], .string("https://x/notes"))
        try expectEqual(o["comment"], .string("fix"))
        try expectEqual([BundleStatus.downloading, .pending, .success, .error, .deleted].map(Shapes.status),
                        ["downloading", "pending", "success", "error", "deleted"])
    }
    s.test("notifyAppReady resolves {bundle}: the blessed bundle, or the current one for a stale token") {
        try expectEqual(Shapes.ready(.blessed(bundle: v2)).encoded, #"{"bundle":"# + v2Json + "}")
        try expectEqual(Shapes.ready(.ignored(current: builtin, reason: "stale")), Shapes.wrapped(builtin))
    }
    s.test("current, list, channel and channels have Capgo's shapes") {
        try expectEqual(Shapes.current(CurrentBundle(bundle: v2, native: "1.0.0")).encoded,
                        #"{"bundle":"# + v2Json + #","native":"1.0.0"}"#)
        try expectEqual(Shapes.list([v2]).encoded, #"{"bundles":["# + v2Json + "]}")
        try expectEqual(Shapes.channel(ChannelInfo(channel: "beta", status: "self_assigned", allowSet: true)).encoded,
                        #"{"allowSet":true,"channel":"beta","status":"self_assigned"}"#)
        try expectEqual(
            Shapes.channels([ChannelEntry(id: "beta", name: "beta", public: true, allowSelfSet: true)]).encoded,
            #"{"channels":[{"allow_self_set":true,"id":"beta","name":"beta","public":true}]}"#)
    }
    s.test("getLatest leaves out absent fields and repeats breaking as major") {
        let up = LatestVersion(version: "1.0.0", checksum: nil, url: nil, kind: "up_to_date",
                               message: "no rule targets this device", error: nil, breaking: nil, link: nil,
                               comment: nil)
        try expectEqual(Shapes.latest(up).encoded,
                        #"{"kind":"up_to_date","message":"no rule targets this device","version":"1.0.0"}"#)
        let br = LatestVersion(version: "3.0.0", checksum: "cd", url: "https://r/releases/9.json", kind: nil,
                               message: nil, error: nil, breaking: true, link: nil, comment: nil)
        guard case .object(let o) = Shapes.latest(br) else { throw Expectation(description: "not an object") }
        try expectEqual(o["breaking"], .bool(true))
        try expectEqual(o["major"], .bool(true))
        try expectEqual(o["url"], .string("https://r/releases/9.json"))
    }
    s.test("agent events become Capgo's events; set and appReady are retained; breaking also goes out as major") {
        let dl = Shapes.events(.download(percent: 42, bundle: v2))
        try expectEqual(dl, [Emit("download", .object(["percent": .int(42), "bundle": Shapes.bundle(v2)]))])
        try expect(!dl[0].retain)
        try expect(Shapes.events(.set(bundle: v2))[0].retain)
        let ready = Shapes.events(.appReady(bundle: v2, status: "bundle reported ready"))
        try expect(ready[0].retain && ready[0].name == "appReady")
        try expectEqual(Shapes.events(.breakingAvailable(version: "3.0.0")).map(\.name),
                        ["breakingAvailable", "majorAvailable"])
        try expectEqual(Shapes.events(.updateCheckResult(kind: "up_to_date", message: nil, version: nil,
                                                         bundle: builtin))[0].data,
                        .object(["kind": .string("up_to_date"), "bundle": Shapes.bundle(builtin)]))
        try expectEqual(Shapes.events(.downloadFailed(version: "2.0.0", reason: "network down"))[0].data,
                        .object(["version": .string("2.0.0"), "reason": .string("network down")]))
    }
    s.test("every agent event maps to a name the shells declare") {
        let all: [AgentEvent] = [
            .download(percent: 1, bundle: v2), .downloadComplete(bundle: v2),
            .downloadFailed(version: "2", reason: "r"), .updateAvailable(bundle: v2), .set(bundle: v2),
            .setNext(bundle: v2), .updateFailed(bundle: v2), .appReady(bundle: v2, status: "s"),
            .noNeedUpdate(bundle: v2), .updateCheckResult(kind: "k", message: "m", version: "v", bundle: v2),
            .breakingAvailable(version: "3"), .channelPrivate(channel: "c", message: "m"),
        ]
        try expectEqual(Set(all.flatMap(Shapes.events).map(\.name)), Set(Emit.names).subtracting(["appReloaded"]))
    }
    s.test("device facts, download options and delay conditions map field for field") {
        let d = Shapes.device(facts)
        try expectEqual(
            PlatformFacts(platform: d.platform, appId: d.appId, nativeVersion: d.nativeVersion,
                          nativeBuild: d.nativeBuild, osVersion: d.osVersion, builtinDir: d.builtinDir,
                          dataDir: d.dataDir, isEmulator: d.isEmulator, isProd: d.isProd,
                          utcOffsetMinutes: d.utcOffsetMinutes),
            facts)
        let r = Shapes.downloadRequest(DownloadArgs(url: "u", version: "2", checksum: "c", sessionKey: nil,
                                                    manifestUrl: "m"))
        try expect(r.url == "u" && r.version == "2" && r.checksum == "c" && r.sessionKey == nil && r.manifestUrl == "m")
        let kinds = Shapes.delayConditions(["background", "kill", "date", "nativeVersion"].map {
            DelayArgs(kind: $0, value: nil)
        }).map(\.kind)
        try expectEqual(kinds, [.background, .kill, .date, .nativeVersion])
    }
    s.test("each agent error kind rejects with its code; a rejected bundle with the agent's rejection code") {
        try expectEqual(Shapes.failure(UpdateError.Network(reason: "down")).kind, .network)
        try expectEqual(Shapes.failure(UpdateError.DiskFull(reason: "full")).code, "disk_full")
        try expectEqual(Shapes.failure(UpdateError.Storage(reason: "db")).code, "storage_error")
        let rej = Shapes.failure(UpdateError.Rejected(code: "bad_signature", reason: "no trusted signature"))
        try expectEqual(rej.code, "bad_signature")
        try expectEqual(rej.message, "no trusted signature")
        try expectEqual(Shapes.failure(UpdateError.InvalidRequest(reason: "no bundle")).code, "invalid_request")
        try expectEqual(Shapes.failure(UpdateError.Config(reason: "k")).code, "invalid_config")
        try expectEqual(Shapes.failure(UpdateError.Cancelled).code, "cancelled")
        try expectEqual(Shapes.failure(CallArgsError(description: "id is required")).code, "invalid_request")
    }
}
