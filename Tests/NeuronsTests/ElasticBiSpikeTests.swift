// ElasticBiSpike: the released membrane update on hand-checked numbers, torch.round's half-to-even,
// calibration, the frequency control k (static / dynamic, coupled / threshold-only), variants.
// Expected values below were worked out by hand from SEEDS.md §2 (shown in the comments), not
// produced by the code under test.

import Testing
@testable import Neurons
import Engine

@Suite struct ElasticBiSpikeTests {
    func randomInput(T: Int, R: Int, C: Int, seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = SeededRNG(seed: seed)
        return Tensor(shape: [T, R, C]) { _ in rng.nextNormal() * scale }
    }

    @Test func releasedMembraneUpdateByHand() throws {
        // α = [1, 2, 1], k = 2 static (amplitude = threshold·2 = α). Three neurons, T = 3:
        //   t0: m = x0 = [0.7, -0.2, -0.9]         q = m/1   → s = [1, 0, -1], o = [1, 0, -1]
        //   t1: m = m0·0.25·(1 − o0) + x1, x1 = [0.1, 0.9, 0.2]
        //         = [0 + 0.1, -0.05 + 0.9, -0.45 + 0.2] = [0.1, 0.85, -0.25]   q = m/2 → s = [0, 0, 0]
        //   t2: m = m1·0.25·(2 − 0) + x2, x2 = [0.3, 0.3, 0]
        //         = [0.05 + 0.3, 0.425 + 0.3, -0.125] = [0.35, 0.725, -0.125]  q = m/1 → s = [0, 1, 0]
        var n = ElasticBiSpike(steps: 3, alpha: [1, 2, 1])
        let x = try Tensor(shape: [3, 1, 3], values: [0.7, -0.2, -0.9, 0.1, 0.9, 0.2, 0.3, 0.3, 0])
        let probe = Probe()
        let o = try n(x, site: "s", probe: probe)
        let tr = try #require(probe.trace["s"])
        let wantM: [Float] = [0.7, -0.2, -0.9, 0.1, 0.85, -0.25, 0.35, 0.725, -0.125]
        #expect(zip(tr.membrane, wantM).allSatisfy { abs($0 - $1) < 1e-6 }, "\(tr.membrane)")
        #expect(tr.spikes == [1, 0, -1, 0, 0, 0, 0, 1, 0])
        #expect(o.values == [1, 0, -1, 0, 0, 0, 0, 1, 0])
        #expect(tr.current == x.values)
        #expect(tr.layout == [3, 1])
        #expect(tr.amplitude == [1, 2, 1])
        #expect(tr.k == 2)
    }

    @Test func roundsHalfToEvenLikeTorch() throws {
        // torch.round: 0.5 → 0, 1.5 → 2, 2.5 → 2, −0.5 → −0, −1.5 → −2 (then clamp to ±1).
        #expect(ElasticBiSpike.roundHalfEven(0.5) == 0)
        #expect(ElasticBiSpike.roundHalfEven(1.5) == 2)
        #expect(ElasticBiSpike.roundHalfEven(2.5) == 2)
        #expect(ElasticBiSpike.roundHalfEven(-0.5) == 0)
        var n = ElasticBiSpike(steps: 1, alpha: [1], recurrent: false)
        let x = try Tensor(shape: [1, 7], values: [0.5, 1.5, 2.5, -0.5, -1.5, 0.49999997, 0.50000006])
        #expect(try n(x).values == [0, 1, 1, 0, -1, 0, 1])
    }

    @Test func calibratesOnRealRowsThenFreezes() throws {
        // Row 0 real (|m| mean = 1), row 1 padding (huge): α_0 = 2·1 = 2.
        var n = ElasticBiSpike(steps: 1)
        #expect(!n.isCalibrated)
        let x = try Tensor(shape: [1, 2, 2], values: [1, -1, 1000, 1000])
        _ = try n(x, validRows: [true, false])
        #expect(n.alpha == [2])
        _ = try n(try Tensor(shape: [1, 2, 2], values: [5, 5, 5, 5]))
        #expect(n.alpha == [2])   // frozen
        // Floor: an all-zero first input gives α = 1e-5 (the released eps), not 0.
        var z = ElasticBiSpike(steps: 1)
        _ = try z(Tensor(zeros: [1, 1, 4]))
        #expect(z.alpha == [1e-5])
    }

    func rate(_ o: Tensor) -> Double {
        let v = o.values
        return Double(v.filter { $0 != 0 }.count) / Double(v.count)
    }

