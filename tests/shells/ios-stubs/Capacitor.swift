import Foundation
import WebKit

public typealias JSObject = [String: any JSValue]
public protocol JSValue {}
extension String: JSValue {}
extension Bool: JSValue {}
extension Int: JSValue {}
extension Double: JSValue {}

public let CAPPluginReturnPromise = "promise"

open class CAPPluginMethod {
    public init(name: String, returnType: String) {}
}

open class InstanceConfiguration {
    public let serverURL = URL(fileURLWithPath: "/")
    public let localURL = URL(fileURLWithPath: "/")
}

public protocol CAPBridgeProtocol: AnyObject {
    var webView: WKWebView? { get }
    var config: InstanceConfiguration { get }
    func setServerBasePath(_ path: String)
}

public protocol CAPBridgedPlugin: AnyObject {
    var identifier: String { get }
    var jsName: String { get }
    var pluginMethods: [CAPPluginMethod] { get }
}

open class PluginConfig {
    public func getConfigJSON() -> JSObject { [:] }
}

open class CAPPluginCall {
    public var options: [AnyHashable: Any]! = [:]
    public var methodName: String = ""
    public func resolve(_ data: [String: Any] = [:]) {}
    public func reject(_ message: String, _ code: String? = nil, _ error: Error? = nil, _ data: [String: Any]? = nil) {}
    public func unimplemented(_ message: String = "not implemented") {}
}

open class CAPPlugin {
    public weak var bridge: CAPBridgeProtocol?
    public init() {}
    open func load() {}
    public func getConfig() -> PluginConfig { PluginConfig() }
    public func notifyListeners(_ eventName: String, data: [String: Any]?, retainUntilConsumed: Bool) {}
}
