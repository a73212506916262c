// `spikescope convert`: rewrite a checkpoint (PyTorch .pth/.bin/.pt or safetensors) as safetensors.
//
// What it is: Checkpoint.load, then SafeTensors.write with the same names; integer tensors
// (position_ids, …) are copied as I64 so nothing is lost. Prints a one-line JSON summary.
// What it is not: a model converter (names are not renamed, layouts are not changed).

import ArgumentParser
import Experiments
import Foundation
import Formats

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a PyTorch checkpoint (or safetensors file) to safetensors, keeping tensor names.")

    @Option(name: .customLong("in"), help: "The checkpoint to read: .pth/.bin/.pt (torch.save zip), .safetensors, or a model folder.")
    var input: String

    @Option(name: .customLong("out"), help: "The .safetensors file to write (atomically: temp file + rename).")
    var output: String

    @Option(help: "Storage type of floating-point tensors: f32 (bit-exact), f16 or bf16 (rounded to nearest even).")
    var dtype: String = "f32"

    func validate() throws {
        guard ["f32", "f16", "bf16"].contains(dtype.lowercased()) else {
            throw ValidationError("The value '\(dtype)' is invalid for '--dtype <dtype>'. Use f32, f16 or bf16.")
        }
        guard output.hasSuffix(".safetensors") else {
            throw ValidationError("The value '\(output)' is invalid for '--out <out>': it must end in .safetensors.")
        }
    }

    func run() throws {
        let dt: DType = dtype.lowercased() == "f16" ? .f16 : dtype.lowercased() == "bf16" ? .bf16 : .f32
        let w = try Checkpoint.load(input)
        var ints: [SafeTensors.IntegerTensor] = []
        if !w.skipped.isEmpty {
            let file = try MappedFile(path: w.path)
            for s in w.skipped {
                let values: [Int]
                switch w.format {
                case .safetensors: values = try SafeTensorsFile(file).integers(s.name)
                case .pytorchZip: values = try PyTorchCheckpoint(file).integers(s.name)
                }
                ints.append(.init(name: s.name, shape: s.shape, values: values))
            }
        }
        var meta = w.metadata
        meta["converted_by"] = "spikescope convert"
        let bytes = try SafeTensors.write(w.names.compactMap { n in w[n].map { (name: n, tensor: $0) } },
                                          to: output, dtype: dt, metadata: meta, integers: ints)
        let summary = JSONValue.object([
            ("in", .string(w.path)), ("out", .string(output)), ("format", .string(w.format.rawValue)),
            ("tensors", .number(Double(w.count + ints.count))), ("float_tensors", .number(Double(w.count))),
            ("integer_tensors", .number(Double(ints.count))), ("parameters", .number(Double(w.parameterCount))),
            ("dtype", .string(dt.rawValue)), ("bytes", .number(Double(bytes))),
        ])
        print(summary.serialized())
    }
}
