// TrainingError: every user-reachable failure of the Training layer (bad data, bad flags,
// unreadable or incomplete checkpoints, a run that diverged). What it is not: engine or model
// errors, which pass through unchanged.

import Foundation

public enum TrainingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The corpus or data file could not be used.
    case badData(path: String, reason: String, hint: String)
    /// A configuration value is out of range.
    case badConfig(field: String, value: String, reason: String, hint: String)
    /// A checkpoint file is missing, truncated or malformed.
    case badCheckpoint(path: String, reason: String, hint: String)
    /// Loss or gradient was NaN/Inf three steps in a row; the run stopped.
    case diverged(step: Int, lastGoodCheckpoint: String?)
    /// Requested an architecture whose training form does not exist yet.
    case unsupportedArchitecture(String, hint: String)

    public var description: String {
        switch self {
        case let .badData(path, reason, hint):
            return "\(path): \(reason). Hint: \(hint)"
        case let .badConfig(field, value, reason, hint):
            return "'\(field)' = \(value): \(reason). Hint: \(hint)"
        case let .badCheckpoint(path, reason, hint):
            return "checkpoint \(path): \(reason). Hint: \(hint)"
        case let .diverged(step, last):
            return "loss or gradient was not finite for 3 steps in a row (last at step \(step)); stopped. "
                + "Hint: lower --lr; the last good checkpoint is \(last ?? "none (no checkpoint was written)")"
        case let .unsupportedArchitecture(arch, hint):
            return "training '\(arch)' is not available yet. Hint: \(hint)"
        }
    }
}
