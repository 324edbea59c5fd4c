// Plain Kotlin (no android.* or Capacitor imports): runs on the desktop JVM in tests/shells/kotlin.
package app.airlock.capacitor.logic

/** The error kinds of the agent (`UpdateError`), plus the shell's own, each named for the caller's next step. */
enum class FailureKind(val code: String) {
    /** Retry later; nothing changed. */
    NETWORK("network_error"),

    /** Free space and retry; the current bundle is untouched. */
    DISK_FULL("disk_full"),

    /** Local storage or database trouble: retry later. */
    STORAGE("storage_error"),

    /** The bundle or metadata was refused; the JS `code` is the agent's stable rejection code instead. */
    REJECTED("rejected"),

    /** The call was wrong (unknown id, bundle in use, bad option). */
    INVALID_REQUEST("invalid_request"),

    /** The configuration is wrong; the message names the key. */
    CONFIG("invalid_config"),

    /** Cancelled (the plugin is being destroyed). */
    CANCELLED("cancelled"),

    /** The agent could not start; every call fails with the reason until the app restarts. */
    NOT_STARTED("not_started"),

    /** A bug: an unexpected exception in the shell or the library. */
    INTERNAL("internal_error"),
}

/**
 * A rejected JS call: `call.reject(message, code, null, data)`. [code] is the kind's code, or for a rejected
 * bundle the agent's stable rejection code (`bad_signature`, `checksum_mismatch`, …); [data] repeats the kind
 * and reason for programmatic use.
 */
data class Failure(val kind: FailureKind, val message: String, val rejectionCode: String? = null) {
    val code: String
        get() = rejectionCode ?: kind.code

    val data: Map<String, Any?>
        get() = linkedMapOf("kind" to kind.code, "code" to code, "reason" to message)

    companion object {
        /** An exception the shell did not expect: reported as INTERNAL with its class name. */
        fun unexpected(e: Throwable): Failure =
            Failure(FailureKind.INTERNAL, "${e.javaClass.simpleName}: ${e.message ?: "no message"}")

        fun invalid(e: CallArgsException): Failure = Failure(FailureKind.INVALID_REQUEST, e.message ?: "bad options")
    }
}
