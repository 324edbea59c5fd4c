// Specification of the JSON shapes the Android shell resolves calls with and emits (logic/Shapes.kt), over the
// uniffi-generated records. Compiled only when target/bindings exists (scripts/shells-test). Building records
// and exceptions loads no native code.

import app.airlock.capacitor.logic.DelayArgs
import app.airlock.capacitor.logic.DownloadArgs
import app.airlock.capacitor.logic.Emit
import app.airlock.capacitor.logic.FailureKind
import app.airlock.capacitor.logic.Json
import app.airlock.capacitor.logic.Shapes
import uniffi.airlock.AgentEvent
import uniffi.airlock.BundleInfo
import uniffi.airlock.BundleStatus
import uniffi.airlock.ChannelEntry
import uniffi.airlock.ChannelInfo
import uniffi.airlock.CurrentBundle
import uniffi.airlock.DelayKind
import uniffi.airlock.LatestVersion
import uniffi.airlock.ReadyResult
import uniffi.airlock.UpdateException
import kotlin.test.assertEquals
import kotlin.test.assertTrue

val v2 = BundleInfo(
    id = "AbCdEf0123", version = "2.0.0", downloaded = "2026-11-28T10:00:00.000Z", checksum = "ab".repeat(32),
    status = BundleStatus.PENDING, link = null, comment = null,
)
val builtin = BundleInfo(
    id = "builtin", version = "1.0.0", downloaded = "1970-01-01T00:00:00.000Z", checksum = "",
    status = BundleStatus.SUCCESS, link = null, comment = null,
)
const val V2_JSON = """{"id":"AbCdEf0123","version":"2.0.0","downloaded":"2026-11-28T10:00:00.000Z",""" +
    """"checksum":"abababababababababababababababababababababababababababababababab","status":"pending"}"""

