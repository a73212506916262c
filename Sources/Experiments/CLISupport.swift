// CLI support shared by the commands (the executable's and the family benches here): one error
// line on stderr with an exit code, the message-carrying error, and JSON text helpers. Not the
// commands themselves.

import ArgumentParser
import Foundation
import Formats

/// Runs a command's body; a bad-input error (ModelError, FormatError, TrainingError, …: each names
/// the file and gives a hint) becomes one stderr line "`prefix`: message" and `exitCode`, while
/// ValidationError still goes to ArgumentParser for its usage message.
public func reportingErrors(prefix: String, exitCode: Int32, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ValidationError {
        throw e
    } catch {
        FileHandle.standardError.write(Data("\(prefix): \(error)\n".utf8))
        throw ExitCode(exitCode)
    }
}

public struct CLIError: Error, CustomStringConvertible {
    public var description: String
    public init(_ s: String) { description = s }
}

public func fmt(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }

/// A JSON string literal (one escaping rule for every command: Formats.JSONValue).
public func jsonString(_ s: String) -> String { JSONValue.quoted(s) }

/// `{"k":v,...}` keeping the field order (values are already JSON text).
public func jsonObject(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}"
}

