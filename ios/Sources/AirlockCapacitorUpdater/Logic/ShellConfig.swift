// Plain Swift (Foundation only, no Capacitor or UIKit): compiled and run on Linux by tests/shells/swift.
import Foundation

/// Facts about the app and device, as the shell reads them from the OS. They become the agent's `DeviceFacts`
/// (DESIGN §9 `device`).
public struct PlatformFacts: Sendable, Equatable {
    public var platform: String
    public var appId: String
    public var nativeVersion: String
    public var nativeBuild: String
    public var osVersion: String
    /// Directory of the bundle shipped in the app (`App.app/public` on iOS).
    public var builtinDir: String
    /// The private, no-backup app directory; the agent keeps everything under `<dataDir>/airlock/`.
    public var dataDir: String
    public var isEmulator: Bool
    public var isProd: Bool
    public var utcOffsetMinutes: Int32

    public init(
        platform: String, appId: String, nativeVersion: String, nativeBuild: String, osVersion: String,
        builtinDir: String, dataDir: String, isEmulator: Bool, isProd: Bool, utcOffsetMinutes: Int32
    ) {
        self.platform = platform
        self.appId = appId
        self.nativeVersion = nativeVersion
        self.nativeBuild = nativeBuild
        self.osVersion = osVersion
        self.builtinDir = builtinDir
        self.dataDir = dataDir
        self.isEmulator = isEmulator
        self.isProd = isProd
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    /// The `device` object of DESIGN §9 (camelCase keys), as the CLI's device simulator reads it.
    public var json: JSONValue {
        .object([
            "platform": .string(platform),
            "appId": .string(appId),
            "nativeVersion": .string(nativeVersion),
            "nativeBuild": .string(nativeBuild),
            "osVersion": .string(osVersion),
            "builtinDir": .string(builtinDir),
            "dataDir": .string(dataDir),
            "isEmulator": .bool(isEmulator),
            "isProd": .bool(isProd),
            "utcOffsetMinutes": .int(Int64(utcOffsetMinutes)),
        ])
    }
}

/// A configuration the shell cannot start with; the message names the key.
public struct ShellConfigError: Error, Equatable, CustomStringConvertible {
    public let description: String
}

/// What the shell derives from `plugins.CapacitorUpdater` before it creates the agent. The agent itself parses
/// and validates every key (DESIGN §9): the shell passes the object through unchanged except for the one rule
/// that only the shell can know, and reads the few values it needs for its own timers.
public struct ShellConfig: Sendable {
    /// The JSON text given to `Agent(pluginConfigJson:…)`.
    public let agentConfigJson: String
    /// The plugin config as parsed (after the shell's rule).
    public let plugin: [String: JSONValue]
    public let device: PlatformFacts
    /// Findings to log at start-up.
    public let warnings: [String]

    /// Seconds between the shell's chances for a periodic check; the agent decides whether one is due.
    public static let periodicTickSeconds: Double = 60

    /// - Parameters:
    ///   - pluginConfigJson: `plugins.CapacitorUpdater` as JSON text (nil or blank: no config).
    ///   - serverUrl: Capacitor's `server.url` (live reload): when set, automatic updates are turned off, as
    ///     Capgo does, because the WebView does not load local bundles then.
    public init(pluginConfigJson: String?, serverUrl: String?, device: PlatformFacts) throws {
        var plugin: [String: JSONValue]
        do {
            plugin = try JSONValue.parseObject(pluginConfigJson)
        } catch {
            throw ShellConfigError(description: "plugins.CapacitorUpdater is not a JSON object: \(error)")
        }
        var warnings: [String] = []
        if let serverUrl, !serverUrl.isEmpty {
            if !ShellConfig.isOff(plugin["autoUpdate"]) {
                warnings.append(
                    "server.url is set (\(serverUrl)): automatic updates are off while the app loads a dev server")
            }
            plugin["autoUpdate"] = .bool(false)
            plugin["directUpdate"] = nil
        }
        self.agentConfigJson = JSONValue.object(plugin).encoded
        self.plugin = plugin
        self.device = device
        self.warnings = warnings
    }

    /// Whether the shell gives the agent a chance for a periodic check every [periodicTickSeconds] in the
    /// foreground: only when `periodCheckDelay` is positive.
    public var periodicChecks: Bool {
        switch plugin["periodCheckDelay"] {
        case .int(let n): return n > 0
        case .double(let d): return d > 0
        default: return false
        }
    }

    /// `trustedKeys` is set: the agent installs only signed releases, so a `download({url})` without a manifest
    /// URL takes `url` as the signed release manifest (what `getLatest()` returns in `url`).
    public var signedOnly: Bool {
        if case .array(let keys) = plugin["trustedKeys"] { return !keys.isEmpty }
        return false
    }

    private static func isOff(_ v: JSONValue?) -> Bool {
        v == .bool(false) || v == .string("off") || v == .string("false")
    }
}
