// ModelError: the errors of the Models layer (building a model from a config and named tensors,
// and running it on user input).
//
// What it is: one enum whose cases carry the tensor name, shapes, config key or input field, and
// whose message says what is wrong, where, the value, and ends with a hint.
// What it is not: file-format errors (Formats has its own enum) or engine shape errors.

/// Errors raised while building or running a model.
public enum ModelError: Error, CustomStringConvertible, Equatable, Sendable {
    /// One tensor the model needs is absent (SpikeGPT reports the first one).
    case missingTensor(name: String, hint: String)
    /// Tensors the config needs are absent. `names` holds the first few, `total` how many.
    case missingTensors(names: [String], total: Int, hint: String)
    /// Tensors the model does not know. `names` holds the first few, `total` how many.
    case unexpectedTensors(names: [String], total: Int, hint: String)
    /// A tensor has the wrong shape (SpikeGPT's form).
    case wrongShape(name: String, found: [Int], expected: [Int], hint: String)
    /// A tensor has the wrong shape; `expected` is derived from the config (`because` says how).
    case shapeMismatch(tensor: String, expected: [Int], found: [Int], because: String, hint: String)
    /// No model family recognises these tensor names; the first names are listed.
    case unknownLayout(names: [String], hint: String)
    /// A config value is absent, of the wrong type, or out of range.
    case invalidConfig(file: String, key: String, reason: String, hint: String)
    /// Bad input to `forward` (token ids, type ids, mask, site names).
    case invalidInput(field: String, reason: String, hint: String)
    /// Bad input in general (no field to name).
    case badInput(reason: String, hint: String)
    /// A feature this model does not implement.
    case unsupported(what: String, hint: String)
    /// `error` raised while building a model from the checkpoint file `path` (names the file).
    indirect case inCheckpoint(path: String, error: ModelError)

    /// This error, naming the checkpoint file it came from (unless it already names a file).
    public func locating(_ path: String) -> ModelError {
        switch self {
        case .invalidConfig, .inCheckpoint: return self
        default: return .inCheckpoint(path: path, error: self)
        }
    }

    public var description: String {
        switch self {
        case let .missingTensor(name, hint):
            return "tensor '\(name)' is missing. Hint: \(hint)"
        case let .missingTensors(names, total, hint):
            let list = names.map { "'\($0)'" }.joined(separator: ", ")
            let more = total > names.count ? " and \(total - names.count) more" : ""
            return "the checkpoint lacks \(total) tensor\(total == 1 ? "" : "s") the config needs: \(list)\(more). Hint: \(hint)"
        case let .unexpectedTensors(names, total, hint):
            let list = names.map { "'\($0)'" }.joined(separator: ", ")
            let more = total > names.count ? " and \(total - names.count) more" : ""
            return "the checkpoint has \(total) tensor\(total == 1 ? "" : "s") this model does not use: \(list)\(more). Hint: \(hint)"
        case let .wrongShape(name, found, expected, hint):
            return "tensor '\(name)' is \(found), expected \(expected). Hint: \(hint)"
        case let .shapeMismatch(tensor, expected, found, because, hint):
            return "tensor '\(tensor)' is \(found), expected \(expected) (\(because)). Hint: \(hint)"
        case let .unknownLayout(names, hint):
            return "unknown checkpoint layout; first tensors: \(names.prefix(6).joined(separator: ", ")). Hint: \(hint)"
        case let .invalidConfig(file, key, reason, hint):
            return "\(file): '\(key)' \(reason). Hint: \(hint)"
        case let .invalidInput(field, reason, hint):
            return "\(field): \(reason). Hint: \(hint)"
        case let .badInput(reason, hint):
            return "\(reason). Hint: \(hint)"
        case let .unsupported(what, hint):
            return "\(what) is not supported. Hint: \(hint)"
        case let .inCheckpoint(path, error):
            return "\(path): \(error.description)"
        }
    }

    /// A few tensor names, sorted, for messages.
    static func sample<S: Sequence>(_ names: S) -> String where S.Element == String {
        let s = names.sorted().prefix(5)
        return s.isEmpty ? "the checkpoint holds no tensors" : "it holds e.g. " + s.joined(separator: ", ")
    }
}