fun shapesTests(): Suite = Suite().apply {
    test("a bundle has Capgo's BundleInfo shape and leaves out an absent link and comment") {
        assertEquals(V2_JSON, Json.encode(Shapes.bundle(v2)))
        val linked = Shapes.bundle(v2.copy(status = BundleStatus.ERROR, link = "https://x/notes", comment = "fix"))
        assertEquals("error", linked["status"])
        assertEquals("https://x/notes", linked["link"])
        assertEquals("fix", linked["comment"])
        assertEquals(
            listOf("downloading", "pending", "success", "error", "deleted"),
            BundleStatus.values().map(Shapes::status),
        )
    }
    test("notifyAppReady resolves {bundle}: the blessed bundle, or the current one for a stale token") {
        assertEquals("""{"bundle":$V2_JSON}""", Json.encode(Shapes.ready(ReadyResult.Blessed(v2))))
        assertEquals(builtin.id, (Shapes.ready(ReadyResult.Ignored(builtin, "stale")) ["bundle"] as Map<*, *>)["id"])
    }
    test("current, list, channel and channels have Capgo's shapes") {
        assertEquals("""{"bundle":$V2_JSON,"native":"1.0.0"}""", Json.encode(Shapes.current(CurrentBundle(v2, "1.0.0"))))
        assertEquals("""{"bundles":[$V2_JSON]}""", Json.encode(Shapes.list(listOf(v2))))
        assertEquals("""{"channel":"beta","status":"self_assigned","allowSet":true}""",
            Json.encode(Shapes.channel(ChannelInfo("beta", "self_assigned", true))))
        assertEquals("""{"channels":[{"id":"beta","name":"beta","public":true,"allow_self_set":true}]}""",
            Json.encode(Shapes.channels(listOf(ChannelEntry("beta", "beta", true, true)))))
    }
    test("getLatest leaves out absent fields and repeats breaking as major") {
        val up = LatestVersion("1.0.0", null, null, "up_to_date", "no rule targets this device", null, null, null, null)
        assertEquals("""{"version":"1.0.0","kind":"up_to_date","message":"no rule targets this device"}""",
            Json.encode(Shapes.latest(up)))
        val br = Shapes.latest(LatestVersion("3.0.0", "cd", "https://r/releases/9.json", null, null, null, true, null, null))
        assertEquals(true, br["breaking"])
        assertEquals(true, br["major"])
        assertEquals("https://r/releases/9.json", br["url"])
    }
    test("agent events become Capgo's events; set and appReady are retained; breaking also goes out as major") {
        val dl = Shapes.events(AgentEvent.Download(42u, v2)).single()
        assertEquals(Emit("download", mapOf("percent" to 42L, "bundle" to Shapes.bundle(v2)), false), dl)
        assertEquals("""{"percent":42,"bundle":$V2_JSON}""", Json.encode(dl.data))
        val set = Shapes.events(AgentEvent.Set(v2)).single()
        assertTrue(set.retain && set.name == "set")
        val ready = Shapes.events(AgentEvent.AppReady(v2, "bundle reported ready")).single()
        assertTrue(ready.retain)
        assertEquals("bundle reported ready", ready.data["status"])
        assertEquals(listOf("breakingAvailable", "majorAvailable"),
            Shapes.events(AgentEvent.BreakingAvailable("3.0.0")).map { it.name })
        val check = Shapes.events(AgentEvent.UpdateCheckResult("up_to_date", null, null, builtin)).single()
        assertEquals(listOf("kind", "bundle"), check.data.keys.toList())
        assertEquals(mapOf("version" to "2.0.0", "reason" to "network down"),
            Shapes.events(AgentEvent.DownloadFailed("2.0.0", "network down")).single().data)
    }
    test("every agent event maps to a name the shells declare") {
        val all = listOf(
            AgentEvent.Download(1u, v2), AgentEvent.DownloadComplete(v2), AgentEvent.DownloadFailed("2", "r"),
            AgentEvent.UpdateAvailable(v2), AgentEvent.Set(v2), AgentEvent.SetNext(v2), AgentEvent.UpdateFailed(v2),
            AgentEvent.AppReady(v2, "s"), AgentEvent.NoNeedUpdate(v2), AgentEvent.UpdateCheckResult("k", "m", "v", v2),
            AgentEvent.BreakingAvailable("3"), AgentEvent.ChannelPrivate("c", "m"),
        )
        val names = all.flatMap(Shapes::events).map { it.name }.toSet()
        assertEquals(Emit.NAMES.toSet() - "appReloaded", names)
    }
    test("device facts, download options and delay conditions map field for field") {
        val d = Shapes.device(facts)
        assertEquals(facts.toJson().values.toList(), listOf(d.platform, d.appId, d.nativeVersion, d.nativeBuild,
            d.osVersion, d.builtinDir, d.dataDir, d.isEmulator, d.isProd, d.utcOffsetMinutes))
        val r = Shapes.downloadRequest(DownloadArgs("u", "2", "c", null, "m"))
        assertEquals(listOf("u", "2", "c", null, "m"), listOf(r.url, r.version, r.checksum, r.sessionKey, r.manifestUrl))
        assertEquals(listOf(DelayKind.BACKGROUND, DelayKind.KILL, DelayKind.DATE, DelayKind.NATIVE_VERSION),
            Shapes.delayConditions(listOf("background", "kill", "date", "nativeVersion").map { DelayArgs(it, null) })
                .map { it.kind })
    }
    test("each agent error kind rejects with its code; a rejected bundle with the agent's rejection code") {
        assertEquals(FailureKind.NETWORK, Shapes.failure(UpdateException.Network("down")).kind)
        assertEquals("disk_full", Shapes.failure(UpdateException.DiskFull("full")).code)
        assertEquals("storage_error", Shapes.failure(UpdateException.Storage("db")).code)
        val rej = Shapes.failure(UpdateException.Rejected("bad_signature", "no trusted signature"))
        assertEquals("bad_signature", rej.code)
        assertEquals("no trusted signature", rej.message)
        assertEquals("invalid_request", Shapes.failure(UpdateException.InvalidRequest("no bundle")).code)
        assertEquals("invalid_config", Shapes.failure(UpdateException.Config("k")).code)
        assertEquals("cancelled", Shapes.failure(UpdateException.Cancelled()).code)
        assertEquals("internal_error", Shapes.failure(IllegalStateException("x")).code)
    }
}
