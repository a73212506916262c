// Sampler: picks the next token from logits — greedy, temperature, top-p (nucleus) — seeded.
// What it is not: beam search.

import Foundation
import Engine
import Neurons

public struct SamplerConfig: Sendable, Codable, Equatable {
    /// 0 → greedy (argmax). Otherwise logits are divided by it before the softmax.
    public var temperature: Float = 0
    /// Nucleus mass in (0, 1]; 1 keeps every token.
    public var topP: Float = 1
    public var seed: UInt64 = 0
    public init(temperature: Float = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature; self.topP = topP; self.seed = seed
    }
}

public struct Sampler: Sendable {
    public var config: SamplerConfig
    var rng: SeededRNG

    public init(_ config: SamplerConfig = SamplerConfig()) {
        self.config = config
        self.rng = SeededRNG(seed: config.seed)
    }

    /// Index of the largest logit (first one on ties).
    public static func argmax(_ logits: ArraySlice<Float>) -> Int {
        var best = logits.startIndex
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best - logits.startIndex
    }

    /// Draws one token id from `logits` [V].
    public mutating func sample(_ logits: ArraySlice<Float>) -> Int {
        if config.temperature <= 0 { return Sampler.argmax(logits) }
        let l = Array(logits)
        let m = l.max() ?? 0
        // p_i ∝ exp((l_i − max)/temperature)
        var p = l.map { expf(($0 - m) / config.temperature) }
        let z = p.reduce(0, +)
        for i in p.indices { p[i] /= z }
        var order = Array(p.indices)
        order.sort { p[$0] > p[$1] }
        // Keep the smallest prefix whose mass reaches top_p (always at least one token).
        var kept: [Int] = [], mass: Float = 0
        for i in order {
            kept.append(i); mass += p[i]
            if mass >= config.topP { break }
        }
        var u = rng.nextUniform() * mass
        for i in kept {
            u -= p[i]
            if u <= 0 { return i }
        }
        return kept.last!
    }
}
