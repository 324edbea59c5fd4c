// Plain Kotlin (no android.* or Capacitor imports): runs on the desktop JVM in tests/shells/kotlin.
package app.airlock.capacitor.logic

/** A JS call's options were wrong; the message names the option and says what it must be. */
class CallArgsException(message: String) : IllegalArgumentException(message)

/** `download()` options, mapped to the agent's `DownloadRequest` fields. */
data class DownloadArgs(
    val url: String?,
    val version: String?,
    val checksum: String?,
    val sessionKey: String?,
    val manifestUrl: String?,
)

/** One `setMultiDelay` condition: `kind` is Capgo's name (`background`, `kill`, `date`, `nativeVersion`). */
data class DelayArgs(val kind: String, val value: String?)

/** `reset()` options. */
data class ResetArgs(val toLastSuccessful: Boolean, val usePendingBundle: Boolean)

/** `setChannel()` / `unsetChannel()` options. */
data class ChannelArgs(val channel: String?, val triggerAutoUpdate: Boolean)

/**
 * Reads a JS call's options (`call.getData()` as a map) with Capgo's option names and defaults. Every reader
 * fails with a [CallArgsException] naming the option, which the shell rejects with code `invalid_request`.
 */
class CallArgs(private val data: Map<String, Any?>) {
    /** The `id` of `next`, `set`, `delete`. */
    fun id(): String = requiredString("id")

    /**
     * `download({url, version, checksum?, sessionKey?, manifestUrl?})`. Capgo's per-file `manifest` list is
     * accepted and ignored (the agent does its own file-level deltas from signed releases); a string `manifest` is
     * taken as the manifest URL. With [signedOnly] and no manifest URL, `url` is the signed release manifest.
     */
    fun download(signedOnly: Boolean): DownloadArgs {
        var url = optionalString("url")
        var manifestUrl = optionalString("manifestUrl")
        when (val m = data["manifest"]) {
            null -> {}
            is String -> if (manifestUrl == null) manifestUrl = m
            // Capgo's per-file list (what its getLatest() returns): accepted and not used, as src/types.ts says.
            is List<*> -> {}
            else -> throw CallArgsException("download: manifest must be a URL string (or Capgo's per-file list, which is ignored)")
        }
        if (signedOnly && manifestUrl == null && url != null) {
            manifestUrl = url
            url = null
        }
        if (url == null && manifestUrl == null) {
            throw CallArgsException("download: url is required (the bundle zip, or the signed release manifest)")
        }
        return DownloadArgs(
            url = url,
            version = optionalString("version"),
            checksum = optionalString("checksum")?.takeIf { it.isNotEmpty() },
            sessionKey = optionalString("sessionKey")?.takeIf { it.isNotEmpty() },
            manifestUrl = manifestUrl,
        )
    }

    /** `setMultiDelay({delayConditions: [{kind, value?}]})`; an empty list clears them. */
    fun delayConditions(): List<DelayArgs> {
        val list = data["delayConditions"] as? List<*>
            ?: throw CallArgsException("setMultiDelay: delayConditions must be a list of {kind, value?}")
        return list.mapIndexed { i, item ->
            val obj = item as? Map<*, *>
                ?: throw CallArgsException("setMultiDelay: delayConditions[$i] must be an object {kind, value?}")
            val kind = (obj["kind"] as? String)?.takeIf { it in DELAY_KINDS } ?: throw CallArgsException(
                "setMultiDelay: delayConditions[$i].kind must be one of ${DELAY_KINDS.joinToString()}",
            )
            val value = when (val v = obj["value"]) {
                null -> null
                is String -> v
                is Number, is Boolean -> Json.encode(v)
                else -> throw CallArgsException("setMultiDelay: delayConditions[$i].value must be a string")
            }
            DelayArgs(kind, value)
        }
    }

    /** `reset({toLastSuccessful?, usePendingBundle?})`, both false by default. */
    fun reset(): ResetArgs = ResetArgs(bool("toLastSuccessful"), bool("usePendingBundle"))

    /** `setChannel({channel, triggerAutoUpdate?})` (channel required) or `unsetChannel({triggerAutoUpdate?})`. */
    fun channel(required: Boolean): ChannelArgs {
        val channel = if (required) requiredString("channel") else optionalString("channel")
        return ChannelArgs(channel, bool("triggerAutoUpdate"))
    }

    /** `getLatest({channel?})`. */
    fun latestChannel(): String? = optionalString("channel")?.takeIf { it.isNotEmpty() }

    /** `setCustomId({customId})`; `""` clears it. */
    fun customId(): String = requiredString("customId")

    /** `setAttributes({attributes})`: string values; numbers and booleans are written as JSON text. */
    fun attributes(): Map<String, String> {
        val obj = data["attributes"] as? Map<*, *>
            ?: throw CallArgsException("setAttributes: attributes must be an object of strings")
        return obj.entries.associate { (k, v) ->
            val text = when (v) {
                is String -> v
                is Number, is Boolean -> Json.encode(v)
                else -> throw CallArgsException("setAttributes: attributes.$k must be a string")
            }
            k.toString() to text
        }
    }

    /** The ready token `notifyAppReady()` sends back (injected into the page as `window.__airlock.token`). */
    fun token(): String? = optionalString("token")?.takeIf { it.isNotEmpty() }

    private fun optionalString(key: String): String? = when (val v = data[key]) {
        null -> null
        is String -> v
        else -> throw CallArgsException("$key must be a string")
    }

    private fun requiredString(key: String): String =
        optionalString(key) ?: throw CallArgsException("$key is required")

    private fun bool(key: String): Boolean = when (val v = data[key]) {
        null -> false
        is Boolean -> v
        else -> throw CallArgsException("$key must be a boolean")
    }

    companion object {
        val DELAY_KINDS = listOf("background", "kill", "date", "nativeVersion")

        /** Parses a call's data given as JSON text (the shell passes `call.getData().toString()`). */
        fun fromJson(text: String?): CallArgs = CallArgs(
            try {
                Json.parseObject(text)
            } catch (e: Json.ParseException) {
                throw CallArgsException("call options are not a JSON object: ${e.message}")
            },
        )
    }
}
