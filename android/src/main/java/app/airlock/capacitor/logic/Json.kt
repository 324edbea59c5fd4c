// Plain Kotlin (no android.* or Capacitor imports): runs on the desktop JVM in tests/shells/kotlin.
package app.airlock.capacitor.logic

/**
 * A small JSON reader and writer over plain Kotlin values, so the shell's logic needs neither org.json (part of
 * Android, absent from the desktop JVM) nor a library.
 *
 * Values: `null`, [Boolean], [Long] (whole numbers that fit), [Double], [String], [List] of values and
 * [Map] of String to value (insertion-ordered). The shell turns Capacitor's `JSObject` into a string and back.
 */
object Json {
    /** Thrown for text that is not JSON; the message says where. */
    class ParseException(message: String) : IllegalArgumentException(message)

    /** Parses one JSON value (surrounding whitespace allowed). */
    fun parse(text: String): Any? {
        val reader = Reader(text)
        val value = reader.value()
        reader.skipSpace()
        if (!reader.atEnd()) throw reader.fail("unexpected text after the JSON value")
        return value
    }

    /** Parses a JSON object; `null` or blank text is the empty object. */
    fun parseObject(text: String?): Map<String, Any?> {
        if (text.isNullOrBlank()) return emptyMap()
        val value = parse(text)
        @Suppress("UNCHECKED_CAST")
        return value as? Map<String, Any?> ?: throw ParseException("expected a JSON object")
    }

    /**
     * Writes a value as compact JSON. Strings escape what JSON requires plus `<`, `>`, `&`, U+2028 and U+2029,
     * so the output can be embedded in a script or an HTML page as is. Non-finite numbers become `null`.
     */
    fun encode(value: Any?): String = StringBuilder().also { write(it, value) }.toString()

    private fun write(out: StringBuilder, value: Any?) {
        when (value) {
            null -> out.append("null")
            is Boolean -> out.append(if (value) "true" else "false")
            is String -> writeString(out, value)
            is Int, is Long, is Short, is Byte -> out.append(value.toString())
            is UInt, is ULong, is UShort, is UByte -> out.append(value.toString())
            is Double -> out.append(if (value.isFinite()) number(value) else "null")
            is Float -> out.append(if (value.isFinite()) number(value.toDouble()) else "null")
            is Map<*, *> -> {
                out.append('{')
                var first = true
                for ((k, v) in value) {
                    if (!first) out.append(',')
                    first = false
                    writeString(out, k.toString())
                    out.append(':')
                    write(out, v)
                }
                out.append('}')
            }
            is Iterable<*> -> {
                out.append('[')
                var first = true
                for (v in value) {
                    if (!first) out.append(',')
                    first = false
                    write(out, v)
                }
                out.append(']')
            }
            is Array<*> -> write(out, value.asList())
            else -> writeString(out, value.toString())
        }
    }

    private fun number(d: Double): String =
        if (d == Math.rint(d) && Math.abs(d) < 1e15) d.toLong().toString() else d.toString()

    private fun writeString(out: StringBuilder, s: String) {
        out.append('"')
        for (c in s) {
            when (c) {
                '"' -> out.append("\\\"")
                '\\' -> out.append("\\\\")
                '\n' -> out.append("\\n")
                '\r' -> out.append("\\r")
                '\t' -> out.append("\\t")
                '<', '>', '&', '\u2028', '\u2029' -> out.append(unicode(c))
                else -> if (c < ' ') out.append(unicode(c)) else out.append(c)
            }
        }
        out.append('"')
    }

    private fun unicode(c: Char): String = "\\u" + c.code.toString(16).padStart(4, '0')

    private class Reader(val s: String) {
        var i = 0

        fun atEnd() = i >= s.length

        fun fail(what: String) = ParseException("invalid JSON at character $i: $what")

        fun skipSpace() {
            while (i < s.length && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++
        }

        fun value(): Any? {
            skipSpace()
            if (atEnd()) throw fail("unexpected end of text")
            return when (val c = s[i]) {
                '{' -> obj()
                '[' -> array()
                '"' -> string()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> if (c == '-' || c in '0'..'9') number() else throw fail("unexpected '$c'")
            }
        }

        fun literal(word: String, v: Any?): Any? {
            if (!s.startsWith(word, i)) throw fail("expected $word")
            i += word.length
            return v
        }

        fun obj(): Map<String, Any?> {
            i++
            val out = LinkedHashMap<String, Any?>()
            skipSpace()
            if (i < s.length && s[i] == '}') { i++; return out }
            while (true) {
                skipSpace()
                if (atEnd() || s[i] != '"') throw fail("expected a string key")
                val key = string()
                skipSpace()
                if (atEnd() || s[i] != ':') throw fail("expected ':'")
                i++
                out[key] = value()
                skipSpace()
                if (atEnd()) throw fail("unterminated object")
                when (s[i++]) {
                    ',' -> continue
                    '}' -> return out
                    else -> { i--; throw fail("expected ',' or '}'") }
                }
            }
        }

        fun array(): List<Any?> {
            i++
            val out = ArrayList<Any?>()
            skipSpace()
            if (i < s.length && s[i] == ']') { i++; return out }
            while (true) {
                out.add(value())
                skipSpace()
                if (atEnd()) throw fail("unterminated array")
                when (s[i++]) {
                    ',' -> continue
                    ']' -> return out
                    else -> { i--; throw fail("expected ',' or ']'") }
                }
            }
        }

        fun string(): String {
            i++
            val out = StringBuilder()
            while (true) {
                if (atEnd()) throw fail("unterminated string")
                val c = s[i++]
                when {
                    c == '"' -> return out.toString()
                    c == '\\' -> {
                        if (atEnd()) throw fail("unterminated escape")
                        when (val e = s[i++]) {
                            '"' -> out.append('"')
                            '\\' -> out.append('\\')
                            '/' -> out.append('/')
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000C')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> {
                                if (i + 4 > s.length) throw fail("short \\u escape")
                                val code = s.substring(i, i + 4).toIntOrNull(16) ?: throw fail("bad \\u escape")
                                out.append(code.toChar())
                                i += 4
                            }
                            else -> throw fail("unknown escape \\$e")
                        }
                    }
                    c < ' ' -> throw fail("control character in string")
                    else -> out.append(c)
                }
            }
        }

        fun number(): Any {
            val start = i
            if (s[i] == '-') i++
            while (i < s.length && (s[i].isDigit() || s[i] in ".eE+-")) i++
            val text = s.substring(start, i)
            if (text.none { it == '.' || it == 'e' || it == 'E' }) text.toLongOrNull()?.let { return it }
            return text.toDoubleOrNull() ?: throw fail("bad number $text")
        }
    }
}
