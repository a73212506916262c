// `spikescope bench gif`: SpikeLLM's GIF neurons with Optimal Brain Spiking on a SpikeGPT
// (default: the embedded one) — output error (KL of next-token distributions to the float model)
// for uniform vs saliency-based timestep allocation at equal average bits, the outlier channels
// found — and the event-driven GIF linear layer against the dense GEMM on the decoded input.

import ArgumentParser
import Foundation
import Formats
import Training
import Engine
import Neurons
import Models
import Workbench

public struct BenchGIF: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "gif", abstract: "GIF/Optimal Brain Spiking error table and event-driven GIF linear timing; prints JSON.")

    @Option(help: "SpikeGPT model (default: the embedded one).") var model: String?
    @Option(help: "GIF levels L.") var levels: Int = 2
    @Option(help: "Budgets in merged steps per channel (bits = steps·log2(2L+1)).") var steps: String = "2,3,4,6"
    @Option(help: "Percent of channels treated as outliers for the saliency allocation.") var outliers: Double = 5
    @Option(help: "Timing: tokens × in → out of the event-driven GIF linear.") var shape: String = "128x768x3072"
    @Option(help: "Timing repetitions (best of).") var runs: Int = 10
    @Option(help: "Also run the table on a BERT (e.g. .downloads/minilm): cosine of hidden states to the float model.")
    var bert: String?
    @Flag(help: "JSON output (the only format).") var json = false

    static let bertText = [
        "The cat sat on the mat and looked out of the window.",
        "A spiking neuron fires when its membrane potential crosses the threshold.",
        "Stocks rose sharply after the company reported strong quarterly earnings.",
    ]

    static let calibrationText = [
        "Once, Ada lived near the river with a small dog.",
        "\"Can you find a bright door?\" Milo asked Cleo.",
        "In spring, Otto walked to the farm and saw a busy rabbit.",
    ]
    static let evalText = "Pia watched the horse near the station. \"Can you clean a cold candle?\" Hana asked Eli."

    public init() {}

    public func run() throws {
        let opened = try DefaultModels.open(model: model, tokenizer: nil)
        guard var gpt = opened.loaded.model as? SpikeGPT else { throw ValidationError("bench gif needs a SpikeGPT model") }
        let prompts = try BenchGIF.calibrationText.map { try opened.codec.encode($0, nil).ids }
        let eval = try opened.codec.encode(BenchGIF.evalText, nil).ids
        gpt.controls.neuron = .none
        var s0 = gpt.initialState()
        let float = try gpt.forward(tokens: eval, state: &s0).logits
        let b1 = log2(Double(2 * levels + 1))
        var rows: [[String: Any]] = []
        var outlierReport: [String: [Int]] = [:]
        for u in steps.split(separator: ",").compactMap({ Int($0) }) {
            let bits = Double(u) * b1
            var row: [String: Any] = ["steps_per_channel": u, "budget_bits": bits]
            for (label, p) in [("uniform", 0.0), ("saliency", outliers / 100)] {
                let plan = try gpt.calibrateGIF(prompts: prompts, base: GIFConfig(timesteps: levels, levels: levels, bidirectional: true),
                                                bits: bits, outlierFraction: p)
                var m = gpt
                m.controls.neuron = .gif
                m.controls.gif = plan
                var st = m.initialState()
                let coded = try m.forward(tokens: eval, state: &st).logits
                row["\(label)_kl"] = meanKL(float, coded)
                row["\(label)_bits"] = plan.averageBits
                if p > 0 && outlierReport.isEmpty {
                    for (name, alloc) in plan.sites.sorted(by: { $0.key < $1.key }) { outlierReport[name] = Array(alloc.outliers.prefix(6)) }
                }
            }
            rows.append(row)
        }

        // Event-driven GIF linear: level planes (sparse) through SpikeLinear vs dense GEMM on x̂.
        let dims = shape.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 3 else { throw ValidationError("--shape must look like 128x768x3072") }
        let (R, I, O) = (dims[0], dims[1], dims[2])
        var rng = SeededRNG(seed: 7)
        var x = [Float](repeating: 0, count: R * I)
        for r in 0..<R { for j in 0..<I { x[r * I + j] = rng.nextNormal() * (j % 97 == 0 ? 8 : 1) } }  // a few outlier channels
        let W = Tensor.randomNormal([I, O], std: 0.02, rng: &rng)
        let layer = try SpikeLinear(weightInOut: W)
        var timing: [[String: Any]] = []
        for T in [2, 4, 8].map({ $0 * levels / 2 }) where T >= levels {
            // The allocation this layer would get: outlier channels split off with their own θ and
            // more steps (Optimal Brain Spiking), T merged-step budget per channel on average.
            let base = GIFConfig(timesteps: levels, levels: levels, bidirectional: true)
            let theta = x.map(abs).max()!
            let wOutIn = try W.transposed().contiguous().values
            let alloc = OptimalBrainSpiking.allocate(x: x, rows: R, weight: wOutIn, out: O, in: I, theta: theta,
                                                     bits: Double(T / levels) * log2(Double(2 * levels + 1)),
                                                     outlierFraction: outliers / 100, base: base)
            let q = GIF.quantize(x, rows: R, width: I, theta: theta, base: base, timesteps: alloc.timesteps, thetas: alloc.thresholds)
            let S = q.maxSteps
            // Planes scaled per channel: level·θ_j/T_j, zero where the neuron did not fire.
            var pv0 = q.levels
            for st in 0..<S { for r in 0..<R { for j in 0..<I {
                pv0[(st * R + r) * I + j] *= alloc.thresholds[j] / Float(alloc.timesteps[j])
            } } }
            let planes = try Tensor(shape: [S * R, I], values: pv0)
            let decoded = try Tensor(shape: [R, I], values: q.decoded)
            let nz = Double(q.levels.filter { $0 != 0 }.count) / Double(q.levels.count)
            func best(_ f: () throws -> Tensor) rethrows -> (Double, Tensor) {
                var b = Double.infinity; var out = try f()
                for _ in 0..<runs { let t0 = DispatchTime.now().uptimeNanoseconds; out = try f(); b = min(b, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6) }
                return (b, out)
            }
            let (denseMs, yd) = try best { try layer.forward(decoded, path: .dense) }
            let (eventMs, yp) = try best { try layer.forward(planes, path: .event) }
            // The same product from the spike counts Σ_s n_s (x̂ = count·θ_j/T_j): one event plane
            // whose nonzeros are the channels that fired at all — what the model's forward uses.
            let (countMs, yc) = try best { try layer.forward(decoded, path: .event) }
            let countNZ = Double(q.decoded.filter { $0 != 0 }.count) / Double(q.decoded.count)
            var maxRelCount: Float = 0
            for (a, b) in zip(yc.values, yd.values) { maxRelCount = max(maxRelCount, abs(a - b) / max(abs(b), 1e-3)) }
            // Σ over the S planes must equal the dense product on x̂.
            let pv = yp.values, dv = yd.values
            var maxRel: Float = 0
            for r in 0..<R { for o in 0..<O {
                var s: Float = 0
                for st in 0..<S { s += pv[(st * R + r) * O + o] }
                maxRel = max(maxRel, abs(s - dv[r * O + o]) / max(abs(dv[r * O + o]), 1e-3))
            } }
            timing.append(["T": T, "average_bits": alloc.averageBits, "levels": levels, "merged_steps": S, "level_nonzero_fraction": nz,
                           "dense_ms": denseMs, "per_step_event_ms": eventMs, "per_step_speedup": denseMs / eventMs,
                           "per_step_max_rel_diff": Double(maxRel),
                           "count_nonzero_fraction": countNZ, "count_event_ms": countMs, "count_speedup": denseMs / countMs,
                           "count_max_rel_diff": Double(maxRelCount)])
        }
        var out: [String: Any] = ["model": opened.loaded.weightsPath, "levels": levels, "outlier_percent": outliers,
                                  "table": rows, "outliers_first_layers": outlierReport.filter { $0.key.hasPrefix("blocks.0.") },
                                  "event_driven": timing]
        if let bert { out["bert"] = try bertTable(path: bert, budgets: steps.split(separator: ",").compactMap { Int($0) }) }
        FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .prettyPrinted]) + Data("\n".utf8))
    }

    /// Uniform vs saliency GIF allocation on a BERT: mean cosine of the final hidden states to the
    /// float model over `bertText` (calibrated on the first sentence, evaluated on all three),
    /// plus the channels most often ranked outliers across the sites.
    func bertTable(path: String, budgets: [Int]) throws -> [String: Any] {
        let opened = try Opener.open(model: path)
        guard var m = opened.loaded.model as? SpikeBERTModel else { throw ValidationError("--bert needs a BERT checkpoint folder") }
        let inputs = try BenchGIF.bertText.map { t -> ModelInput in
            let e = try opened.codec.encode(t, nil); return ModelInput(ids: e.ids, typeIds: e.typeIds)
        }
        m.neuron = .none
        let float = try inputs.map { try m.run($0, probe: nil).hidden }
        let b1 = log2(Double(2 * levels + 1))
        var rows: [[String: Any]] = []
        var outlierCount: [Int: Int] = [:]
        for u in budgets {
            var row: [String: Any] = ["steps_per_channel": u, "budget_bits": Double(u) * b1]
            for (label, p) in [("uniform", 0.0), ("saliency", outliers / 100)] {
                var g = m
                var settings = GIFSettings()
                settings.levels = levels; settings.bits = Double(u) * b1; settings.outlierFraction = p
                g.gifSettings = settings
                g.neuron = .gif
                try g.prepare(for: inputs[0])
                var cos = 0.0
                for (i, inp) in inputs.enumerated() { cos += meanCosine(float[i], try g.run(inp, probe: nil).hidden) }
                row["\(label)_cosine"] = cos / Double(inputs.count)
                row["\(label)_bits"] = g.model.gifPlan?.averageBits ?? 0
                if p > 0, u == budgets.first, let plan = g.model.gifPlan {
                    // Sites that read the residual stream (LayerNorm outputs, hidden width): the query
                    // and FFN-in linears of every layer, where a channel index is a hidden dimension.
                    for (name, alloc) in plan.sites where name.hasSuffix(".query") || name.hasSuffix(".intermediate.dense") {
                        for c in alloc.outliers { outlierCount[c, default: 0] += 1 }
                    }
                }
            }
            rows.append(row)
        }
        let top = outlierCount.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10)
        return ["model": path, "table": rows, "sites": m.siteNames.count,
                "outlier_channels_of_the_residual_stream": top.map { ["channel": $0.key, "sites": $0.value] }]
    }
}
