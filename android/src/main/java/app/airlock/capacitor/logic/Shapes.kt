// Plain Kotlin over the uniffi-generated types (package uniffi.airlock), no android.* or Capacitor imports.
// It needs the generated bindings, so tests/shells compile it only when target/bindings exists.
package app.airlock.capacitor.logic

import uniffi.airlock.AgentEvent
import uniffi.airlock.BundleInfo
import uniffi.airlock.BundleStatus
import uniffi.airlock.ChannelEntry
import uniffi.airlock.ChannelInfo
import uniffi.airlock.CurrentBundle
import uniffi.airlock.DelayCondition
import uniffi.airlock.DelayKind
import uniffi.airlock.DeviceFacts
import uniffi.airlock.DownloadRequest
import uniffi.airlock.LatestVersion
import uniffi.airlock.ReadyResult
import uniffi.airlock.UpdateException

/**
 * JSON shapes of the agent's results and events, with Capgo's names (DESIGN §8): what the shell resolves JS
 * calls with and what it emits to listeners. Optional fields are left out when absent, as Capgo does.
 */
object Shapes {
    /** The bundle id of the app's own bundle. */
    const val BUILTIN_ID = "builtin"

    fun status(s: BundleStatus): String = when (s) {
        BundleStatus.DOWNLOADING -> "downloading"
        BundleStatus.PENDING -> "pending"
        BundleStatus.SUCCESS -> "success"
        BundleStatus.ERROR -> "error"
        BundleStatus.DELETED -> "deleted"
    }

    /** Capgo's `BundleInfo`: `{id, version, downloaded, checksum, status, link?, comment?}`. */
    fun bundle(b: BundleInfo): Map<String, Any?> = linkedMapOf<String, Any?>(
        "id" to b.id,
        "version" to b.version,
        "downloaded" to b.downloaded,
        "checksum" to b.checksum,
        "status" to status(b.status),
    ).also { m ->
        b.link?.let { m["link"] = it }
        b.comment?.let { m["comment"] = it }
    }

    /** `{bundle}`: `notifyAppReady()` and `getFailedUpdate()`. */
    fun wrapped(b: BundleInfo): Map<String, Any?> = linkedMapOf("bundle" to bundle(b))

    /** `notifyAppReady()`: the blessed bundle, or the current one when the token was stale (never rejects). */
    fun ready(r: ReadyResult): Map<String, Any?> = when (r) {
        is ReadyResult.Blessed -> wrapped(r.bundle)
        is ReadyResult.Ignored -> wrapped(r.current)
    }

    /** `current()`: `{bundle, native}`. */
    fun current(c: CurrentBundle): Map<String, Any?> = linkedMapOf("bundle" to bundle(c.bundle), "native" to c.native)

    /** `list()`: `{bundles}`. */
    fun list(bundles: List<BundleInfo>): Map<String, Any?> = linkedMapOf("bundles" to bundles.map(::bundle))

    /** Capgo's `LatestVersion`; `major` repeats `breaking` (Capgo's deprecated name). */
    fun latest(l: LatestVersion): Map<String, Any?> = linkedMapOf<String, Any?>("version" to l.version).also { m ->
        l.checksum?.let { m["checksum"] = it }
        l.url?.let { m["url"] = it }
        l.kind?.let { m["kind"] = it }
        l.message?.let { m["message"] = it }
        l.error?.let { m["error"] = it }
        l.breaking?.let { m["breaking"] = it; m["major"] = it }
        l.link?.let { m["link"] = it }
        l.comment?.let { m["comment"] = it }
    }

    /** `getChannel()` / `setChannel()`: `{channel, status, allowSet}`. */
    fun channel(c: ChannelInfo): Map<String, Any?> =
        linkedMapOf("channel" to c.channel, "status" to c.status, "allowSet" to c.allowSet)

    /** `listChannels()`: `{channels: [{id, name, public, allow_self_set}]}` (Capgo's snake_case field). */
    fun channels(list: List<ChannelEntry>): Map<String, Any?> = linkedMapOf(
        "channels" to list.map {
            linkedMapOf("id" to it.id, "name" to it.name, "public" to it.public, "allow_self_set" to it.allowSelfSet)
        },
    )

