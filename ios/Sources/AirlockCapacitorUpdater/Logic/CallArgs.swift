// Plain Swift (Foundation only, no Capacitor or UIKit): compiled and run on Linux by tests/shells/swift.

/// A JS call's options were wrong; the message names the option and says what it must be.
public struct CallArgsError: Error, Equatable, CustomStringConvertible {
    public let description: String
}

/// `download()` options, mapped to the agent's `DownloadRequest` fields.
public struct DownloadArgs: Sendable, Equatable {
    public var url: String?
    public var version: String?
    public var checksum: String?
    public var sessionKey: String?
    public var manifestUrl: String?
}

/// One `setMultiDelay` condition: `kind` is Capgo's name (`background`, `kill`, `date`, `nativeVersion`).
public struct DelayArgs: Sendable, Equatable {
    public var kind: String
    public var value: String?
}

/// Reads a JS call's options with Capgo's option names and defaults. Every reader fails with a
/// [CallArgsError] naming the option, which the shell rejects with code `invalid_request`.
public struct CallArgs: Sendable {
    public static let delayKinds = ["background", "kill", "date", "nativeVersion"]

    private let data: [String: JSONValue]

    public init(_ data: [String: JSONValue]) { self.data = data }

    /// Capacitor's `call.options`.
    public init(foundation options: [AnyHashable: Any]?) {
        if case .object(let o) = JSONValue.from(foundation: options ?? [:]) { data = o } else { data = [:] }
    }

    /// The `id` of `next`, `set`, `delete`.
    public func id() throws -> String { try requiredString("id") }

    /// `download({url, version, checksum?, sessionKey?, manifestUrl?})`. Capgo's per-file `manifest` list is
    /// accepted and ignored; a string `manifest` is the manifest URL. With `signedOnly` and no manifest URL, `url`
    /// is the signed release manifest.
    public func download(signedOnly: Bool) throws -> DownloadArgs {
        var url = try optionalString("url")
        var manifestUrl = try optionalString("manifestUrl")
        switch data["manifest"] {
        case nil, .null?: break
        case .string(let m)?: if manifestUrl == nil { manifestUrl = m }
        case .array?: break  // Capgo's per-file list (what its getLatest() returns): accepted and not used.
        default: throw CallArgsError(description: "download: manifest must be a URL string (or Capgo's per-file list, which is ignored)")
        }
        if signedOnly, manifestUrl == nil, url != nil {
            manifestUrl = url
            url = nil
        }
        if url == nil, manifestUrl == nil {
            throw CallArgsError(description:
                "download: url is required (the bundle zip, or the signed release manifest)")
        }
        return DownloadArgs(
            url: url,
            version: try optionalString("version"),
            checksum: try optionalString("checksum").flatMap { $0.isEmpty ? nil : $0 },
            sessionKey: try optionalString("sessionKey").flatMap { $0.isEmpty ? nil : $0 },
            manifestUrl: manifestUrl)
    }

    /// `setMultiDelay({delayConditions: [{kind, value?}]})`; an empty list clears them.
    public func delayConditions() throws -> [DelayArgs] {
        guard case .array(let list)? = data["delayConditions"] else {
            throw CallArgsError(description: "setMultiDelay: delayConditions must be a list of {kind, value?}")
        }
        return try list.enumerated().map { i, item in
            guard case .object(let obj) = item else {
                throw CallArgsError(description: "setMultiDelay: delayConditions[\(i)] must be an object {kind, value?}")
            }
            guard let kind = obj["kind"]?.stringValue, CallArgs.delayKinds.contains(kind) else {
                throw CallArgsError(description:
                    "setMultiDelay: delayConditions[\(i)].kind must be one of \(CallArgs.delayKinds.joined(separator: ", "))")
            }
            let value: String?
            switch obj["value"] {
            case nil, .null?: value = nil
            case .string(let s)?: value = s
            case .int?, .double?, .bool?: value = obj["value"]?.encoded
            default: throw CallArgsError(description: "setMultiDelay: delayConditions[\(i)].value must be a string")
            }
            return DelayArgs(kind: kind, value: value)
        }
    }

    /// `reset({toLastSuccessful?, usePendingBundle?})`, both false by default.
    public func reset() throws -> (toLastSuccessful: Bool, usePendingBundle: Bool) {
        (try bool("toLastSuccessful"), try bool("usePendingBundle"))
    }

    /// `setChannel({channel, triggerAutoUpdate?})` (channel required) or `unsetChannel({triggerAutoUpdate?})`.
    public func channel(required: Bool) throws -> (channel: String?, triggerAutoUpdate: Bool) {
        let channel = required ? try requiredString("channel") : try optionalString("channel")
        return (channel, try bool("triggerAutoUpdate"))
    }

    /// `getLatest({channel?})`.
    public func latestChannel() throws -> String? {
        try optionalString("channel").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `setCustomId({customId})`; `""` clears it.
    public func customId() throws -> String { try requiredString("customId") }

    /// `setAttributes({attributes})`: string values; numbers and booleans are written as JSON text.
    public func attributes() throws -> [String: String] {
        guard case .object(let obj)? = data["attributes"] else {
            throw CallArgsError(description: "setAttributes: attributes must be an object of strings")
        }
        var out: [String: String] = [:]
        for (k, v) in obj {
            switch v {
            case .string(let s): out[k] = s
            case .int, .double, .bool: out[k] = v.encoded
            default: throw CallArgsError(description: "setAttributes: attributes.\(k) must be a string")
            }
        }
        return out
    }

    /// The ready token `notifyAppReady()` sends back (injected into the page as `window.__airlock.token`).
    public func token() -> String? {
        guard let t = data["token"]?.stringValue, !t.isEmpty else { return nil }
        return t
    }

    private func optionalString(_ key: String) throws -> String? {
        switch data[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw CallArgsError(description: "\(key) must be a string")
        }
    }

    private func requiredString(_ key: String) throws -> String {
        guard let s = try optionalString(key) else { throw CallArgsError(description: "\(key) is required") }
        return s
    }

    private func bool(_ key: String) throws -> Bool {
        switch data[key] {
        case nil, .null?: return false
        case .bool(let b)?: return b
        default: throw CallArgsError(description: "\(key) must be a boolean")
        }
    }
}