    @Test(arguments: [true, false])
    func largerKFiresLess(recurrent: Bool) throws {
        let x = randomInput(T: 4, R: 32, C: 64, seed: 7)
        var n = ElasticBiSpike(steps: 4, recurrent: recurrent)
        _ = try n(x)   // calibrate at k = 2
        var rates: [Double] = []
        for k: Float in [0.25, 0.5, 1, 2, 4] {
            n.control.k = k
            rates.append(rate(try n(x)))
        }
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 > $1 }, "rates \(rates)")
        #expect(rates.first! > 0.5)
        #expect(rates.last! < 0.2)
    }

    @Test func dynamicModeRateIndependentOfScale() throws {
        // Per-timestep quantiser: a_t = k·mean|m_t| scales with the input, so the spikes are the same.
        let x = randomInput(T: 4, R: 16, C: 64, seed: 11)
        var big = x
        big.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] *= 10 } }
        var n = ElasticBiSpike(steps: 4, control: FrequencyControl(k: 1.5, mode: .dynamic), recurrent: false)
        let r1 = rate(try n(x)), r10 = rate(try n(big))
        #expect(abs(r1 - r10) < 1e-3, "\(r1) vs \(r10)")
        // Static mode with α calibrated on x: the 10× input fires far more often.
        var s = ElasticBiSpike(steps: 4, recurrent: false)
        let s1 = rate(try s(x)), s10 = rate(try s(big))
        #expect(s10 > s1 + 0.3, "\(s1) vs \(s10)")
        // T = 1 SpikeLinear membrane: the same invariance holds (no reset term yet).
        var one = ElasticBiSpike(steps: 1, control: FrequencyControl(k: 1.5, mode: .dynamic))
        let xs = try x.slice(axis: 0, 0..<1), bs = try big.slice(axis: 0, 0..<1)
        #expect(abs(rate(try one(xs)) - rate(try one(bs))) < 1e-3)
        // T = 4 SpikeLinear membrane: the released reset term m·0.25·(α − o) is quadratic in the
        // input's scale, so dynamic mode is only approximately scale-free there (printed, bounded).
        var rec = ElasticBiSpike(steps: 4, control: FrequencyControl(k: 1.5, mode: .dynamic))
        let q1 = rate(try rec(x)), q10 = rate(try rec(big))
        print("dynamic k=1.5, recurrent T=4: rate \(q1) at scale 1, \(q10) at scale 10")
        #expect(q1 > 0)
        #expect(q1 < 1)
        #expect(q10 > 0)
        #expect(q10 < 1)
    }

    @Test func thresholdOnlyCouplingKeepsAmplitude() throws {
        let x = randomInput(T: 1, R: 8, C: 32, seed: 3)
        var coupled = ElasticBiSpike(steps: 1, control: FrequencyControl(k: 1))
        _ = try coupled(x)                           // calibrate (k plays no part in α itself)
        let alpha = coupled.alpha[0]
        var thr = coupled
        thr.control.coupling = .thresholdOnly
        let oc = try coupled(x).values, ot = try thr(x).values
        // Same threshold (k/2·α/2) → same spikes; amplitudes α/2 (coupled, k = 1) and α (threshold-only).
        #expect(zip(oc, ot).allSatisfy { ($0 == 0) == ($1 == 0) })
        #expect(Set(oc.map(abs)).isSubset(of: [0, alpha / 2]))
        #expect(Set(ot.map(abs)).isSubset(of: [0, alpha]))
        #expect(thr.lastAmplitude == [alpha])
        #expect(thr.lastThreshold == [alpha / 4])
    }

    @Test func binaryAndSignedVariants() throws {
        let x = try Tensor(shape: [1, 6], values: [-2, -0.6, -0.2, 0.2, 0.6, 2])
        var b = ElasticBiSpike(steps: 1, alpha: [1], variant: .binary, recurrent: false)
        #expect(try b(x).values == [0, 0, 0, 0, 1, 1])           // fires when m/α > 1/2
        var s = ElasticBiSpike(steps: 1, alpha: [1], variant: .signed, recurrent: false)
        #expect(try s(x).values == [-1, -1, -1, 1, 1, 1])         // sign(m)·α
        s.control.k = 4                                           // k scales the amplitude only
        #expect(try s(x).values == [-2, -2, -2, 2, 2, 2])
        let p = Probe()
        _ = try b(x, site: "b", probe: p)
        #expect(p.trace["b"]?.neuron == .binary)
    }

    @Test func rejectsWrongTimestepAxis() throws {
        var n = ElasticBiSpike(steps: 4)
        #expect(throws: EngineError.self) { try n(Tensor(zeros: [3, 2, 2])) }
    }
}
