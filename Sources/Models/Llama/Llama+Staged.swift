// The LLaMA family's staged run (Staged.swift): the prompt's trace first, then each continuation
// token as it lands; the head runs on the last prompt row and the continuation rows that sample.
// SpikeLLM's controls (abits, addbit, low_p) act on every layer at once, so there is no layer to
// restart from: every rerun recomputes all layers (the cache records the tokens and the residual
// stream per layer, for comparisons and the logit lens).

import Neurons

struct LlamaRunCache: RunCache {
    var tokens: [Int]
    /// The residual stream entering each block and leaving the last, every token.
    var streams: [[Float]]
}

extension Llama: StagedModel {
    public func layer(ofSite site: String) -> Int {
        let parts = site.split(separator: ".")
        guard parts.count > 2, parts[0] == "model", parts[1] == "layers", let i = Int(parts[2]) else { return 0 }
        return min(max(i, 0), config.layers)
    }

    public func staged(prompt: ModelInput, count: Int, sampler: inout Sampler, cache: (any RunCache)?, firstLayer: Int,
                       stage: (RunStage) -> Bool) throws -> (stage: RunStage, cache: any RunCache)? {
        guard !prompt.ids.isEmpty else { throw ModelError.badInput(reason: "no tokens", hint: "give at least one token") }
        let P = prompt.ids.count, C = config.hidden
        let probe = Probe()
        let kv = LlamaCache(layers: config.layers)
        var streams = [[Float]](repeating: [], count: config.layers + 1)
        let h = try forward(prompt.ids, cache: kv, probe: probe, streams: &streams)
        var run = ModelRun(logits: [], hidden: (0..<P).map { Array(h[($0 * C)..<(($0 + 1) * C)]) }, steps: P)
        var current = RunStage(trace: probe.trace, generated: [], run: run, complete: count == 0)
        guard stage(current) else { return nil }
        var generated: [Int] = []
        if count > 0 {
            // As `generate` (TokenStepper.generate, stopping at the first eos): every token is fed
            // back, so the trace covers it; the head runs only where the next token is sampled.
            var logits = self.logits(Array(h.suffix(C)), rows: 1)
            run.sampled.append(logits)
            run.sampledStart = P - 1
            for g in 0..<count {
                let next = sampler.sample(logits[...])
                generated.append(next)
                if let eos = config.eos.first, next == eos { break }
                guard kv.length < config.maxPositions else {
                    throw ModelError.badInput(reason: "the sequence reached the model's context of \(config.maxPositions) tokens",
                                              hint: "use a shorter prompt or fewer new tokens")
                }
                let last = g == count - 1
                let h1 = try forward([next], cache: kv, probe: probe, streams: &streams)
                if last { break }
                logits = self.logits(h1, rows: 1)
                run.sampled.append(logits)
                current = RunStage(trace: probe.trace, generated: generated, run: run, complete: false)
                guard stage(current) else { return nil }
            }
        }
        run.steps = P + generated.count
        current = RunStage(trace: probe.trace, generated: generated, run: run, complete: true)
        return (current, LlamaRunCache(tokens: prompt.ids + generated, streams: streams))
    }

    public func lens(row: [Float]) -> [Float]? {
        guard row.count == config.hidden else { return nil }
        var x = row
        normalize(&x, rows: 1, weight: finalNorm)
        return logits(x, rows: 1)
    }

    /// SpikeLLM's neuron has no frequency control: no rate-vs-k curve.
    public func siteRate(site: String, k: Float, cache: any RunCache) throws -> Double? { nil }
}
