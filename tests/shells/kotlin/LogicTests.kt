// Specification of the Android shell's plain-Kotlin logic (android/src/main/java/app/airlock/capacitor/logic).

import app.airlock.capacitor.logic.BackgroundClock
import app.airlock.capacitor.logic.CallArgs
import app.airlock.capacitor.logic.CallArgsException
import app.airlock.capacitor.logic.DelayArgs
import app.airlock.capacitor.logic.DownloadArgs
import app.airlock.capacitor.logic.Emit
import app.airlock.capacitor.logic.Failure
import app.airlock.capacitor.logic.FailureKind
import app.airlock.capacitor.logic.Json
import app.airlock.capacitor.logic.PlatformFacts
import app.airlock.capacitor.logic.PluginMethods
import app.airlock.capacitor.logic.ReadyScript
import app.airlock.capacitor.logic.ReadyWatch
import app.airlock.capacitor.logic.ShellConfig
import app.airlock.capacitor.logic.ShellConfigException
import app.airlock.capacitor.logic.TimerAction
import java.io.File
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue

val facts = PlatformFacts(
    platform = "android", appId = "com.example.app", nativeVersion = "1.4.0", nativeBuild = "140",
    osVersion = "14", builtinDir = PlatformFacts.ANDROID_BUILTIN_DIR, dataDir = "/data/user/0/com.example.app/no_backup",
    isEmulator = false, isProd = true, utcOffsetMinutes = 120,
)

fun args(json: String) = CallArgs.fromJson(json)

/** Runs a script with node against a bare `window` and returns what it printed. */
fun runNode(script: String): String {
    val file = File.createTempFile("airlock-ready", ".js")
    try {
        file.writeText("var window = {AirlockShell: {readyToken: function () { return 'tok-42'; }}};\n$script\n" +
            "console.log(JSON.stringify(window.__airlock) + ' ' + Object.isFrozen(window.__airlock));\n")
        val p = ProcessBuilder("node", file.path).redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "node did not finish")
        assertEquals(0, p.exitValue(), "node failed: $out")
        return out.trim()
    } finally {
        file.delete()
    }
}

