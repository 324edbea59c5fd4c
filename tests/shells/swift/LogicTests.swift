// Specification of the iOS shell's plain-Swift logic (ios/Sources/AirlockCapacitorUpdater/Logic).
import Foundation

let facts = PlatformFacts(
    platform: "ios", appId: "com.example.app", nativeVersion: "1.4.0", nativeBuild: "140", osVersion: "17.5",
    builtinDir: "/App.app/public", dataDir: "/Library/Application Support", isEmulator: true, isProd: false,
    utcOffsetMinutes: -330)

func args(_ json: String) throws -> CallArgs { CallArgs(try JSONValue.parseObject(json)) }

func logicTests(_ s: Suite) {
    // --- JSON ------------------------------------------------------------------------------------------------
    s.test("json parses nested values, whole numbers as integers and fractions as doubles") {
        let v = try JSONValue.parse(#"{"b": [1, 2.5, -3e2, true, null], "a": {"s": "x\"\\\u00e9\n"}}"#)
        try expectEqual(v, .object([
            "b": .array([.int(1), .double(2.5), .double(-300), .bool(true), .null]),
            "a": .object(["s": .string("x\"\\é\n")]),
        ]))
    }
    s.test("json rejects trailing text and says where") {
        let e = try expectThrows(JSONValue.ParseError.self) { _ = try JSONValue.parse("{} x") }
        try expect(e.description.contains("character 3"), e.description)
        try expectThrows(JSONValue.ParseError.self) { _ = try JSONValue.parse(#"{"a":}"#) }
        try expectThrows(JSONValue.ParseError.self) { _ = try JSONValue.parse("[1,") }
        try expectThrows(JSONValue.ParseError.self) { _ = try JSONValue.parseObject("[1]") }
    }
    s.test("json encodes script-safe strings with sorted keys and round-trips") {
        try expectEqual(JSONValue.string("</script> & \u{2028}\u{1}\"").encoded,
                        #""\u003c/script\u003e \u0026 \u2028\u0001\"""#)
        let v = JSONValue.object(["n": .int(7), "d": .double(1.5), "l": .array([.string("a"), .bool(false), .null])])
        try expectEqual(v.encoded, #"{"d":1.5,"l":["a",false,null],"n":7}"#)
        try expectEqual(try JSONValue.parse(v.encoded), v)
        try expectEqual(JSONValue.double(.nan).encoded, "null")
    }
    s.test("Foundation values from Capacitor's call options convert with booleans kept apart from numbers") {
        let raw: [AnyHashable: Any] = [
            "s": "x", "i": 3, "d": 2.5, "b": true, "n": NSNull(), "num": NSNumber(value: 12),
            "list": [1, "two"], "obj": ["k": false],
        ]
        try expectEqual(JSONValue.from(foundation: raw), .object([
            "s": .string("x"), "i": .int(3), "d": .double(2.5), "b": .bool(true), "n": .null, "num": .int(12),
            "list": .array([.int(1), .string("two")]), "obj": .object(["k": .bool(false)]),
        ]))
        let back = JSONValue.object(["a": .int(1), "b": .array([.bool(true)])]).foundation as? [String: Any]
        try expectEqual(back?["a"] as? Int, 1)
        try expectEqual((back?["b"] as? [Any])?.first as? Bool, true)
    }
    s.test("blank call data is an empty object") {
        try expectEqual(try JSONValue.parseObject(nil), [:])
        try expectEqual(try JSONValue.parseObject("  "), [:])
    }

    // --- PluginMethods ---------------------------------------------------------------------------------------
    s.test("the method table covers the parity table and keeps supported and unimplemented apart") {
        try expectEqual(PluginMethods.supported.count, 26)
        try expectEqual(PluginMethods.unimplemented.count, 25)
        try expect(Set(PluginMethods.supported.map(\.name)).isDisjoint(with: PluginMethods.unimplemented))
        try expectEqual(PluginMethods.worker("notifyAppReady"), .state)
        try expectEqual(PluginMethods.worker("startPreviewSession"), nil)
    }
    s.test("exactly the calls that may use the network run on the network queue") {
        let net = Set(PluginMethods.supported.filter { $0.worker == .network }.map(\.name))
        try expectEqual(net, ["download", "getLatest", "setChannel", "listChannels"])
        try expect(PluginMethods.unimplementedMessage("setShakeMenu").contains("setShakeMenu()"))
    }

    // --- ShellConfig -----------------------------------------------------------------------------------------
    s.test("the plugin config goes to the agent unchanged when no dev server is configured") {
        let text = #"{"appReadyTimeout":5000,"catalogUrl":"https://updates.example.com","autoUpdate":"onLaunch","x":1}"#
        let c = try ShellConfig(pluginConfigJson: text, serverUrl: nil, device: facts)
        try expectEqual(try JSONValue.parse(c.agentConfigJson), try JSONValue.parse(text))
        try expect(c.warnings.isEmpty)
        try expectEqual(c.device, facts)
    }
    s.test("a dev server (server.url) turns automatic updates off with a warning, as Capgo does") {
        let c = try ShellConfig(pluginConfigJson: #"{"autoUpdate":"always","directUpdate":true}"#,
                                serverUrl: "http://192.168.1.5:5173", device: facts)
        try expectEqual(c.agentConfigJson, #"{"autoUpdate":false}"#)
        try expectEqual(c.warnings.count, 1)
        try expect(c.warnings[0].contains("server.url"))
        try expect(try ShellConfig(pluginConfigJson: #"{"autoUpdate":"off"}"#, serverUrl: "http://x", device: facts)
            .warnings.isEmpty)
    }
    s.test("a plugin config that is not a JSON object fails naming plugins.CapacitorUpdater") {
        let e = try expectThrows(ShellConfigError.self) {
            _ = try ShellConfig(pluginConfigJson: "[1,2]", serverUrl: nil, device: facts)
        }
        try expect(e.description.contains("plugins.CapacitorUpdater"), e.description)
        try expectEqual(try ShellConfig(pluginConfigJson: nil, serverUrl: "", device: facts).agentConfigJson, "{}")
    }
    s.test("periodic checks are offered only when periodCheckDelay is positive") {
        try expect(!(try ShellConfig(pluginConfigJson: "{}", serverUrl: nil, device: facts).periodicChecks))
        try expect(!(try ShellConfig(pluginConfigJson: #"{"periodCheckDelay":0}"#, serverUrl: nil, device: facts)
            .periodicChecks))
        try expect(try ShellConfig(pluginConfigJson: #"{"periodCheckDelay":900}"#, serverUrl: nil, device: facts)
            .periodicChecks)
    }
    s.test("trustedKeys makes the shell treat a bare download url as the signed manifest") {
        try expect(try ShellConfig(pluginConfigJson: #"{"trustedKeys":["k"]}"#, serverUrl: nil, device: facts).signedOnly)
        try expect(!(try ShellConfig(pluginConfigJson: #"{"trustedKeys":[]}"#, serverUrl: nil, device: facts).signedOnly))
    }
    s.test("device facts serialise with the camelCase keys of DESIGN §9") {
        try expectEqual(facts.json.encoded,
            #"{"appId":"com.example.app","builtinDir":"/App.app/public","dataDir":"/Library/Application Support","#
            + #""isEmulator":true,"isProd":false,"nativeBuild":"140","nativeVersion":"1.4.0","osVersion":"17.5","#
            + #""platform":"ios","utcOffsetMinutes":-330}"#)
    }

    // --- CallArgs --------------------------------------------------------------------------------------------
    s.test("download takes Capgo's options") {
        let a = try args(#"{"url":"https://cdn/x.zip","version":"2.0.0","checksum":"ab","sessionKey":""}"#)
            .download(signedOnly: false)
        try expectEqual(a, DownloadArgs(url: "https://cdn/x.zip", version: "2.0.0", checksum: "ab", sessionKey: nil,
                                        manifestUrl: nil))
    }
    s.test("with trustedKeys a bare download url is the release manifest") {
        let a = try args(#"{"url":"https://r/app/releases/7.json","version":"2.0.0"}"#).download(signedOnly: true)
        try expectEqual(a, DownloadArgs(url: nil, version: "2.0.0", checksum: nil, sessionKey: nil,
                                        manifestUrl: "https://r/app/releases/7.json"))
        let b = try args(#"{"url":"https://cdn/x.zip","manifestUrl":"https://r/7.json"}"#).download(signedOnly: true)
        try expectEqual(b.url, "https://cdn/x.zip")
        try expectEqual(b.manifestUrl, "https://r/7.json")
    }
    s.test("download ignores Capgo's per-file manifest list and refuses a missing url, naming the option") {
        try expectEqual(try args(#"{"url":"u","manifest":[{"file_name":"a"}]}"#).download(signedOnly: false),
                        DownloadArgs(url: "u", version: nil, checksum: nil, sessionKey: nil, manifestUrl: nil))
        let m = try expectThrows(CallArgsError.self) { _ = try args(#"{"version":"1"}"#).download(signedOnly: false) }
        try expect(m.description.contains("url is required"), m.description)
        try expectEqual(try args(#"{"manifest":"https://r/1.json"}"#).download(signedOnly: false).manifestUrl,
                        "https://r/1.json")
        try expectThrows(CallArgsError.self) { _ = try args(#"{"url":5}"#).download(signedOnly: false) }
    }
    s.test("delay conditions keep Capgo's kinds and stringify numeric values") {
        let d = try args(#"{"delayConditions":[{"kind":"background","value":600},{"kind":"kill"},{"kind":"date","value":"2030-01-01T00:00:00Z"}]}"#)
            .delayConditions()
        try expectEqual(d, [DelayArgs(kind: "background", value: "600"), DelayArgs(kind: "kill", value: nil),
                            DelayArgs(kind: "date", value: "2030-01-01T00:00:00Z")])
        try expectEqual(try args(#"{"delayConditions":[]}"#).delayConditions(), [])
        let e = try expectThrows(CallArgsError.self) {
            _ = try args(#"{"delayConditions":[{"kind":"sometime"}]}"#).delayConditions()
        }
        try expect(e.description.contains("delayConditions[0].kind"), e.description)
        try expectThrows(CallArgsError.self) { _ = try args("{}").delayConditions() }
    }
    s.test("reset, channel, id, customId and attributes read their options with Capgo's defaults") {
        let r = try args("{}").reset()
        try expect(!r.toLastSuccessful && !r.usePendingBundle)
        try expect(try args(#"{"toLastSuccessful":true}"#).reset().toLastSuccessful)
        try expectEqual(try args(#"{"channel":"beta","triggerAutoUpdate":true}"#).channel(required: true).channel, "beta")
        try expect(try args(#"{"triggerAutoUpdate":true}"#).channel(required: false).triggerAutoUpdate)
        try expect(try expectThrows(CallArgsError.self) { _ = try args("{}").channel(required: true) }
            .description.contains("channel"))
        try expect(try expectThrows(CallArgsError.self) { _ = try args("{}").id() }.description.contains("id is required"))
        try expectEqual(try args(#"{"customId":""}"#).customId(), "")
        try expectEqual(try args(#"{"attributes":{"plan":"pro","seats":3,"trial":false}}"#).attributes(),
                        ["plan": "pro", "seats": "3", "trial": "false"])
        try expectThrows(CallArgsError.self) { _ = try args(#"{"attributes":{"a":{"b":1}}}"#).attributes() }
        try expectEqual(try args(#"{"channel":""}"#).latestChannel(), nil)
        try expectEqual(try args(#"{"token":""}"#).token(), nil)
        try expectEqual(try args(#"{"token":"t1"}"#).token(), "t1")
    }
    s.test("Capacitor's call options are read through the same rules") {
        let a = CallArgs(foundation: ["id": "abc", "toLastSuccessful": true])
        try expectEqual(try a.id(), "abc")
        try expect(try a.reset().toLastSuccessful)
        try expectThrows(CallArgsError.self) { _ = try CallArgs(foundation: nil).id() }
    }

    // --- ReadyWatch and BackgroundClock ----------------------------------------------------------------------
    s.test("a new load arms the ready timer with appReadyTimeout") {
        let w = ReadyWatch(timeoutMs: 10_000)
        try expectEqual(w.loadStarted("t1"), .arm(token: "t1", delayMs: 10_000))
        try expectEqual(w.latestToken, "t1")
        w.timeoutMs = 4_000  // the agent's configured appReadyTimeout, once it has started
        try expectEqual(w.loadStarted("t2"), .arm(token: "t2", delayMs: 4_000))
    }
    s.test("ready for the pending load cancels the timer; a stale token changes nothing") {
        let w = ReadyWatch(timeoutMs: 10_000)
        _ = w.loadStarted("t1")
        _ = w.loadStarted("t2")
        try expectEqual(w.ready("t1"), TimerAction.none)
        try expectEqual(w.ready("t2"), .cancel)
        try expectEqual(w.fired("t2"), TimerAction.none)
    }
    s.test("the timer pauses in the background and gets the full timeout again in the foreground") {
        let w = ReadyWatch(timeoutMs: 8_000)
        _ = w.loadStarted("t1")
        try expectEqual(w.background(), .cancel)
        try expectEqual(w.fired("t1"), TimerAction.none)
        try expectEqual(w.foregrounded(), .arm(token: "t1", delayMs: 8_000))
        try expectEqual(w.fired("t1"), .callReadyTimeout(token: "t1"))
        try expectEqual(w.fired("t1"), TimerAction.none)
        try expectEqual(w.foregrounded(), TimerAction.none)
    }
    s.test("a load started in the background is armed at the next foreground") {
        let w = ReadyWatch(timeoutMs: 8_000)
        _ = w.background()
        try expectEqual(w.loadStarted("t1"), TimerAction.none)
        try expectEqual(w.foregrounded(), .arm(token: "t1", delayMs: 8_000))
    }
    s.test("a timer that fires for a replaced load does nothing") {
        let w = ReadyWatch(timeoutMs: 8_000)
        _ = w.loadStarted("t1")
        _ = w.loadStarted("t2")
        try expectEqual(w.fired("t1"), TimerAction.none)
        try expectEqual(w.fired("t2"), .callReadyTimeout(token: "t2"))
    }
    s.test("a page that sent no token is credited to the latest load, and says so") {
        let w = ReadyWatch(timeoutMs: 8_000)
        try expect(w.token(for: nil) == (nil, true))
        _ = w.loadStarted("t1")
        try expect(w.token(for: "") == ("t1", true))
        try expect(w.token(for: "old") == ("old", false))
    }
    s.test("background time is measured from the last background to the next foreground") {
        let c = BackgroundClock()
        try expectEqual(c.cameToForeground(nowMs: 1_000), nil)
        c.wentToBackground(nowMs: 5_000)
        try expectEqual(c.cameToForeground(nowMs: 7_500), 2_500)
        try expectEqual(c.cameToForeground(nowMs: 9_000), nil)
        c.wentToBackground(nowMs: 10_000)
        try expectEqual(c.cameToForeground(nowMs: 9_000), 0)
    }

    // --- ReadyScript -----------------------------------------------------------------------------------------
    s.test("the ready user script sets a frozen window.__airlock with the escaped token, as on Android") {
        let script = ReadyScript.literal(token: "a\"b</script>")
        // The same text the Kotlin logic produces (tests/shells/kotlin runs it with node).
        try expectEqual(script, "/* airlock:ready-token */\nwindow.__airlock=Object.freeze({token:\"a\\\"b\\u003c/script\\u003e\"});")
        try expect(ReadyScript.isOurs(script) && !ReadyScript.isOurs("window.Capacitor = {}"))
    }

    // --- Failure and Emit ------------------------------------------------------------------------------------
    s.test("a rejected bundle rejects with the agent's rejection code; other kinds with their own code") {
        let r = Failure(.rejected, "bad signature", rejectionCode: "bad_signature")
        try expectEqual(r.code, "bad_signature")
        try expectEqual(r.data, .object(["kind": .string("rejected"), "code": .string("bad_signature"),
                                         "reason": .string("bad signature")]))
        try expectEqual(Failure(.network, "down").code, "network_error")
        try expect(Failure.unexpected(CallArgsError(description: "boom")).message.contains("CallArgsError"))
    }
    s.test("set and appReady are retained until consumed; other events are not") {
        try expect(Emit("set", .null).retain && Emit("appReady", .null).retain)
        try expect(!Emit("download", .null).retain && !Emit.appReloaded().retain)
        try expectEqual(Emit.names.count, 14)
    }
}
