import Foundation
#if canImport(FoundationNetworking)
@_exported import FoundationNetworking  // URLRequest lives here on Linux; WebKit users see it as on Darwin
#endif

public enum WKUserScriptInjectionTime { case atDocumentStart, atDocumentEnd }

open class WKUserScript {
    public let source: String
    public init(source: String, injectionTime: WKUserScriptInjectionTime, forMainFrameOnly: Bool) { self.source = source }
}

open class WKUserContentController {
    open var userScripts: [WKUserScript] { [] }
    open func addUserScript(_ userScript: WKUserScript) {}
    open func removeAllUserScripts() {}
}

open class WKWebViewConfiguration {
    open var userContentController = WKUserContentController()
}

open class WKNavigation {}

open class WKWebView {
    open var url: URL? { nil }
    open var configuration: WKWebViewConfiguration { WKWebViewConfiguration() }
    @discardableResult open func load(_ request: URLRequest) -> WKNavigation? { nil }
}
