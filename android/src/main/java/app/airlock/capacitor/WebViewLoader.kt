package app.airlock.capacitor

import android.app.Activity
import android.os.Handler
import android.os.Looper
import android.util.Log
import android.webkit.JavascriptInterface
import android.webkit.WebResourceRequest
import android.webkit.WebResourceResponse
import android.webkit.WebView
import androidx.webkit.WebViewCompat
import androidx.webkit.WebViewFeature
import app.airlock.capacitor.logic.ReadyScript
import app.airlock.capacitor.logic.Shapes
import com.getcapacitor.Bridge
import com.getcapacitor.BridgeWebViewClient
import com.getcapacitor.WebViewListener
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import uniffi.airlock.Launch

/**
 * Points Capacitor's WebView at what the agent's `Launch` says and gives each page its ready token.
 *
 * First load. Capacitor registers plugins (our `load()`) and then immediately loads its start URL on the main
 * thread, before the agent (opened on the state executor) can say which bundle to serve. Rather than block the
 * main thread on disk work, the first request waits: [GatedClient] (Capacitor's own client, extended) holds
 * `shouldInterceptRequest` — which the WebView calls on its own I/O thread, never the UI thread — until the
 * cold-start `launch()` is known (at most [GATE_TIMEOUT_MS]), then points the local server at it. No page of
 * the wrong bundle ever runs, and nothing blocks the UI thread.
 *
 * Later loads (`set`, `reload`, rollback, an update applied at background): the local server is re-pointed and
 * the WebView reloaded with `bridge.setServerBasePath(path)`, or `bridge.setServerAssetPath("public")` for the
 * builtin bundle (it lives in the APK's assets), posted to the main thread.
 *
 * Ready token. A document-start script (androidx.webkit `addDocumentStartJavaScript`, registered once) runs
 * before any script of every new document and reads the token of the load the shell started last through the
 * `AirlockShell` JavaScript interface, into `window.__airlock`. Chosen over `evaluateJavascript` at
 * `onPageStarted`, which may run after the page's own scripts or in the old document: a page reads its token at
 * its own start, so a page still alive after a reload keeps its old token and can never bless the new load
 * (Capgo issue #907). Where the WebView lacks document-start scripts (older than Chromium 83) the shell falls
 * back to `evaluateJavascript` at `onPageStarted`, best effort; a page without a token is credited to the
 * latest load (see `ReadyWatch.tokenFor`).
 */
internal class WebViewLoader(private val bridge: Bridge, private val onLoadStarted: (String) -> Unit) {
    private val main = Handler(Looper.getMainLooper())
    private val gate = CountDownLatch(1)

    /** Token of the load the shell started last; read by the page at document start. */
    @Volatile
    private var currentToken: String? = null

    // Guarded by `this`: the cold-start launch, and whether the first request has applied it.
    private var initial: Launch? = null
    private var initialApplied = false

    /** Main thread, from the plugin's `load()`: before Capacitor's first `loadUrl`. No disk or network work. */
    fun install() {
        val webView = bridge.webView
        webView.addJavascriptInterface(TokenInterface(), ReadyScript.ANDROID_INTERFACE)
        if (WebViewFeature.isFeatureSupported(WebViewFeature.DOCUMENT_START_SCRIPT)) {
            val origin = "${bridge.scheme}://${bridge.host}"
            WebViewCompat.addDocumentStartJavaScript(webView, ReadyScript.androidDocumentStart, setOf(origin))
        } else {
            Log.w(TAG, "this WebView has no document-start scripts; the ready token is set at page start")
            bridge.addWebViewListener(object : WebViewListener() {
                override fun onPageStarted(webView: WebView) {
                    currentToken?.let { webView.evaluateJavascript(ReadyScript.literal(it), null) }
                }
            })
        }
        bridge.webViewClient = GatedClient()
        // Capacitor restores a directory persisted by its WebView plugin (and Capgo) right after this; the agent
        // decides what to serve, so drop it. SharedPreferences: the same read Capacitor does on this thread next;
        // apply() writes in the background.
        bridge.activity.getSharedPreferences(PREFS, Activity.MODE_PRIVATE).edit().remove(PREFS_SERVER_PATH).apply()
    }

    /**
     * State executor, once the cold-start `launch()` is known (`null`: the agent did not start; serve builtin).
     * Lets the first request through; if the gate already timed out and the WebView loaded without us, loads
     * the launch like any other.
     */
    fun openGate(launch: Launch?) {
        val late = synchronized(this) {
            if (!initialApplied) {
                initial = launch
                launch?.let { currentToken = it.token; onLoadStarted(it.token) }
                false
            } else {
                true
            }
        }
        gate.countDown()
        if (late && launch != null) load(launch)
    }

    /** Any thread: point the WebView at [launch] and reload it (the main thread does the pointing). */
    fun load(launch: Launch) {
        currentToken = launch.token
        onLoadStarted(launch.token)
        main.post {
            if (launch.bundle.id == Shapes.BUILTIN_ID) {
                bridge.setServerAssetPath(ASSETS)
            } else {
                bridge.setServerBasePath(launch.path)
            }
        }
    }

    /** The WebView's I/O thread: the first request of the process applies the cold-start launch. */
    private fun awaitInitial() {
        if (gate.count > 0 && !gate.await(GATE_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            Log.w(TAG, "the agent did not answer in $GATE_TIMEOUT_MS ms; loading without waiting")
        }
        synchronized(this) {
            if (initialApplied) return
            initialApplied = true
            val launch = initial ?: return
            val server = bridge.localServer ?: return
            if (launch.bundle.id == Shapes.BUILTIN_ID) server.hostAssets(ASSETS) else server.hostFiles(launch.path)
        }
    }

    /** Capacitor's client, holding requests until the cold-start launch is applied. */
    private inner class GatedClient : BridgeWebViewClient(bridge) {
        override fun shouldInterceptRequest(view: WebView, request: WebResourceRequest): WebResourceResponse? {
            awaitInitial()
            return super.shouldInterceptRequest(view, request)
        }
    }

    /** Read by the document-start script on the WebView's JavaBridge thread. */
    inner class TokenInterface {
        @JavascriptInterface
        fun readyToken(): String = currentToken ?: ""
    }

    companion object {
        /** Capacitor's asset folder of the builtin bundle. */
        const val ASSETS = "public"

        /** The longest the first request waits for the agent before loading whatever Capacitor points at. */
        const val GATE_TIMEOUT_MS = 10_000L

        /** Capacitor's WebView plugin store of a persisted server path (`com.getcapacitor.plugin.WebView`). */
        const val PREFS = "CapWebViewSettings"
        const val PREFS_SERVER_PATH = "serverBasePath"
    }
}
