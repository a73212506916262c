// Tests of SpikeGPTRunner (SpikeGPT+Fast.swift) and the batched GEMV kernels it uses.
// References: the NumPy float64 fixture (Tests/Reference/spikegpt_ref.py → tiny_expected.json),
// `SpikeGPT.step` (the plain recurrent form), and scalar loops written here.
import Testing
import Foundation
@testable import Models
import Engine
import Neurons
import CKernels

@Suite struct SpikeGPTFastTests {
    /// Independent fp32 → bf16 → fp32 rounding (nearest, ties to even) by comparing the two
    /// neighbouring bf16 values, not by the bit trick of the runner.
    static func roundBF16(_ f: Float) -> Float {
        let lo = Float(bitPattern: f.bitPattern & 0xFFFF_0000)
        let hi = Float(bitPattern: (f.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
        let dl = abs(Double(f) - Double(lo)), dh = abs(Double(hi) - Double(f))
        if dl < dh { return lo }
        if dh < dl { return hi }
        return (lo.bitPattern >> 16) & 1 == 0 ? lo : hi
    }

    static func randomModel(layers: Int = 3, width: Int = 64, vocab: Int = 50, seed: UInt64 = 7) throws -> SpikeGPT {
        let cfg = SpikeGPTConfig(layers: layers, width: width, vocab: vocab)
        return try SpikeGPT(weights: SpikeGPTGraph.initialWeights(cfg, seed: seed), config: cfg)
    }

    /// Runs `tokens` through `SpikeGPT.step` and the runner side by side; returns the max |Δlogit|
    /// and the max |Δ| of the recurrent state after the last token.
    static func compare(_ model: SpikeGPT, _ runner: SpikeGPTRunner, tokens: [Int]) throws -> (logits: Float, state: Float) {
        var st = model.initialState()
        runner.reset()
        var maxDiff: Float = 0
        for t in tokens {
            let ref = try model.step(token: t, state: &st).logits.values
            let got = try runner.step(token: t)
            for j in ref.indices { maxDiff = max(maxDiff, abs(ref[j] - got[j])) }
        }
        let rs = runner.state
        var sd: Float = 0
        for (a, b) in [(st.aa, rs.aa), (st.bb, rs.bb), (st.lifAtt, rs.lifAtt), (st.lifFfn, rs.lifFfn),
                       (st.attShift, rs.attShift), (st.ffnShift, rs.ffnShift)] {
            for j in a.indices { sd = max(sd, abs(a[j] - b[j]) / max(1, abs(a[j]))) }
        }
        #expect(rs.position == st.position)
        return (maxDiff, sd)
    }

    /// The runner against the NumPy float64 reference of the tiny fixture (independent of our code).
    @Test(arguments: ["lif", "none"]) func tinyFixtureMatchesNumPy(neuron: String) throws {
        let w = try Fixture.safetensors("spikegpt/tiny.safetensors")
        let expected = try Fixture.json("spikegpt/tiny_expected.json")
        var model = try SpikeGPT(weights: w)
        model.controls.neuron = neuron == "lif" ? .lif : .none
        let tokens = expected["tokens"] as! [Int]
        let ref = floats2D(((expected["runs"] as! [String: Any])[neuron] as! [String: Any])["logits"])
        for opts in [SpikeGPTRunner.Options(threads: 1), SpikeGPTRunner.Options(sparseFFN: true, threads: 2)] {
            let runner = try SpikeGPTRunner(model: model, options: opts)
            var maxDiff: Float = 0
            for (t, id) in tokens.enumerated() {
                let l = try runner.step(token: id)
                for j in 0..<l.count { maxDiff = max(maxDiff, abs(l[j] - ref[t][j])) }
            }
            #expect(maxDiff <= 1e-4, "\(neuron) \(opts): max |Δlogit| vs NumPy = \(maxDiff)")
            let d = try SpikeGPTFastTests.compare(model, runner, tokens: tokens)
            #expect(d.logits <= 1e-4 && d.state <= 1e-4)
        }
    }

    /// The runner against the OFFICIAL recurrent code (ridgerchu/SpikeGPT src/model_run.py, fp32,
    /// its ÷2 rescaling switched off, spikingjelly LIFNode), run on the tiny fixture by
    /// Tests/Reference/bench_spikegpt_torch.py --feed … --out official_model_run_logits.json.
    @Test func tinyFixtureMatchesOfficialModelRun() throws {
        let w = try Fixture.safetensors("spikegpt/tiny.safetensors")
        let official = try Fixture.json("spikegpt/official_model_run_logits.json")
        let check = official["check"] as! [String: Any]
        let tokens = check["tokens"] as! [Int]
        let ref = floats2D(check["logits"])
        let runner = try SpikeGPTRunner(model: try SpikeGPT(weights: w))
        var maxDiff: Float = 0
        for (t, id) in tokens.enumerated() {
            let l = try runner.step(token: id)
            for j in 0..<l.count { maxDiff = max(maxDiff, abs(l[j] - ref[t][j])) }
        }
        #expect(tokens.count == 12 && maxDiff <= 1e-4, "max |Δlogit| vs official model_run.py = \(maxDiff)")
    }

    /// A random 3-layer model, 60 tokens: every option pair matches `SpikeGPT.step`.
    @Test(arguments: [(1, false), (2, false), (1, true), (2, true)])
    func randomModelMatchesStep(threads: Int, sparse: Bool) throws {
        let model = try SpikeGPTFastTests.randomModel()
        let runner = try SpikeGPTRunner(model: model, options: .init(weights: .f32, sparseFFN: sparse, threads: threads))
        var rng = SeededRNG(seed: 3)
        let tokens = (0..<60).map { _ in Int(rng.next() % 50) }
        let d = try SpikeGPTFastTests.compare(model, runner, tokens: tokens)
        print("runner threads \(threads) sparse \(sparse): max |Δlogit| \(d.logits), max rel |Δstate| \(d.state)")
        #expect(d.logits <= 1e-4, "max |Δlogit| = \(d.logits)")
        #expect(d.state <= 1e-4, "max rel |Δstate| = \(d.state)")
        // The relu² input really is sparse on this model, so the event-driven path was exercised.
        #expect(runner.ffnActive > 0 && runner.ffnActive < runner.ffnInputs)
        if sparse { #expect(runner.bytesPerToken < Double(runner.denseBytesPerToken)) }
    }

    /// bf16 runner = `SpikeGPT.step` on a model whose matrices were rounded to bf16 (rounded here
    /// independently), since accumulation stays fp32.
    @Test(arguments: [false, true]) func bf16MatchesRoundedModel(sparse: Bool) throws {
        let cfg = SpikeGPTConfig(layers: 3, width: 64, vocab: 50)
        var w = SpikeGPTGraph.initialWeights(cfg, seed: 11)
        let model = try SpikeGPT(weights: w, config: cfg)
        for (name, t) in w where t.rank == 2 && name != "emb.weight" {
            w[name] = try Tensor(shape: t.shape, values: t.values.map(SpikeGPTFastTests.roundBF16))
        }
        let rounded = try SpikeGPT(weights: w, config: cfg)
        let runner = try SpikeGPTRunner(model: model, options: .init(weights: .bf16, sparseFFN: sparse, threads: 2))
        let tokens = (0..<40).map { ($0 * 7 + 3) % 50 }
        let d = try SpikeGPTFastTests.compare(rounded, runner, tokens: tokens)
        #expect(d.logits <= 1e-4, "max |Δlogit| = \(d.logits)")
    }

    @Test func bf16RoundingTiesToEven() {
        // 1 + 2⁻⁸ is halfway between bf16 1 and 1 + 2⁻⁷: ties go to the even mantissa (1).
        #expect(SpikeGPTRunner.bf16(1 + 0x1p-8) == 0x3F80)
        #expect(SpikeGPTRunner.bf16(1 + 3 * 0x1p-8) == 0x3F82)
        var rng = SeededRNG(seed: 5)
        for _ in 0..<2000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0xBFFF_FFFF)  // finite
            let got = Float(bitPattern: UInt32(SpikeGPTRunner.bf16(f)) << 16)
            #expect(got == SpikeGPTFastTests.roundBF16(f) || (f.isInfinite))
        }
    }

    /// The batched kernels against scalar loops in Double, sizes 1, 7, 8, 9, 1023 on each side
    /// (SIMD bodies, tails, chunk edges), one and two threads. Tolerance 1e-5 of Σ|w·x|: fp32
    /// accumulation in any order errs by at most ~n·2⁻²⁴·Σ|w·x|, and in practice far less.
    @Test(arguments: [(1, 1, 1), (7, 9, 2), (8, 8, 1), (9, 7, 2), (37, 203, 2), (1023, 9, 2), (9, 1023, 1), (1023, 1023, 2)])
    func batchKernelsMatchScalar(nOut: Int, nIn: Int, threads: Int) {
        var rng = SeededRNG(seed: UInt64(nOut * 10_000 + nIn))
        let W = (0..<(nOut * nIn)).map { _ in rng.nextUniform() * 2 - 1 }
        let Wb = W.map(SpikeGPTRunner.bf16)
        var x = (0..<nIn).map { _ in rng.nextUniform() * 2 - 1 }
        for j in stride(from: 0, to: nIn, by: 3) { x[j] = 0 }
        // Wt[j, o] = W[o, j]
        var Wt = [Float](repeating: 0, count: nIn * nOut), Wtb = [UInt16](repeating: 0, count: nIn * nOut)
        for o in 0..<nOut { for j in 0..<nIn { Wt[j * nOut + o] = W[o * nIn + j]; Wtb[j * nOut + o] = Wb[o * nIn + j] } }
        var ref = [Double](repeating: 0, count: nOut), refB = ref, scale = ref
        for o in 0..<nOut {
            for j in 0..<nIn {
                ref[o] += Double(W[o * nIn + j]) * Double(x[j])
                refB[o] += Double(Float(bitPattern: UInt32(Wb[o * nIn + j]) << 16)) * Double(x[j])
                scale[o] += abs(Double(W[o * nIn + j]) * Double(x[j]))
            }
        }
        // Four outputs side by side in one buffer: ys[kind * nOut + o].
        var ys = [Float](repeating: .nan, count: 4 * nOut)
        W.withUnsafeBufferPointer { w in Wb.withUnsafeBufferPointer { wb in
            Wt.withUnsafeBufferPointer { wt in Wtb.withUnsafeBufferPointer { wtb in x.withUnsafeBufferPointer { xp in
                ys.withUnsafeMutableBufferPointer { yp in
                    let y = yp.baseAddress!
                    let spec: [(Int32, UnsafeRawPointer?)] = [(Int32(SS_GEMV_F32), UnsafeRawPointer(w.baseAddress)),
                                                              (Int32(SS_GEMV_BF16), UnsafeRawPointer(wb.baseAddress)),
                                                              (Int32(SS_GEMV_SPARSE_F32), UnsafeRawPointer(wt.baseAddress)),
                                                              (Int32(SS_GEMV_SPARSE_BF16), UnsafeRawPointer(wtb.baseAddress))]
                    let jobs = spec.enumerated().map { i, s in
                        ss_gemv_job(kind: s.0, n_out: Int32(nOut), n_in: Int32(nIn), y: y + i * nOut, W: s.1, x: xp.baseAddress)
                    }
                    jobs.withUnsafeBufferPointer { ss_gemv_batch($0.baseAddress, 4, Int32(threads)) }
                }
            } } }
        } }
        var worst = [Double](repeating: 0, count: 4)
        for o in 0..<nOut {
            let tol = 1e-5 * max(1e-3, scale[o])
            for (kind, r) in [(0, ref[o]), (1, refB[o]), (2, ref[o]), (3, refB[o])] {
                let d = abs(Double(ys[kind * nOut + o]) - r)
                worst[kind] = max(worst[kind], d)
                #expect(d <= tol, "\(nOut)x\(nIn) threads \(threads) kind \(kind) row \(o): |Δ| \(d) > \(tol)")
            }
        }
        print("gemv batch \(nOut)x\(nIn) threads \(threads): max |Δ| f32 \(worst[0]) bf16 \(worst[1]) sparse f32 \(worst[2]) sparse bf16 \(worst[3])")
    }

    @Test func greedyGenerationMatchesSampler() throws {
        let model = try SpikeGPTFastTests.randomModel(seed: 21)
        var sampler = Sampler()
        var st = model.initialState()
        let ref = try model.generate(prompt: [1, 2, 3], count: 30, sampler: &sampler, state: &st)
        let runner = try SpikeGPTRunner(model: model)
        #expect(try runner.generateGreedy(prompt: [1, 2, 3], count: 30) == ref)
    }

    @Test func badInputsThrow() throws {
        var model = try SpikeGPTFastTests.randomModel(layers: 1, width: 16, vocab: 10)
        let runner = try SpikeGPTRunner(model: model)
        #expect(throws: ModelError.self) { try runner.step(token: 10) }
        #expect(throws: ModelError.self) { try runner.generateGreedy(prompt: [], count: 3) }
        model.controls.neuron = .gif
        #expect(throws: ModelError.self) { try SpikeGPTRunner(model: model) }
    }
}