    /** The JS events for one agent event (`breakingAvailable` also goes out as Capgo's `majorAvailable`). */
    fun events(e: AgentEvent): List<Emit> = when (e) {
        is AgentEvent.Download ->
            listOf(Emit("download", linkedMapOf("percent" to e.percent.toLong(), "bundle" to bundle(e.bundle))))
        is AgentEvent.DownloadComplete -> listOf(Emit("downloadComplete", wrapped(e.bundle)))
        is AgentEvent.DownloadFailed ->
            listOf(Emit("downloadFailed", linkedMapOf("version" to e.version, "reason" to e.reason)))
        is AgentEvent.UpdateAvailable -> listOf(Emit("updateAvailable", wrapped(e.bundle)))
        is AgentEvent.Set -> listOf(Emit("set", wrapped(e.bundle)))
        is AgentEvent.SetNext -> listOf(Emit("setNext", wrapped(e.bundle)))
        is AgentEvent.UpdateFailed -> listOf(Emit("updateFailed", wrapped(e.bundle)))
        is AgentEvent.AppReady ->
            listOf(Emit("appReady", linkedMapOf("bundle" to bundle(e.bundle), "status" to e.status)))
        is AgentEvent.NoNeedUpdate -> listOf(Emit("noNeedUpdate", wrapped(e.bundle)))
        is AgentEvent.UpdateCheckResult -> {
            val m = linkedMapOf<String, Any?>("kind" to e.kind)
            e.message?.let { m["message"] = it }
            e.version?.let { m["version"] = it }
            m["bundle"] = bundle(e.bundle)
            listOf(Emit("updateCheckResult", m))
        }
        is AgentEvent.BreakingAvailable -> {
            val m = linkedMapOf<String, Any?>("version" to e.version)
            listOf(Emit("breakingAvailable", m), Emit("majorAvailable", m))
        }
        is AgentEvent.ChannelPrivate ->
            listOf(Emit("channelPrivate", linkedMapOf("channel" to e.channel, "message" to e.message)))
    }

    /** The agent's `DeviceFacts` from what the shell read. */
    fun device(f: PlatformFacts): DeviceFacts = DeviceFacts(
        platform = f.platform,
        appId = f.appId,
        nativeVersion = f.nativeVersion,
        nativeBuild = f.nativeBuild,
        osVersion = f.osVersion,
        builtinDir = f.builtinDir,
        dataDir = f.dataDir,
        isEmulator = f.isEmulator,
        isProd = f.isProd,
        utcOffsetMinutes = f.utcOffsetMinutes,
    )

    fun downloadRequest(a: DownloadArgs): DownloadRequest = DownloadRequest(
        url = a.url,
        version = a.version,
        checksum = a.checksum,
        sessionKey = a.sessionKey,
        manifestUrl = a.manifestUrl,
    )

    fun delayConditions(list: List<DelayArgs>): List<DelayCondition> = list.map {
        val kind = when (it.kind) {
            "background" -> DelayKind.BACKGROUND
            "kill" -> DelayKind.KILL
            "date" -> DelayKind.DATE
            else -> DelayKind.NATIVE_VERSION
        }
        DelayCondition(kind = kind, value = it.value)
    }

    /** How a failed agent call rejects its JS call. */
    fun failure(e: Throwable): Failure = when (e) {
        is UpdateException.Network -> Failure(FailureKind.NETWORK, e.reason)
        is UpdateException.DiskFull -> Failure(FailureKind.DISK_FULL, e.reason)
        is UpdateException.Storage -> Failure(FailureKind.STORAGE, e.reason)
        is UpdateException.Rejected -> Failure(FailureKind.REJECTED, e.reason, rejectionCode = e.code)
        is UpdateException.InvalidRequest -> Failure(FailureKind.INVALID_REQUEST, e.reason)
        is UpdateException.Config -> Failure(FailureKind.CONFIG, e.reason)
        is UpdateException.Cancelled -> Failure(FailureKind.CANCELLED, "cancelled")
        is CallArgsException -> Failure.invalid(e)
        is ShellConfigException -> Failure(FailureKind.CONFIG, e.message ?: "invalid configuration")
        else -> Failure.unexpected(e)
    }
}
