// `spikescope bench load --file F.safetensors`: resident memory while opening a (large) file —
// the reader maps it and borrows F32 data without copying, so RSS grows only by what is touched.

import ArgumentParser
import Experiments
import Foundation
import Formats

struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Resident memory (VmRSS) while opening a safetensors file and touching its smallest tensor; prints JSON.")

    @Option(help: "A safetensors file (e.g. a 500 MB checkpoint).") var file: String
    @Flag(help: "JSON output (the only format).") var json = false

    func run() throws {
        let r0 = ProcessMemory.residentKB()
        let f = try SafeTensorsFile(path: file)
        let r1 = ProcessMemory.residentKB()
        let w = try f.weights()
        let r2 = ProcessMemory.residentKB()
        guard let smallest = f.entries.filter({ $0.dtype.isFloat }).min(by: { $0.count < $1.count }), let t = w[smallest.name] else {
            throw ValidationError("\(file) has no float tensor to touch")
        }
        let sum = t.values.reduce(0, +)
        let r3 = ProcessMemory.residentKB()
        let out: [String: Any] = ["file": file, "megabytes": Double(f.file.size) / 1e6, "tensors": f.entries.count,
                                  "rss_kb_start": r0, "rss_kb_after_header": r1, "rss_kb_all_tensors_borrowed": r2,
                                  "rss_kb_after_touching_smallest": r3, "touched": smallest.name, "touched_sum": Double(sum),
                                  "growth_kb": r3 - r0, "machine": MachineInfo.current.json]
        FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]) + Data("\n".utf8))
    }
}
