import Testing
import Foundation
@testable import Models
import Neurons
import Engine

@Suite struct OptimalBrainSpikingTests {
    /// Calibration data with three planted outlier channels (×12 magnitude), as LLM activations have.
    func data() -> (x: [Float], w: [Float], R: Int, C: Int, O: Int) {
        var rng = SeededRNG(seed: 42)
        let R = 64, C = 48, O = 32
        var x = [Float](repeating: 0, count: R * C)
        for r in 0..<R { for c in 0..<C { x[r * C + c] = rng.nextNormal() * ([5, 20, 33].contains(c) ? 12 : 1) } }
        let w = (0..<(O * C)).map { _ in rng.nextNormal() * 0.2 }
        return (x, w, R, C, O)
    }

    @Test func saliencyRanksThePlantedOutliersFirst() {
        let d = data()
        let s = OptimalBrainSpiking.saliency(x: d.x, rows: d.R, weight: d.w, out: d.O, in: d.C)
        let top = (0..<d.C).sorted { s[$0] > s[$1] }.prefix(3)
        #expect(Set(top) == [5, 20, 33])
        // Independent check of one entry: S_j = mean x_j² · Σ_o W[o, j]².
        let j = 7
        let h = (0..<d.R).map { Double(d.x[$0 * d.C + j] * d.x[$0 * d.C + j]) }.reduce(0, +) / Double(d.R)
        let wn = (0..<d.O).map { Double(d.w[$0 * d.C + j] * d.w[$0 * d.C + j]) }.reduce(0, +)
        #expect(abs(Double(s[j]) - h * wn) / (h * wn) < 1e-5)
    }

    /// Budgets of exactly u merged steps per channel (u·log2(5) bits with L = 2, bidirectional), so
    /// both allocations spend exactly the same average bits: uniform gives every channel u steps,
    /// saliency gives the 3 outliers u + 15 and the other 45 channels u − 1 (3·15 = 45·1).
    @Test(arguments: [2, 3, 4]) func saliencyBeatsUniformAtEqualBits(stepsPerChannel u: Int) {
        let bits = Double(u) * log2(5.0)
        let d = data()
        let theta = d.x.map(abs).max()!
        let base = GIFConfig(timesteps: 4, levels: 2, bidirectional: true)
        let sal = OptimalBrainSpiking.allocate(x: d.x, rows: d.R, weight: d.w, out: d.O, in: d.C, theta: theta,
                                               bits: bits, outlierFraction: 0.0625, base: base)
        let uni = OptimalBrainSpiking.allocate(x: d.x, rows: d.R, weight: d.w, out: d.O, in: d.C, theta: theta,
                                               bits: bits, outlierFraction: 0, base: base)
        #expect(abs(uni.averageBits - bits) < 1e-9 && abs(sal.averageBits - bits) < 1e-9)
        #expect(Set(sal.outliers) == [5, 20, 33])
        let eS = OptimalBrainSpiking.outputError(x: d.x, rows: d.R, weight: d.w, out: d.O, in: d.C, theta: theta, base: base, allocation: sal)
        let eU = OptimalBrainSpiking.outputError(x: d.x, rows: d.R, weight: d.w, out: d.O, in: d.C, theta: theta, base: base, allocation: uni)
        print("OBS bits \(bits): uniform \(uni.averageBits) bits err \(eU); saliency \(sal.averageBits) bits err \(eS)")
        #expect(eS <= eU)
    }
}
