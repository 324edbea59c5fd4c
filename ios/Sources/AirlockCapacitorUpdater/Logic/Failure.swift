// Plain Swift (Foundation only, no Capacitor or UIKit): compiled and run on Linux by tests/shells/swift.

/// The error kinds of the agent (`UpdateError`), plus the shell's own, each named for the caller's next step.
public enum FailureKind: String, Sendable {
    /// Retry later; nothing changed.
    case network = "network_error"
    /// Free space and retry; the current bundle is untouched.
    case diskFull = "disk_full"
    /// Local storage or database trouble: retry later.
    case storage = "storage_error"
    /// The bundle or metadata was refused; the JS `code` is the agent's stable rejection code instead.
    case rejected = "rejected"
    /// The call was wrong (unknown id, bundle in use, bad option).
    case invalidRequest = "invalid_request"
    /// The configuration is wrong; the message names the key.
    case config = "invalid_config"
    /// Cancelled (the plugin is going away).
    case cancelled = "cancelled"
    /// The agent could not start; every call fails with the reason until the app restarts.
    case notStarted = "not_started"
    /// A bug: an unexpected error in the shell or the library.
    case internalError = "internal_error"
}

/// A rejected JS call: `call.reject(message, code, nil, data)`. `code` is the kind's code, or for a rejected
/// bundle the agent's stable rejection code (`bad_signature`, `checksum_mismatch`, …); `data` repeats the kind
/// and reason for programmatic use.
public struct Failure: Sendable, Equatable {
    public let kind: FailureKind
    public let message: String
    public let rejectionCode: String?

    public init(_ kind: FailureKind, _ message: String, rejectionCode: String? = nil) {
        self.kind = kind
        self.message = message
        self.rejectionCode = rejectionCode
    }

    public var code: String { rejectionCode ?? kind.rawValue }

    public var data: JSONValue {
        .object(["kind": .string(kind.rawValue), "code": .string(code), "reason": .string(message)])
    }

    /// An error the shell did not expect: reported as internal with its type.
    public static func unexpected(_ e: any Error) -> Failure {
        Failure(.internalError, "\(type(of: e)): \(e)")
    }
}
