// Seeded random numbers: every random choice in spikescope (init, dropout, data order, sampling)
// goes through this, so runs repeat exactly from a seed. SplitMix64 (Steele et al. 2014).

public struct SeededRNG: RandomNumberGenerator, Sendable, Codable, Equatable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Standard normal (Box–Muller).
    public mutating func nextNormal() -> Float {
        let u1 = max(nextUniform(), 1e-7), u2 = nextUniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }
}

import Foundation

extension Tensor {
    /// Normal(0, std) values from a seeded generator.
    public static func randomNormal(_ shape: [Int], std: Float = 1, rng: inout SeededRNG) -> Tensor {
        var t = Tensor(zeros: shape)
        t.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = rng.nextNormal() * std } }
        return t
    }

    /// Uniform(lo, hi) values from a seeded generator.
    public static func randomUniform(_ shape: [Int], _ lo: Float, _ hi: Float, rng: inout SeededRNG) -> Tensor {
        var t = Tensor(zeros: shape)
        t.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = lo + (hi - lo) * rng.nextUniform() } }
        return t
    }
}
