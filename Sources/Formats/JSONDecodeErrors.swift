// Readable messages for JSON files decoded with Codable (session.json, trainer state): the field
// path ("cursor.site"), what was expected and what was found, and for text that is not JSON at
// all, the byte offset where it breaks (Foundation's own error has no position). Not a parser:
// JSONValue is the one that finds the offset.

import Foundation

public enum JSONDecodeErrors {
    /// "field 'cursor.site' is the string "x", expected an integer" and the like.
    /// - Parameters:
    ///   - error: what JSONDecoder threw.
    ///   - data: the file's bytes (to find the offset of a syntax error).
    ///   - path: the file, for JSONValue's message.
    public static func describe(_ error: Error, data: Data, path: String) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        func field(_ ctx: DecodingError.Context, _ last: CodingKey? = nil) -> String {
            var keys = ctx.codingPath
            if let last { keys.append(last) }
            let parts = keys.map { k -> String in k.intValue.map { "[\($0)]" } ?? k.stringValue }
            let joined = parts.reduce("") { acc, p in p.hasPrefix("[") || acc.isEmpty ? acc + p : acc + "." + p }
            return joined.isEmpty ? "(top level)" : joined
        }
        func typeName(_ t: Any.Type) -> String {
            switch String(describing: t) {
            case "Int", "Int64", "UInt64", "Int32": return "an integer"
            case "Float", "Double": return "a number"
            case "String": return "a string"
            case "Bool": return "true or false"
            case let s where s.hasPrefix("Dictionary"): return "an object"
            case let s where s.hasPrefix("Array"): return "a list"
            case let s: return "a \(s)"
            }
        }
        switch e {
        case let .typeMismatch(t, ctx):
            return "field '\(field(ctx))' is not \(typeName(t))" + found(ctx, data: data)
        case let .valueNotFound(t, ctx):
            return "field '\(field(ctx))' is null, expected \(typeName(t))"
        case let .keyNotFound(key, ctx):
            return "field '\(field(ctx, key))' is missing"
        case let .dataCorrupted(ctx):
            if ctx.codingPath.isEmpty {
                do { _ = try data.withUnsafeBytes { try JSONValue.parse($0, path: path) } } catch let f as FormatError {
                    if case let .json(_, offset, reason) = f { return "not valid JSON at byte offset \(offset): \(reason)" }
                } catch {}
                return "not valid JSON"
            }
            return "field '\(field(ctx))': \(ctx.debugDescription)"
        @unknown default:
            return "\(e)"
        }
    }

    /// ", found …" when the value at the context's path can be looked up.
    private static func found(_ ctx: DecodingError.Context, data: Data) -> String {
        guard var v = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return "" }
        for k in ctx.codingPath {
            if let i = k.intValue, let a = v as? [Any], i >= 0, i < a.count { v = a[i]; continue }
            if let d = v as? [String: Any], let x = d[k.stringValue] { v = x; continue }
            return ""
        }
        return " (found \(JSONDescribe.value(v)))"
    }
}
