// The generated Kotlin bindings drive the real agent library (through JNA) against a real loopback `airlock serve`.
// Environment (scripts/bindings-test sets it): AIRLOCK_CLI, the `airlock` binary; -Djna.library.path points at
// libairlock_ffi.so. Prints `N passed, N failed` last and exits 1 on any failure.

import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.util.Collections
import kotlin.concurrent.thread
import kotlin.system.exitProcess
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import uniffi.airlock.Agent
import uniffi.airlock.AgentEvent
import uniffi.airlock.ApplyMode
import uniffi.airlock.AutoOutcome
import uniffi.airlock.BundleStatus
import uniffi.airlock.CancelToken
import uniffi.airlock.DeviceFacts
import uniffi.airlock.DownloadRequest
import uniffi.airlock.EventListener
import uniffi.airlock.LogLevel
import uniffi.airlock.LogSink
import uniffi.airlock.ReadyResult
import uniffi.airlock.Trigger
import uniffi.airlock.UpdateException
import uniffi.airlock.pluginVersion
import uniffi.airlock.setLogSink

const val APP_ID = "com.example.bindings"
const val VERSION = "1.0.1"
const val INDEX_HTML = "<html><body>airlock binding test 1.0.1</body></html>\n"
val CLI: String = System.getenv("AIRLOCK_CLI") ?: error("AIRLOCK_CLI is not set")

/** First string value of `"key":"..."` in a JSON document (the CLI's one-line outputs are flat enough). */
fun jsonString(json: String, key: String): String =
    Regex("\"$key\":\\[?\"([^\"]*)\"").find(json)?.groupValues?.get(1) ?: error("no \"$key\" in $json")

fun cli(vararg args: String): String {
    val p = ProcessBuilder(CLI, "--json", *args).redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val out = p.inputStream.bufferedReader().readText()
    check(p.waitFor() == 0) { "airlock ${args.joinToString(" ")} failed: $out" }
    return out
}

/** A publisher repo with one signed release on `production`, served by `airlock serve` on 127.0.0.1. */
class Publisher {
    val work: Path = Files.createTempDirectory("airlock-kt-publisher-")
    val trustedKey: String
    val url: String
    val manifestUrl: String
    val zipUrl: String
    val sha256: String
    private val server: Process

    init {
        val dist = work.resolve("dist")
        Files.createDirectories(dist.resolve("js"))
        Files.writeString(dist.resolve("index.html"), INDEX_HTML)
        Files.writeString(dist.resolve("js/app.js"), "console.log('airlock');\n".repeat(2000))
        val keys = cli("keys", "new", "--out", work.resolve("keys").toString())
        trustedKey = jsonString(keys, "trustedKeys")
        val common = arrayOf("--repo", work.resolve("repo").toString(), "--app-id", APP_ID, "--key",
            jsonString(keys, "signing_key"))
        val release = cli("release", dist.toString(), "--version", VERSION, *common)
        val number = Regex("\"release\":(\\d+)").find(release)!!.groupValues[1]
        cli("channel", "set", "production", "--release", number, *common)
        server = ProcessBuilder(CLI, "--json", "serve", "--repo", work.resolve("repo").toString(), "--addr",
            "127.0.0.1:0").redirectError(ProcessBuilder.Redirect.INHERIT).start()
        url = jsonString(server.inputStream.bufferedReader().readLine(), "url")
        manifestUrl = "$url/$APP_ID/releases/$number.json"
        zipUrl = "$url/$APP_ID/bundles/" + File(jsonString(release, "path")).name
        sha256 = jsonString(release, "sha256")
    }

    fun close() {
        server.destroyForcibly().waitFor()
        work.toFile().deleteRecursively()
    }
}

/** Records every event with the thread it arrived on. */
class Recorder : EventListener {
    val events: MutableList<Pair<Thread, AgentEvent>> = Collections.synchronizedList(mutableListOf())

    override fun onEvent(event: AgentEvent) {
        events.add(Thread.currentThread() to event)
    }

    inline fun <reified T : AgentEvent> of(): List<T> = synchronized(events) { events.map { it.second } }.filterIsInstance<T>()
}

