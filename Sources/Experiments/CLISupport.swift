// CLI support shared by the commands (the executable's and the family benches here): one error
// line on stderr with an exit code, the message-carrying error, and JSON text helpers. Not the
// commands themselves.

import ArgumentParser
import Foundation
import Engine
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


/// Runs `python3 script args…` and parses the last line of its stdout as a JSON object (the
/// reference scripts under Tests/Reference print one). Its stderr goes to a temporary file that is
/// quoted (last 1500 bytes) when it fails.
public func runPython(_ script: String, _ args: [String], hint: String = "check that python3 has the packages the script names") throws -> [String: Any] {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spikescope-py-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script] + args
    let errPath = dir.appendingPathComponent("stderr.txt").path
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle(forWritingAtPath: errPath)
    try p.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0,
          let line = String(decoding: outData, as: UTF8.self).split(separator: "\n").last,
          let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        let tail = String(decoding: (FileManager.default.contents(atPath: errPath) ?? Data()).suffix(1500), as: UTF8.self)
        throw CLIError("\(URL(fileURLWithPath: script).lastPathComponent) failed (exit \(p.terminationStatus)): \(tail). Hint: \(hint)")
    }
    return obj
}

/// The machine a benchmark ran on: CPU model, logical CPUs and SIMD flags (Linux /proc/cpuinfo).
public struct MachineInfo: Sendable {
    public var cpu: String
    /// "family F model M" from /proc/cpuinfo (names the microarchitecture where the model name
    /// does not, e.g. "AMD EPYC" on a VM).
    public var cpuID: String = ""
    public var cpus: Int
    public var simd: [String]
    public static var current: MachineInfo {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var cpu = "unknown", flags: Set<String> = [], family = "", model = ""
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "model name", cpu == "unknown" { cpu = parts[1] }
            if parts[0] == "cpu family", family.isEmpty { family = parts[1] }
            if parts[0] == "model", model.isEmpty { model = parts[1] }
            if parts[0] == "flags", flags.isEmpty { flags = Set(parts[1].split(separator: " ").map(String.init)) }
        }
        let simd = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile"].filter(flags.contains)
        return MachineInfo(cpu: cpu, cpuID: family.isEmpty ? "" : "family \(family) model \(model)",
                           cpus: ProcessInfo.processInfo.activeProcessorCount, simd: simd)
    }
    /// CPU, CPUs, SIMD flags, the kernel path each family took (Kernels.paths), the per-CPU
    /// tuning in use and where it came from, and the streaming-read bandwidth measured in this
    /// process (Kernels.machineBandwidth, GB/s).
    public var json: [String: Any] {
        ["cpu": cpu, "cpu_id": cpuID, "cpuid": Kernels.cpuIdentity, "cpus": cpus, "simd": simd, "kernels": Kernels.paths,
         "tuning": Kernels.tuning.json, "tuning_source": Kernels.tuningSource,
         "bandwidth_gb_s": (Kernels.machineBandwidth / 1e7).rounded() / 100]
    }
    /// `json` as one JSON text (for the benches that print field lists).
    public var jsonText: String {
        (try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
