import Foundation
import Capacitor
import WebKit

/// Points Capacitor's WebView at what the agent's `Launch` says and gives each page its ready token.
///
/// First load. Capacitor loads the plugin (`load()`, main queue) and then, in `viewDidLoad`, its start URL,
/// before the agent (opened on the state queue) can say which bundle to serve. Capacitor's scheme handler runs
/// on the main queue, so the request cannot wait without blocking the UI. Instead `load()` points the WebView at
/// a blank holding page (written on the state queue on first start, next to the agent's data) and the launch
/// replaces it as soon as it is known: no page of the wrong bundle ever runs. On the very first start after
/// install there is no holding page yet, and nothing but the builtin bundle can be served anyway; that first
/// page has no token and is credited to the launch (`ReadyWatch.token(for:)`).
///
/// Every load: the ready token is a `WKUserScript` injected at document start (`window.__airlock = {token}`),
/// replaced before each load (ours are found by `ReadyScript.marker`; Capacitor's own scripts are kept in
/// order). A page keeps the token it got at its start, so a page still alive after a reload can never bless the
/// new load (Capgo issue #907). Then `bridge.setServerBasePath(path)` re-points Capacitor's asset handler and the
/// WebView loads Capacitor's server URL. All of it on the main queue; the only disk access is an existence
/// check (one `stat`) of the holding page at start-up and Capacitor's own of the directory it is pointed at.
final class WebViewLoader {
    private weak var bridge: CAPBridgeProtocol?
    private let onLoadStarted: (String) -> Void

    init(bridge: CAPBridgeProtocol?, onLoadStarted: @escaping (String) -> Void) {
        self.bridge = bridge
        self.onLoadStarted = onLoadStarted
    }

    /// Whether `install()` put the holding page up (main queue only).
    private var holdingShown = false

    /// Main queue, from `load()`: show the holding page (if it exists) until the cold-start launch is known.
    /// Without one, point at the app's own bundle, never at a directory Capacitor restored from its preferences
    /// (an earlier updater, such as Capgo, persists its last bundle there).
    func install() {
        if let holding = AgentHost.holdingDir(),
           FileManager.default.fileExists(atPath: holding.appendingPathComponent("index.html").path) {
            bridge?.setServerBasePath(holding.path)
            holdingShown = true
        } else if let builtin = Bundle.main.url(forResource: "public", withExtension: nil) {
            bridge?.setServerBasePath(builtin.path)
        }
    }

    /// State queue: the agent did not start or could not launch; serve the app's own bundle (no token).
    func builtinWithoutAgent() {
        DispatchQueue.main.async { [weak self] in
            guard let self, let bridge = self.bridge,
                  let builtin = Bundle.main.url(forResource: "public", withExtension: nil) else { return }
            bridge.setServerBasePath(builtin.path)
            if self.holdingShown, let webView = bridge.webView, webView.url != nil {
                webView.load(URLRequest(url: bridge.config.serverURL))
            }
        }
    }

    /// State queue: the cold-start launch. Without a holding page (first start) the builtin bundle is already
    /// loading; when that is also what the agent chose, it is not loaded a second time.
    func initial(_ launch: Launch) {
        onLoadStarted(launch.token)
        DispatchQueue.main.async { [weak self] in
            guard let self else { return }
            let alreadyLoading = !self.holdingShown && launch.bundle.id == Shapes.builtinId
            self.show(launch, reload: !alreadyLoading)
        }
    }

    /// Any queue: point the WebView at `launch` and load it (on the main queue).
    func load(_ launch: Launch) {
        onLoadStarted(launch.token)
        DispatchQueue.main.async { [weak self] in self?.show(launch, reload: true) }
    }

    private func show(_ launch: Launch, reload: Bool) {
        guard let bridge else { return }
        if let controller = bridge.webView?.configuration.userContentController {
            let kept = controller.userScripts.filter { !ReadyScript.isOurs($0.source) }
            controller.removeAllUserScripts()
            kept.forEach(controller.addUserScript)
            controller.addUserScript(WKUserScript(
                source: ReadyScript.literal(token: launch.token), injectionTime: .atDocumentStart,
                forMainFrameOnly: true))
        }
        bridge.setServerBasePath(launch.path)
        // Before Capacitor's own first load (webView.url is still nil) that load picks up the new path itself.
        if reload, let webView = bridge.webView, webView.url != nil {
            webView.load(URLRequest(url: bridge.config.serverURL))
        }
    }
}
