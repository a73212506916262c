// JSONValue: a small JSON value with ordered object keys, its parser and its writer.
//
// What it is: the reader for safetensors headers and HF config.json, written here (not
// JSONSerialization) so that key order survives, integers stay integers, every error carries a
// byte offset, and hostile input cannot recurse without bound (nesting is capped at `maxDepth`).
// What it is not: a Codable bridge or a streaming parser; values are built in memory.

import Foundation

public enum JSONValue: Equatable, Sendable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    /// Deepest nesting accepted by the parser; safetensors headers use 3, config.json about 4.
    public static let maxDepth = 128

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(x), .array(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    // MARK: typed access

    /// Member `key` of an object (first occurrence), nil for other kinds or a missing key.
    public subscript(key: String) -> JSONValue? {
        if case let .object(pairs) = self { return pairs.first(where: { $0.key == key })?.value }
        return nil
    }
    /// Element `i` of an array.
    public subscript(index: Int) -> JSONValue? {
        if case let .array(a) = self, index >= 0, index < a.count { return a[index] }
        return nil
    }
    /// An integral number that fits in Int (1e3 counts; 1.5 does not).
    public var int: Int? {
        if case let .number(d) = self, d == d.rounded(), abs(d) < 9.2e18 { return Int(d) }
        return nil
    }
    public var double: Double? { if case let .number(d) = self { return d }; return nil }
    public var string: String? { if case let .string(s) = self { return s }; return nil }
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var array: [JSONValue]? { if case let .array(a) = self { return a }; return nil }
    public var object: [(key: String, value: JSONValue)]? { if case let .object(o) = self { return o }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    // MARK: parsing

    /// Parses UTF-8 JSON text. Errors are `FormatError.json` with `path` and the offset of the
    /// bad byte plus `baseOffset` (the position of `bytes` inside the file). Cost: O(bytes).
    public static func parse(_ bytes: UnsafeRawBufferPointer, path: String, baseOffset: Int = 0) throws -> JSONValue {
        var p = JSONParser(bytes: bytes, path: path, base: baseOffset)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        if p.i != bytes.count { throw p.fail("unexpected text after the JSON value") }
        return v
    }

    /// Parses a JSON file (config.json, a vocabulary, …).
    public static func parse(file path: String) throws -> JSONValue {
        let f = try MappedFile(path: path)
        return try parse(f.all, path: path)
    }

    // MARK: writing

    /// Compact JSON text. Object keys keep their order unless `sortKeys`.
    public func serialized(sortKeys: Bool = false) -> String {
        var out = ""
        write(into: &out, sortKeys: sortKeys)
        return out
    }

    private func write(into out: inout String, sortKeys: Bool) {
        switch self {
        case let .object(pairs):
            out += "{"
            let ps = sortKeys ? pairs.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) } : pairs
            for (n, p) in ps.enumerated() {
                if n > 0 { out += "," }
                JSONValue.quote(p.key, into: &out)
                out += ":"
                p.value.write(into: &out, sortKeys: sortKeys)
            }
            out += "}"
        case let .array(a):
            out += "["
            for (n, v) in a.enumerated() {
                if n > 0 { out += "," }
                v.write(into: &out, sortKeys: sortKeys)
            }
            out += "]"
        case let .string(s): JSONValue.quote(s, into: &out)
        case let .number(d):
            if d == d.rounded(), abs(d) < 9.2e18 { out += String(Int(d)) }
            else if d.isFinite { out += "\(d)" }
            else { out += "null" }  // JSON has no inf/nan
        case let .bool(b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }

    /// `s` as a JSON string literal.
    public static func quoted(_ s: String) -> String {
        var out = ""
        quote(s, into: &out)
        return out
    }

    /// Appends `s` as a JSON string literal (escapes quotes, backslash and control characters).
    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        out += "\""
    }
}

/// Recursive-descent parser over raw bytes. Depth-capped; never reads past `bytes.count`.
struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let path: String
    let base: Int
    var i = 0

    init(bytes: UnsafeRawBufferPointer, path: String, base: Int) {
        self.bytes = bytes; self.path = path; self.base = base
    }

    func fail(_ reason: String) -> FormatError { .json(path: path, offset: base + i, reason: reason) }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < JSONValue.maxDepth else { throw fail("nested deeper than \(JSONValue.maxDepth) levels") }
        guard i < bytes.count else { throw fail("unexpected end of text") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var pairs: [(key: String, value: JSONValue)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let k = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                pairs.append((k, try value(depth: depth + 1)))
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end inside an object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end inside an array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected byte 0x\(String(bytes[i], radix: 16))")
        }
    }

    mutating func literal(_ word: String) throws {
        for c in word.utf8 {
            guard i < bytes.count, bytes[i] == c else { throw fail("expected '\(word)'") }
            i += 1
        }
    }

    /// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    mutating func number() throws -> Double {
        let start = i
        func digits() -> Int { var n = 0; while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1; n += 1 }; return n }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "0") { i += 1 }  // a leading 0 stands alone
        else { guard digits() > 0 else { throw fail("expected a digit") } }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") { i += 1; guard digits() > 0 else { throw fail("expected a digit after '.'") } }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("expected exponent digits") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        guard let d = Double(text) else { throw fail("bad number '\(text)'") }
        return d
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("bad hex digit in \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    mutating func string() throws -> String {
        i += 1  // opening quote
        var buf: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") { buf.append(c); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buf.append(e)
            case UInt8(ascii: "b"): buf.append(0x08)
            case UInt8(ascii: "f"): buf.append(0x0C)
            case UInt8(ascii: "n"): buf.append(0x0A)
            case UInt8(ascii: "r"): buf.append(0x0D)
            case UInt8(ascii: "t"): buf.append(0x09)
            case UInt8(ascii: "u"):
                var u = try hex4()
                if u >= 0xD800, u < 0xDC00 {
                    // A high surrogate must be followed by \uDC00-\uDFFF; together one scalar.
                    guard i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    i += 2
                    let lo = try hex4()
                    guard lo >= 0xDC00, lo < 0xE000 else { throw fail("unpaired surrogate in \\u escape") }
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                } else if u >= 0xDC00, u < 0xE000 {
                    throw fail("unpaired surrogate in \\u escape")
                }
                guard let s = Unicode.Scalar(u) else { throw fail("bad \\u escape") }
                buf.append(contentsOf: Array(String(Character(s)).utf8))
            default: throw fail("unknown escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        guard let s = String(validating: buf, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }
}

/// Describes a value from `JSONSerialization` for error messages: `true`, `null`, `the string
/// "64"`, `a list`, `an object`, or the number.
public enum JSONDescribe {
    /// True for JSON `true`/`false` (Foundation hands them out as NSNumber, which also casts to Int).
    public static func isBool(_ v: Any) -> Bool {
        guard let n = v as? NSNumber else { return false }
        return String(cString: n.objCType) == "c" || String(describing: type(of: v)).contains("Boolean")
    }

    public static func value(_ v: Any) -> String {
        if isBool(v) { return (v as? Bool) == true ? "true" : "false" }
        if v is NSNull { return "null" }
        if let s = v as? String { return "the string \"\(s.prefix(40))\"" }
        if v is [Any] { return "a list" }
        if v is [String: Any] { return "an object" }
        if let n = v as? NSNumber { return n.stringValue }
        return "\(v)"
    }
}