/** A fresh app install: its builtin bundle and data directory in a temp folder. */
class Device(val plugin: String) {
    val root: Path = Files.createTempDirectory("airlock-kt-device-")
    val builtin: Path = Files.createDirectories(root.resolve("builtin"))
    val data: Path = root.resolve("data")
    val facts: DeviceFacts
    val events = Recorder()
    val agent: Agent

    init {
        Files.writeString(builtin.resolve("index.html"), "<html>builtin</html>\n")
        facts = DeviceFacts("linux", APP_ID, "1.0.0", "1", "test", builtin.toString(), data.toString(), true, false, 0)
        agent = Agent(plugin, facts, events)
    }

    fun close() {
        agent.close()
        root.toFile().deleteRecursively()
    }
}

lateinit var publisher: Publisher

fun signedConfig() = """{"trustedKeys": ["${publisher.trustedKey}"], "catalogUrl": "${publisher.url}", "statsUrl": ""}"""

fun openFiles(): List<String> =
    File("/proc/self/fd").listFiles().orEmpty().mapNotNull { runCatching { Files.readSymbolicLink(it.toPath()).toString() }.getOrNull() }

fun downloadSigned(d: Device) = d.agent.download(DownloadRequest(manifestUrl = publisher.manifestUrl), CancelToken())

