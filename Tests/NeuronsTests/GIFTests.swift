import Testing
import Foundation
@testable import Neurons
import Engine

@Suite struct GIFTests {
    /// GIF(T, L) fires exactly as IF over T binary steps on a constant input. Inputs whose T·x/θ
    /// lies within 1e-4 of an integer are excluded: there float rounding of the running sums (IF adds
    /// x T times, GIF adds L·x T/L times) may fall either side of the boundary.
    @Test(arguments: [(8, 1), (8, 2), (8, 4), (8, 8), (12, 3), (16, 4)])
    func gifEqualsIntegrateAndFireOnConstantInputs(T: Int, L: Int) throws {
        var rng = SeededRNG(seed: UInt64(T * 100 + L))
        let theta: Float = 0.7
        for bidirectional in [false, true] {
            let cfg = GIFConfig(timesteps: T, levels: L, bidirectional: bidirectional)
            try cfg.validate()
            var checked = 0
            for _ in 0..<500 {
                let x = (rng.nextUniform() * 3 - 1.5) * theta
                let q = Float(T) * x / theta
                if abs(q - q.rounded()) < 1e-4 { continue }
                let gif = GIF.encode(x, theta: theta, config: cfg)
                let ifn = GIF.integrateAndFire(x, theta: theta, timesteps: T, bidirectional: bidirectional)
                #expect(abs(gif - ifn) <= 1e-6, "x = \(x), T = \(T), L = \(L), bi = \(bidirectional): \(gif) vs \(ifn)")
                checked += 1
            }
            #expect(checked > 400)
        }
    }

    @Test func lEqualsTIsAUniformQuantiser() {
        let T = 8, theta: Float = 2
        let cfg = GIFConfig(timesteps: T, levels: T, bidirectional: false)
        let step = theta / Float(T)
        for i in 0..<200 {
            let x = Float(i) * 0.0137 - 0.3
            let expected = min(max((x / step).rounded(.down), 0), Float(T)) * step
            #expect(abs(GIF.encode(x, theta: theta, config: cfg) - expected) <= 1e-6)
        }
    }

    @Test func bitsPerActivationAreExact() {
        #expect(GIFConfig(timesteps: 8, levels: 4, bidirectional: false).bitsPerActivation == 2 * log2(5.0))
        #expect(GIFConfig(timesteps: 8, levels: 4, bidirectional: true).bitsPerActivation == 2 * log2(9.0))
        #expect(GIFConfig(timesteps: 4, levels: 1, bidirectional: false).bitsPerActivation == 4)
        #expect(throws: NeuronError.self) { try GIFConfig(timesteps: 6, levels: 4).validate() }
    }

    @Test func levelsSumToTheDecodedCount() {
        let cfg = GIFConfig(timesteps: 12, levels: 3, bidirectional: true)
        var lv = [Float](repeating: 0, count: cfg.steps)
        let x: Float = -0.41, theta: Float = 0.5
        let dec = lv.withUnsafeMutableBufferPointer { GIF.encode(x, theta: theta, config: cfg, levels: $0.baseAddress!) }
        #expect(lv.allSatisfy { abs($0) <= 3 })
        #expect(abs(dec - theta / 12 * lv.reduce(0, +)) < 1e-6)
        // More steps resolve the value more finely.
        let coarse = abs(GIF.encode(x, theta: theta, config: GIFConfig(timesteps: 3, levels: 3)) - x)
        let fine = abs(GIF.encode(x, theta: theta, config: GIFConfig(timesteps: 24, levels: 3)) - x)
        #expect(fine < coarse)
    }

    @Test func higherKFiresLess() {
        let x: [Float] = (0..<64).map { Float($0) / 64 }
        func count(_ k: Float) -> Float {
            let r = GIF.quantize(x, rows: 1, width: 64, theta: 1, base: GIFConfig(timesteps: 8, levels: 4, bidirectional: false, k: k))
            return r.levels.map(abs).reduce(0, +)
        }
        #expect(count(1) > count(2) && count(2) > count(4))
    }
}

@Suite struct LIFTests {
    /// Hand-checked SpikingJelly LIF (tau 2, v_th 1, hard reset to 0): h = v + (x − v)/2.
    @Test func stepsLikeSpikingJelly() {
        var lif = LIF(width: 1)
        let xs: [Float] = [1.5, 1.5, 0.2, 3.0, -1.0]
        // h: 0.75 → s0; v=.75; h=1.125 → s1, v=0; h=0.1; h=1.55 → s1, v=0; h=−0.5
        let expectH: [Float] = [0.75, 1.125, 0.1, 1.55, -0.5], expectS: [Float] = [0, 1, 0, 1, 0]
        for (i, x) in xs.enumerated() {
            var s: Float = 0, h: Float = 0
            withUnsafePointer(to: x) { xp in lif.step(xp, spikes: &s, charged: &h) }
            #expect(abs(h - expectH[i]) < 1e-6 && s == expectS[i])
        }
    }

    @Test func kScalesTheThreshold() {
        var c = LIFConfig(); c.k = 3
        #expect(c.threshold == 1.5)
        var lif = LIF(width: 1, config: c)
        var s: Float = 0
        let x: Float = 2.5  // h = 1.25 < 1.5
        withUnsafePointer(to: x) { lif.step($0, spikes: &s) }
        #expect(s == 0)
    }
}
