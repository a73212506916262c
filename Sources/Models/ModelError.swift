// ModelError: what goes wrong when building or running a model (the Models layer's one error enum).
// Messages say what, which tensor, both shapes, and a hint.

public enum ModelError: Error, CustomStringConvertible, Sendable, Equatable {
    case missingTensor(name: String, hint: String)
    case wrongShape(name: String, found: [Int], expected: [Int], hint: String)
    case unknownLayout(names: [String], hint: String)
    case badConfig(key: String, reason: String)
    case badInput(reason: String, hint: String)

    public var description: String {
        switch self {
        case let .missingTensor(name, hint):
            return "tensor '\(name)' is missing. Hint: \(hint)"
        case let .wrongShape(name, found, expected, hint):
            return "tensor '\(name)' is \(found), expected \(expected). Hint: \(hint)"
        case let .unknownLayout(names, hint):
            return "unknown checkpoint layout; first tensors: \(names.prefix(6).joined(separator: ", ")). Hint: \(hint)"
        case let .badConfig(key, reason):
            return "config '\(key)': \(reason)"
        case let .badInput(reason, hint):
            return "\(reason). Hint: \(hint)"
        }
    }

    /// A few tensor names, sorted, for messages.
    static func sample<S: Sequence>(_ names: S) -> String where S.Element == String {
        let s = names.sorted().prefix(5)
        return s.isEmpty ? "the checkpoint holds no tensors" : "it holds e.g. " + s.joined(separator: ", ")
    }
}