fun logicTests(): Suite = Suite().apply {
    // --- Json -------------------------------------------------------------------------------------------------
    test("json parses nested objects keeping key order, whole numbers as Long and fractions as Double") {
        val v = Json.parse("""{"b": [1, 2.5, -3e2, true, null], "a": {"s": "x\"\\\u00e9\n"}}""")
        assertEquals(mapOf("b" to listOf(1L, 2.5, -300.0, true, null), "a" to mapOf("s" to "x\"\\é\n")), v)
        assertEquals(listOf("b", "a"), (v as Map<*, *>).keys.toList())
    }
    test("json rejects trailing text and says where") {
        val e = assertFailsWith<Json.ParseException> { Json.parse("{} x") }
        assertTrue(e.message!!.contains("character 3"), e.message)
        assertFailsWith<Json.ParseException> { Json.parse("{\"a\":}") }
        assertFailsWith<Json.ParseException> { Json.parse("[1,") }
        assertFailsWith<Json.ParseException> { Json.parseObject("[1]") }
    }
    test("json encodes script-safe strings and round-trips values") {
        assertEquals("\"\\u003c/script\\u003e \\u0026 \\u2028\\u0001\\\"\"", Json.encode("</script> & \u2028\u0001\""))
        val value = linkedMapOf("n" to 7L, "d" to 1.5, "l" to listOf("a", false, null), "u" to 3u)
        assertEquals("""{"n":7,"d":1.5,"l":["a",false,null],"u":3}""", Json.encode(value))
        assertEquals(mapOf("n" to 7L, "d" to 1.5, "l" to listOf("a", false, null), "u" to 3L), Json.parse(Json.encode(value)))
        assertEquals("null", Json.encode(Double.NaN))
    }
    test("blank call data is an empty object") {
        assertEquals(emptyMap(), Json.parseObject(null))
        assertEquals(emptyMap(), Json.parseObject("  "))
    }

    // --- PluginMethods ----------------------------------------------------------------------------------------
    test("the method table covers the parity table and keeps supported and unimplemented apart") {
        assertEquals(26, PluginMethods.SUPPORTED.size)
        assertEquals(25, PluginMethods.UNIMPLEMENTED.size)
        assertTrue(PluginMethods.SUPPORTED.keys.intersect(PluginMethods.UNIMPLEMENTED.toSet()).isEmpty())
        assertTrue("notifyAppReady" in PluginMethods.SUPPORTED && "startPreviewSession" in PluginMethods.UNIMPLEMENTED)
    }
    test("exactly the calls that may use the network run on the network executor") {
        val net = PluginMethods.SUPPORTED.filterValues { it == PluginMethods.Worker.NETWORK }.keys
        assertEquals(setOf("download", "getLatest", "setChannel", "listChannels"), net)
        assertTrue(PluginMethods.unimplementedMessage("setShakeMenu").contains("setShakeMenu()"))
    }

    // --- ShellConfig ------------------------------------------------------------------------------------------
    test("the plugin config goes to the agent unchanged when no dev server is configured") {
        val text = """{"appReadyTimeout":5000,"catalogUrl":"https://updates.example.com","autoUpdate":"onLaunch","x":1}"""
        val c = ShellConfig.from(text, null, facts)
        assertEquals(Json.parse(text), Json.parse(c.agentConfigJson))
        assertTrue(c.warnings.isEmpty())
        assertEquals(facts, c.device)
    }
    test("a dev server (server.url) turns automatic updates off with a warning, as Capgo does") {
        val c = ShellConfig.from("""{"autoUpdate":"always","directUpdate":true}""", "http://192.168.1.5:5173", facts)
        assertEquals(mapOf("autoUpdate" to false), Json.parse(c.agentConfigJson))
        assertEquals(1, c.warnings.size)
        assertTrue(c.warnings[0].contains("server.url"))
        assertTrue(ShellConfig.from("""{"autoUpdate":"off"}""", "http://x", facts).warnings.isEmpty())
    }
    test("a plugin config that is not a JSON object fails naming plugins.CapacitorUpdater") {
        val e = assertFailsWith<ShellConfigException> { ShellConfig.from("[1,2]", null, facts) }
        assertTrue(e.message!!.contains("plugins.CapacitorUpdater"), e.message)
        assertEquals("{}", ShellConfig.from(null, "", facts).agentConfigJson)
    }
    test("periodic ticks run once a minute only when periodCheckDelay is positive") {
        assertNull(ShellConfig.from("{}", null, facts).periodicTickMs)
        assertNull(ShellConfig.from("""{"periodCheckDelay":0}""", null, facts).periodicTickMs)
        assertEquals(60_000L, ShellConfig.from("""{"periodCheckDelay":900}""", null, facts).periodicTickMs)
    }
    test("trustedKeys makes the shell treat a bare download url as the signed manifest") {
        assertTrue(ShellConfig.from("""{"trustedKeys":["k"]}""", null, facts).signedOnly)
        assertTrue(!ShellConfig.from("""{"trustedKeys":[]}""", null, facts).signedOnly)
    }
    test("device facts serialise with the camelCase keys of DESIGN §9") {
        assertEquals(
            """{"platform":"android","appId":"com.example.app","nativeVersion":"1.4.0","nativeBuild":"140",""" +
                """"osVersion":"14","builtinDir":"/android_asset/public","dataDir":"/data/user/0/com.example.app/no_backup",""" +
                """"isEmulator":false,"isProd":true,"utcOffsetMinutes":120}""",
            Json.encode(facts.toJson()),
        )
    }

    // --- CallArgs ---------------------------------------------------------------------------------------------
    test("download takes Capgo's options") {
        val a = args("""{"url":"https://cdn/x.zip","version":"2.0.0","checksum":"ab","sessionKey":""}""").download(false)
        assertEquals(DownloadArgs("https://cdn/x.zip", "2.0.0", "ab", null, null), a)
    }
    test("with trustedKeys a bare download url is the release manifest") {
        val a = args("""{"url":"https://r/app/releases/7.json","version":"2.0.0"}""").download(true)
        assertEquals(DownloadArgs(null, "2.0.0", null, null, "https://r/app/releases/7.json"), a)
        val b = args("""{"url":"https://cdn/x.zip","manifestUrl":"https://r/7.json"}""").download(true)
        assertEquals("https://cdn/x.zip", b.url)
        assertEquals("https://r/7.json", b.manifestUrl)
    }
    test("download ignores Capgo's per-file manifest list and refuses a missing url, naming the option") {
        assertEquals(DownloadArgs("u", null, null, null, null), args("""{"url":"u","manifest":[{"file_name":"a"}]}""").download(false))
        val m = assertFailsWith<CallArgsException> { args("""{"version":"1"}""").download(false) }
        assertTrue(m.message!!.contains("url is required"), m.message)
        assertEquals("https://r/1.json", args("""{"manifest":"https://r/1.json"}""").download(false).manifestUrl)
        assertFailsWith<CallArgsException> { args("""{"url":5}""").download(false) }
    }
    test("delay conditions keep Capgo's kinds and stringify numeric values") {
        val d = args("""{"delayConditions":[{"kind":"background","value":600},{"kind":"kill"},{"kind":"date","value":"2030-01-01T00:00:00Z"}]}""")
            .delayConditions()
        assertEquals(listOf(DelayArgs("background", "600"), DelayArgs("kill", null), DelayArgs("date", "2030-01-01T00:00:00Z")), d)
        assertEquals(emptyList(), args("""{"delayConditions":[]}""").delayConditions())
        val e = assertFailsWith<CallArgsException> { args("""{"delayConditions":[{"kind":"sometime"}]}""").delayConditions() }
        assertTrue(e.message!!.contains("delayConditions[0].kind"), e.message)
        assertFailsWith<CallArgsException> { args("{}").delayConditions() }
    }
    test("reset, channel, id, customId and attributes read their options with Capgo's defaults") {
        val r = args("{}").reset()
        assertTrue(!r.toLastSuccessful && !r.usePendingBundle)
        assertTrue(args("""{"toLastSuccessful":true}""").reset().toLastSuccessful)
        assertEquals("beta", args("""{"channel":"beta","triggerAutoUpdate":true}""").channel(true).channel)
        assertTrue(args("""{"triggerAutoUpdate":true}""").channel(false).triggerAutoUpdate)
        assertTrue(assertFailsWith<CallArgsException> { args("{}").channel(true) }.message!!.contains("channel"))
        assertTrue(assertFailsWith<CallArgsException> { args("{}").id() }.message!!.contains("id is required"))
        assertEquals("", args("""{"customId":""}""").customId())
        assertEquals(mapOf("plan" to "pro", "seats" to "3", "trial" to "false"),
            args("""{"attributes":{"plan":"pro","seats":3,"trial":false}}""").attributes())
        assertFailsWith<CallArgsException> { args("""{"attributes":{"a":{"b":1}}}""").attributes() }
        assertNull(args("""{"channel":""}""").latestChannel())
        assertNull(args("""{"token":""}""").token())
        assertEquals("t1", args("""{"token":"t1"}""").token())
    }
    test("call data that is not an object is an invalid request") {
        assertFailsWith<CallArgsException> { CallArgs.fromJson("nope") }
    }

    // --- ReadyWatch and BackgroundClock -----------------------------------------------------------------------
    test("a new load arms the ready timer with appReadyTimeout") {
        val w = ReadyWatch(10_000)
        assertEquals(TimerAction.Arm("t1", 10_000), w.loadStarted("t1"))
        assertEquals("t1", w.latestToken)
        w.timeoutMs = 4_000 // the agent's configured appReadyTimeout, once it has started
        assertEquals(TimerAction.Arm("t2", 4_000), w.loadStarted("t2"))
    }
    test("ready for the pending load cancels the timer; a stale token changes nothing") {
        val w = ReadyWatch(10_000)
        w.loadStarted("t1")
        w.loadStarted("t2")
        assertEquals(TimerAction.None, w.ready("t1"))
        assertEquals(TimerAction.Cancel, w.ready("t2"))
        assertEquals(TimerAction.None, w.fired("t2"))
    }
    test("the timer pauses in the background and gets the full timeout again in the foreground") {
        val w = ReadyWatch(8_000)
        w.loadStarted("t1")
        assertEquals(TimerAction.Cancel, w.background())
        assertEquals(TimerAction.None, w.fired("t1"))
        assertEquals(TimerAction.Arm("t1", 8_000), w.foreground())
        assertEquals(TimerAction.CallReadyTimeout("t1"), w.fired("t1"))
        assertEquals(TimerAction.None, w.fired("t1"))
        assertEquals(TimerAction.None, w.foreground())
    }
    test("a load started in the background is armed at the next foreground") {
        val w = ReadyWatch(8_000)
        w.background()
        assertEquals(TimerAction.None, w.loadStarted("t1"))
        assertEquals(TimerAction.Arm("t1", 8_000), w.foreground())
    }
    test("a timer that fires for a replaced load does nothing") {
        val w = ReadyWatch(8_000)
        w.loadStarted("t1")
        w.loadStarted("t2")
        assertEquals(TimerAction.None, w.fired("t1"))
        assertEquals(TimerAction.CallReadyTimeout("t2"), w.fired("t2"))
    }
    test("a page that sent no token is credited to the latest load, and says so") {
        val w = ReadyWatch(8_000)
        assertEquals(null to true, w.tokenFor(null))
        w.loadStarted("t1")
        assertEquals("t1" to true, w.tokenFor(""))
        assertEquals("old" to false, w.tokenFor("old"))
    }
    test("background time is measured from the last background to the next foreground") {
        val c = BackgroundClock()
        assertNull(c.cameToForeground(1_000))
        c.wentToBackground(5_000)
        assertEquals(2_500L, c.cameToForeground(7_500))
        assertNull(c.cameToForeground(9_000))
        c.wentToBackground(10_000)
        assertEquals(0L, c.cameToForeground(9_000))
    }

    // --- ReadyScript ------------------------------------------------------------------------------------------
    test("the literal ready script sets a frozen window.__airlock with the token (run with node)") {
        val s = ReadyScript.literal("a\"b</script>")
        assertTrue(s.startsWith(ReadyScript.MARKER))
        assertTrue(!s.contains("</script>"))
        assertEquals("""{"token":"a\"b</script>"} true""", runNode(s))
    }
    test("the Android document-start script reads the token from the shell's interface (run with node)") {
        assertTrue(ReadyScript.androidDocumentStart.startsWith(ReadyScript.MARKER))
        assertEquals("""{"token":"tok-42"} true""", runNode(ReadyScript.androidDocumentStart))
        // Without the interface (a page outside the app's WebView) it sets nothing and throws nothing.
        assertTrue(runNode("delete window.AirlockShell;\n" + ReadyScript.androidDocumentStart).startsWith("undefined"))
    }

    // --- Failure and Emit -------------------------------------------------------------------------------------
    test("a rejected bundle rejects with the agent's rejection code; other kinds with their own code") {
        val r = Failure(FailureKind.REJECTED, "bad signature", rejectionCode = "bad_signature")
        assertEquals("bad_signature", r.code)
        assertEquals(mapOf("kind" to "rejected", "code" to "bad_signature", "reason" to "bad signature"), r.data)
        assertEquals("network_error", Failure(FailureKind.NETWORK, "down").code)
        assertEquals("invalid_request", Failure.invalid(CallArgsException("id is required")).code)
        assertTrue(Failure.unexpected(IllegalStateException("boom")).message.contains("IllegalStateException: boom"))
    }
    test("set and appReady are retained until consumed; other events are not") {
        assertTrue(Emit("set", emptyMap()).retain && Emit("appReady", emptyMap()).retain)
        assertTrue(!Emit("download", emptyMap()).retain && !Emit.appReloaded().retain)
        assertEquals(14, Emit.NAMES.size)
    }
}