val tests: List<Pair<String, (Device) -> Unit>> = listOf(
    "a signed bundle downloads, applies and is blessed by notifyAppReady" to { d ->
        val bundle = downloadSigned(d)
        assertEquals(VERSION, bundle.version)
        assertEquals(publisher.sha256, bundle.checksum)
        assertEquals(BundleStatus.PENDING, bundle.status)
        assertEquals(bundle.id, d.agent.setNext(bundle.id).id)
        val launch = d.agent.launch()
        assertEquals(bundle.id, launch.bundle.id)
        assertEquals(INDEX_HTML, File(launch.path, "index.html").readText())
        assertTrue(File(launch.path, "js/app.js").isFile)
        val ready = assertIs<ReadyResult.Blessed>(d.agent.notifyAppReady(launch.token))
        assertEquals(BundleStatus.SUCCESS, ready.bundle.status)
        val current = d.agent.current()
        assertEquals(bundle.id to BundleStatus.SUCCESS, current.bundle.id to current.bundle.status)
        assertEquals("1.0.0", current.native)
        assertEquals(listOf(bundle.id), d.agent.list().map { it.id })
        assertTrue(d.events.of<AgentEvent.DownloadComplete>().isNotEmpty())
        assertTrue(d.events.of<AgentEvent.SetNext>().isNotEmpty())
    },
    "checkAndUpdate fetches the channel release and queues it" to { d ->
        val outcome = assertIs<AutoOutcome.Downloaded>(d.agent.checkAndUpdate(Trigger.MANUAL, CancelToken()))
        assertEquals(VERSION to ApplyMode.NEXT_BACKGROUND, outcome.bundle.version to outcome.apply)
        assertEquals(outcome.bundle.id, d.agent.nextBundle()?.id)
        assertTrue(d.data.resolve("airlock/bundles/${outcome.bundle.id}/index.html").toFile().isFile)
    },
    "a missed ready rolls back to builtin and reports the failed update" to { d ->
        val bundle = downloadSigned(d)
        d.agent.setNext(bundle.id)
        val launch = d.agent.launch()
        assertEquals(bundle.id, launch.bundle.id)
        val instead = assertNotNull(d.agent.readyTimeout(launch.token))
        assertEquals("builtin", instead.bundle.id)
        assertEquals(d.builtin.toRealPath(), Path.of(instead.path).toRealPath())
        assertEquals("builtin", d.agent.current().bundle.id)
        val failed = assertNotNull(d.agent.takeFailedUpdate())
        assertEquals(bundle.id to VERSION, failed.id to failed.version)
        assertNull(d.agent.takeFailedUpdate(), "cleared once read")
        assertEquals(listOf(bundle.id), d.events.of<AgentEvent.UpdateFailed>().map { it.bundle.id })
    },
    "a wrong checksum is rejected with its code and nothing is installed" to { _ ->
        val unsigned = Device("""{"statsUrl": ""}""")
        try {
            val request = DownloadRequest(url = publisher.zipUrl, version = VERSION, checksum = "0".repeat(64))
            val e = assertFailsWith<UpdateException.Rejected> { unsigned.agent.download(request, CancelToken()) }
            assertEquals("checksum_mismatch", e.code)
            assertEquals(emptyList(), unsigned.agent.list())
            assertEquals(listOf(VERSION), unsigned.events.of<AgentEvent.DownloadFailed>().map { it.version })
            assertEquals(0, unsigned.data.resolve("airlock/bundles").toFile().list()?.size)
        } finally {
            unsigned.close()
        }
    },
    "an unsigned download is rejected when trusted keys are set" to { d ->
        val request = DownloadRequest(url = publisher.zipUrl, version = VERSION, checksum = publisher.sha256)
        val e = assertFailsWith<UpdateException.Rejected> { d.agent.download(request, CancelToken()) }
        assertEquals("unsigned", e.code)
    },
    "a bad config fails fast naming the key" to { d ->
        val e = assertFailsWith<UpdateException.Config> { Agent("""{"appReadyTimeout": "soon"}""", d.facts, Recorder()) }
        assertTrue("appReadyTimeout" in e.reason, e.reason)
        assertFailsWith<UpdateException.InvalidRequest> { d.agent.setNext("no-such-bundle") }
    },
    "events and progress arrive on the thread doing the work" to { d ->
        var worker: Thread? = null
        var version: String? = null
        thread {
            worker = Thread.currentThread()
            version = downloadSigned(d).version
        }.join()
        assertEquals(VERSION, version)
        val progress = d.events.of<AgentEvent.Download>()
        assertTrue(progress.isNotEmpty(), "download progress events")
        assertEquals(100u, progress.last().percent)
        assertEquals(setOf(worker), synchronized(d.events.events) { d.events.events.map { it.first }.toSet() })
        assertTrue(worker !== Thread.currentThread())
    },
    "a cancelled token stops the download before it starts" to { d ->
        val token = CancelToken()
        assertFalse(token.isCancelled())
        token.cancel()
        assertTrue(token.isCancelled())
        assertFailsWith<UpdateException.Cancelled> {
            d.agent.download(DownloadRequest(manifestUrl = publisher.manifestUrl), token)
        }
        assertEquals(emptyList(), d.agent.list())
        assertEquals("builtin", d.agent.current().bundle.id)
    },
    "close() closes the database and later calls fail" to { d ->
        val db = d.data.resolve("airlock/state.sqlite3").toString()
        assertEquals("builtin", d.agent.current().bundle.id)
        assertTrue(db in openFiles())
        d.agent.close()
        assertFalse(db in openFiles(), "the state database is closed")
        assertFailsWith<IllegalStateException> { d.agent.current() }
        Agent(signedConfig(), d.facts, Recorder()).use { assertEquals("builtin", it.current().bundle.id) }
    },
    "the log sink receives the library logs" to { d ->
        val lines = Collections.synchronizedList(mutableListOf<Triple<LogLevel, String, String>>())
        setLogSink(object : LogSink {
            override fun log(level: LogLevel, target: String, message: String) {
                lines.add(Triple(level, target, message))
            }
        }, LogLevel.WARN)
        try {
            Agent("""{"noSuchKey": 1}""", d.facts, Recorder()).close()
        } finally {
            setLogSink(object : LogSink {
                override fun log(level: LogLevel, target: String, message: String) {}
            }, LogLevel.ERROR)
        }
        assertTrue(lines.any { it.first == LogLevel.WARN && "noSuchKey" in it.third }, lines.toString())
        assertEquals(pluginVersion(), d.agent.pluginVersion())
        assertEquals(10_000uL, d.agent.appReadyTimeoutMs())
    },
)

fun main() {
    publisher = Publisher()
    var passed = 0
    var failed = 0
    try {
        for ((name, body) in tests) {
            val device = Device(signedConfig())
            try {
                body(device)
                passed++
                println("ok   $name")
            } catch (e: Throwable) {
                failed++
                println("FAIL $name: $e")
                e.printStackTrace(System.out)
            } finally {
                device.close()
            }
        }
    } finally {
        publisher.close()
    }
    println("kotlin bindings: $passed passed, $failed failed")
    if (failed > 0 || passed == 0) exitProcess(1)
}
