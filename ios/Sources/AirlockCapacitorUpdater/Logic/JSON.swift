// Plain Swift (Foundation only, no Capacitor or UIKit): compiled and run on Linux by tests/shells/swift.
import Foundation

/// A JSON value the shell's logic works with: parsed from Capacitor's call options, turned into the
/// dictionaries Capacitor resolves calls and emits events with. Whole numbers stay integers.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Text that is not JSON; the message says where.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Parses one JSON value (surrounding whitespace allowed).
    public static func parse(_ text: String) throws -> JSONValue {
        var reader = Reader(Array(text.unicodeScalars))
        let value = try reader.value()
        reader.skipSpace()
        guard reader.atEnd else { throw reader.fail("unexpected text after the JSON value") }
        return value
    }

    /// Parses a JSON object; nil or blank text is the empty object.
    public static func parseObject(_ text: String?) throws -> [String: JSONValue] {
        guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [:] }
        guard case .object(let o) = try parse(text) else { throw ParseError(description: "expected a JSON object") }
        return o
    }

    /// Converts a Foundation value (Capacitor's `call.options`, JSONSerialization output, Swift literals).
    public static func from(foundation v: Any?) -> JSONValue {
        guard let v else { return .null }
        if v is NSNull { return .null }
        if let s = v as? String { return .string(s) }
        if type(of: v) == Bool.self, let b = v as? Bool { return .bool(b) }
        if type(of: v) is NSNumber.Type, let n = v as? NSNumber { return number(n) }
        if let i = v as? Int { return .int(Int64(i)) }
        if let i = v as? Int64 { return .int(i) }
        if let i = v as? Int32 { return .int(Int64(i)) }
        if let d = v as? Double { return .double(d) }
        if let a = v as? [Any] { return .array(a.map { from(foundation: $0) }) }
        if let o = v as? [String: Any] { return .object(o.mapValues { from(foundation: $0) }) }
        if let o = v as? [AnyHashable: Any] {
            var out: [String: JSONValue] = [:]
            for (k, value) in o { out["\(k.base)"] = from(foundation: value) }
            return .object(out)
        }
        return .string("\(v)")
    }

    private static func number(_ n: NSNumber) -> JSONValue {
        if isBoolean(n) { return .bool(n.boolValue) }
        let d = n.doubleValue
        if d == d.rounded(), abs(d) < 1e15 { return .int(n.int64Value) }
        return .double(d)
    }

    private static func isBoolean(_ n: NSNumber) -> Bool {
        #if canImport(Darwin)
        return CFGetTypeID(n) == CFBooleanGetTypeID()
        #else
        return String(cString: n.objCType) == "c" && (n.int64Value == 0 || n.int64Value == 1)
            && type(of: n) != NSNumber.self
        #endif
    }

    /// The Foundation form for Capacitor: `[String: Any]`, `[Any]`, String, Bool, Int, Double, NSNull.
    public var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return Int(truncatingIfNeeded: i)
        case .double(let d): return d
        case .string(let s): return s
        case .array(let a): return a.map { $0.foundation }
        case .object(let o): return o.mapValues { $0.foundation }
        }
    }

    /// Compact JSON with sorted keys. Strings escape what JSON requires plus `<`, `>`, `&`, U+2028 and U+2029,
    /// so the text can be embedded in a script as is. Non-finite numbers become `null`.
    public var encoded: String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if !d.isFinite {
                out += "null"
            } else if d == d.rounded(), abs(d) < 1e15 {
                out += String(Int64(d))
            } else {
                out += String(d)
            }
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(k, into: &out)
                out += ":"
                o[k]?.write(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}": out += unicodeEscape(u)
            default:
                if u.value < 0x20 { out += unicodeEscape(u) } else { out.unicodeScalars.append(u) }
            }
        }
        out += "\""
    }

    private static func unicodeEscape(_ u: Unicode.Scalar) -> String {
        let hex = String(u.value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    private struct Reader {
        let s: [Unicode.Scalar]
        var i = 0

        init(_ s: [Unicode.Scalar]) { self.s = s }

        var atEnd: Bool { i >= s.count }

        func fail(_ what: String) -> ParseError { ParseError(description: "invalid JSON at character \(i): \(what)") }

        mutating func skipSpace() {
            while i < s.count, s[i] == " " || s[i] == "\n" || s[i] == "\r" || s[i] == "\t" { i += 1 }
        }

        mutating func value() throws -> JSONValue {
            skipSpace()
            guard !atEnd else { throw fail("unexpected end of text") }
            switch s[i] {
            case "{": return try object()
            case "[": return try array()
            case "\"": return .string(try string())
            case "t": return try literal("true", .bool(true))
            case "f": return try literal("false", .bool(false))
            case "n": return try literal("null", .null)
            case "-", "0"..."9": return try number()
            default: throw fail("unexpected '\(s[i])'")
            }
        }

        mutating func literal(_ word: String, _ v: JSONValue) throws -> JSONValue {
            let w = Array(word.unicodeScalars)
            guard i + w.count <= s.count, Array(s[i..<i + w.count]) == w else { throw fail("expected \(word)") }
            i += w.count
            return v
        }

        mutating func object() throws -> JSONValue {
            i += 1
            var out: [String: JSONValue] = [:]
            skipSpace()
            if i < s.count, s[i] == "}" { i += 1; return .object(out) }
            while true {
                skipSpace()
                guard !atEnd, s[i] == "\"" else { throw fail("expected a string key") }
                let key = try string()
                skipSpace()
                guard !atEnd, s[i] == ":" else { throw fail("expected ':'") }
                i += 1
                out[key] = try value()
                skipSpace()
                guard !atEnd else { throw fail("unterminated object") }
                let c = s[i]
                i += 1
                if c == "," { continue }
                if c == "}" { return .object(out) }
                i -= 1
                throw fail("expected ',' or '}'")
            }
        }

        mutating func array() throws -> JSONValue {
            i += 1
            var out: [JSONValue] = []
            skipSpace()
            if i < s.count, s[i] == "]" { i += 1; return .array(out) }
            while true {
                out.append(try value())
                skipSpace()
                guard !atEnd else { throw fail("unterminated array") }
                let c = s[i]
                i += 1
                if c == "," { continue }
                if c == "]" { return .array(out) }
                i -= 1
                throw fail("expected ',' or ']'")
            }
        }

        mutating func string() throws -> String {
            i += 1
            var out = String.UnicodeScalarView()
            while true {
                guard !atEnd else { throw fail("unterminated string") }
                let c = s[i]
                i += 1
                if c == "\"" { return String(out) }
                if c == "\\" {
                    guard !atEnd else { throw fail("unterminated escape") }
                    let e = s[i]
                    i += 1
                    switch e {
                    case "\"": out.append("\"")
                    case "\\": out.append("\\")
                    case "/": out.append("/")
                    case "b": out.append("\u{8}")
                    case "f": out.append("\u{C}")
                    case "n": out.append("\n")
                    case "r": out.append("\r")
                    case "t": out.append("\t")
                    case "u":
                        guard i + 4 <= s.count,
                              let code = UInt32(String(String.UnicodeScalarView(s[i..<i + 4])), radix: 16)
                        else { throw fail("bad \\u escape") }
                        i += 4
                        out.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                    default: throw fail("unknown escape \\\(e)")
                    }
                } else if c.value < 0x20 {
                    throw fail("control character in string")
                } else {
                    out.append(c)
                }
            }
        }

        mutating func number() throws -> JSONValue {
            let start = i
            if s[i] == "-" { i += 1 }
            while i < s.count, "0123456789.eE+-".unicodeScalars.contains(s[i]) { i += 1 }
            let text = String(String.UnicodeScalarView(s[start..<i]))
            if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let n = Int64(text) { return .int(n) }
            guard let d = Double(text) else { throw fail("bad number \(text)") }
            return .double(d)
        }
    }
}
