// Generation: the one loop that continues a prompt — feed the prompt, then sample, feed, sample —
// over any `TokenStepper` (a model's recurrent or KV-cached state). The workbench's traced
// generation, `inspect --generate` and the benchmarks all run it; they differ only in the
// stepper (traced reference forward, or the fast runner) and the sampler.
// What it is not: beam search, or batching.

import Foundation

/// Feeds tokens one at a time and returns the next-token logits after each.
public protocol TokenStepper: AnyObject {
    func nextLogits(after token: Int) throws -> [Float]
    /// Feeds a whole prompt; the logits after its last token. Default: one `nextLogits` per
    /// token (a family may run its parallel form instead).
    func prime(_ prompt: [Int]) throws -> [Float]
}

extension TokenStepper {
    public func prime(_ prompt: [Int]) throws -> [Float] {
        var logits: [Float] = []
        for t in prompt { logits = try nextLogits(after: t) }
        return logits
    }

    /// Feeds `prompt`, then samples up to `count` tokens, stopping after `stopToken`. Each sampled
    /// token is fed back (so the state, and a trace, cover it) except the last one when
    /// `feedLast` is false (nothing would read its logits).
    /// - Returns: the new tokens and the seconds spent after the prompt.
    public func generate(prompt: [Int], count: Int, sampler: inout Sampler, stopToken: Int? = nil,
                         feedLast: Bool = true) throws -> (tokens: [Int], seconds: Double) {
        guard !prompt.isEmpty else { throw ModelError.badInput(reason: "no prompt tokens", hint: "give at least one token") }
        var logits = try prime(prompt)
        let t0 = DispatchTime.now().uptimeNanoseconds
        var out: [Int] = []
        out.reserveCapacity(count)
        for n in 0..<count {
            let next = sampler.sample(logits[...])
            out.append(next)
            if let stopToken, next == stopToken { break }
            if feedLast || n + 1 < count { logits = try nextLogits(after: next) }
        }
        return (out, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
}
