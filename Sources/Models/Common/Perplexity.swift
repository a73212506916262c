// Perplexity as SpikeLLM's `main.py` measures it: the token stream cut into consecutive windows of
// the model's context, each run from a fresh state, the NLL of every token after the first in a
// window averaged over all of them; perplexity = exp(mean NLL). A last window shorter than the
// context is kept (the released code drops it) when it predicts at least one token.
// What it is not: a strided (overlapping) evaluation.

import Foundation

public struct PerplexityResult: Sendable, Equatable {
    /// Tokens predicted (scored).
    public var tokens: Int
    public var windows: Int
    public var meanNLL: Double
    public var perplexity: Double { exp(meanNLL) }
}

public enum Perplexity {
    /// −log softmax(logits)[target], in Double.
    public static func nll(_ logits: [Float], target: Int) -> Double {
        var mx = -Float.infinity
        for v in logits { mx = max(mx, v) }
        var sum = 0.0
        for v in logits { sum += exp(Double(v - mx)) }
        return log(sum) + Double(mx) - Double(logits[target])
    }

    /// Evaluates `ids` in windows of `window` tokens.
    /// - Throws: `ModelError.badInput` when fewer than two tokens are given, or what the model throws.
    public static func evaluate(_ model: any InspectableModel, ids: [Int], window: Int,
                                progress: ((Int, Int) -> Void)? = nil) throws -> PerplexityResult {
        guard ids.count >= 2 else { throw ModelError.badInput(reason: "the text has \(ids.count) token(s); perplexity needs at least 2", hint: "give a longer text") }
        guard window >= 2 else { throw ModelError.invalidInput(field: "--context", reason: "is \(window)", hint: "use at least 2") }
        var total = 0.0, count = 0, windows = 0
        var start = 0
        while start + 1 < ids.count {
            let chunk = Array(ids[start..<min(start + window, ids.count)])
            let run = try model.run(ModelInput(ids: chunk), probe: nil)
            for i in 0..<(chunk.count - 1) { total += nll(run.logits[i], target: chunk[i + 1]) }
            count += chunk.count - 1
            windows += 1
            start += window
            progress?(min(start, ids.count), ids.count)
        }
        return PerplexityResult(tokens: count, windows: windows, meanNLL: total / Double(count))
    }
}
