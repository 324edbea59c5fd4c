package app.airlock.capacitor

import android.content.Context
import android.content.pm.ApplicationInfo
import android.content.pm.PackageInfo
import android.content.pm.PackageManager
import android.os.Build
import android.util.Log
import androidx.core.content.pm.PackageInfoCompat
import app.airlock.capacitor.logic.Failure
import app.airlock.capacitor.logic.FailureKind
import app.airlock.capacitor.logic.PlatformFacts
import app.airlock.capacitor.logic.Shapes
import app.airlock.capacitor.logic.ShellConfig
import java.util.TimeZone
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import uniffi.airlock.Agent
import uniffi.airlock.AgentEvent
import uniffi.airlock.EventListener

internal const val TAG = "Airlock"

/**
 * The agent of this app process (DESIGN §1: one per process) and the two single-thread executors every agent
 * call runs on. Shared by every bridge the process creates, so an Activity re-created while the process lives
 * gets the same agent and its next `launch()` is not mistaken for a cold start.
 *
 * Threads: nothing here runs on the main thread or on Capacitor's shared "CapacitorPlugins" thread.
 * - [state] ("airlock-state"): short calls that touch only local disk (launch, ready, set, list, delay, …), in
 *   call order. It never waits behind the network, so `notifyAppReady()` is never delayed by a download.
 * - [network] ("airlock-net"): calls that may use the network (download, checks, channels, stats), one at a
 *   time, each with a [uniffi.airlock.CancelToken] the plugin cancels when it is destroyed.
 */
internal object AgentHost {
    val state: ExecutorService = Executors.newSingleThreadExecutor { r -> Thread(r, "airlock-state") }
    val network: ExecutorService = Executors.newSingleThreadExecutor { r -> Thread(r, "airlock-net") }

    /** Forwards agent events (delivered on the agent's working thread) to the current plugin instance. */
    val events = ForwardingListener()

    /** The outcome of starting the agent: an agent and its config, or why there is none. */
    class Started(val agent: Agent?, val config: ShellConfig?, val failure: Failure?)

    @Volatile
    private var started: Started? = null

    /**
     * Creates the agent once per process. Runs on [state]: reading the package info is an IPC call and opening
     * the agent touches disk (database, crash sweep). A failure is kept: the app then runs its builtin bundle and
     * every call rejects with the reason.
     */
    fun start(context: Context, pluginConfigJson: String?, serverUrl: String?): Started {
        started?.let { return it }
        val result = try {
            val config = ShellConfig.from(pluginConfigJson, serverUrl, collectFacts(context))
            config.warnings.forEach { Log.w(TAG, it) }
            Started(Agent(config.agentConfigJson, Shapes.device(config.device), events), config, null)
        } catch (e: Exception) {
            Started(null, null, Shapes.failure(e))
        } catch (e: LinkageError) {
            val f = Failure(FailureKind.NOT_STARTED, "the Airlock native library could not be loaded: ${e.message}")
            Started(null, null, f)
        }
        result.failure?.let { Log.e(TAG, "Airlock did not start (${it.code}): ${it.message}; serving the builtin bundle") }
        started = result
        return result
    }

    /** Facts about the app and device (DESIGN §9 `device`). */
    private fun collectFacts(context: Context): PlatformFacts {
        val info = packageInfo(context)
        val debuggable = (context.applicationInfo.flags and ApplicationInfo.FLAG_DEBUGGABLE) != 0
        return PlatformFacts(
            platform = "android",
            appId = context.packageName,
            nativeVersion = info.versionName ?: "0",
            nativeBuild = PackageInfoCompat.getLongVersionCode(info).toString(),
            osVersion = Build.VERSION.RELEASE ?: "",
            builtinDir = PlatformFacts.ANDROID_BUILTIN_DIR,
            dataDir = context.noBackupFilesDir.absolutePath,
            isEmulator = isEmulator(),
            isProd = !debuggable,
            utcOffsetMinutes = TimeZone.getDefault().getOffset(System.currentTimeMillis()) / 60_000,
        )
    }

    private fun packageInfo(context: Context): PackageInfo {
        val pm = context.packageManager
        return if (Build.VERSION.SDK_INT >= 33) {
            pm.getPackageInfo(context.packageName, PackageManager.PackageInfoFlags.of(0))
        } else {
            @Suppress("DEPRECATION")
            pm.getPackageInfo(context.packageName, 0)
        }
    }

    private fun isEmulator(): Boolean =
        Build.FINGERPRINT.startsWith("generic") || Build.FINGERPRINT.contains("emulator") ||
            Build.HARDWARE == "goldfish" || Build.HARDWARE == "ranchu" || Build.PRODUCT.contains("sdk")
}

/** The agent's event sink: hands each event to whichever plugin instance is attached. */
internal class ForwardingListener : EventListener {
    @Volatile
    var target: ((AgentEvent) -> Unit)? = null

    override fun onEvent(event: AgentEvent) {
        target?.invoke(event)
    }
}
