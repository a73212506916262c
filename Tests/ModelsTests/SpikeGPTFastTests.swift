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
        // bf16 panels (32-byte aligned, as the kernel's aligned loads need).
        let panelCount = Int(ss_bf16_panel_count(Int32(nOut), Int32(nIn)))
        let panels = UnsafeMutableRawPointer.allocate(byteCount: panelCount * 2, alignment: 64)
        defer { panels.deallocate() }
        Wb.withUnsafeBufferPointer { ss_bf16_panel_pack(Int32(nOut), Int32(nIn), panels.bindMemory(to: UInt16.self, capacity: panelCount), $0.baseAddress) }
        // Six outputs side by side in one buffer: ys[kind * nOut + o]: 0 f32 rows, 1 sparse f32,
        // 2 sparse bf16, 3 bf16 panels, 4/5 sparse f32/bf16 split by inputs (with a partial buffer).
        let kinds = 6
        var ys = [Float](repeating: .nan, count: kinds * nOut)
        var partials = [Float](repeating: .nan, count: 2 * nOut)
        W.withUnsafeBufferPointer { w in
            Wt.withUnsafeBufferPointer { wt in Wtb.withUnsafeBufferPointer { wtb in x.withUnsafeBufferPointer { xp in
                ys.withUnsafeMutableBufferPointer { yp in partials.withUnsafeMutableBufferPointer { pp in
                    let y = yp.baseAddress!, part = pp.baseAddress!
                    let spec: [(Int32, UnsafeRawPointer?, UnsafeMutablePointer<Float>?)] = [
                        (Int32(SS_GEMV_F32), UnsafeRawPointer(w.baseAddress), nil),
                        (Int32(SS_GEMV_SPARSE_F32), UnsafeRawPointer(wt.baseAddress), nil),
                        (Int32(SS_GEMV_SPARSE_BF16), UnsafeRawPointer(wtb.baseAddress), nil),
                        (Int32(SS_GEMV_BF16_PANEL), UnsafeRawPointer(panels), nil),
                        (Int32(SS_GEMV_SPARSE_F32), UnsafeRawPointer(wt.baseAddress), part),
                        (Int32(SS_GEMV_SPARSE_BF16), UnsafeRawPointer(wtb.baseAddress), part + nOut)]
                    let jobs = spec.enumerated().map { i, s in
                        ss_gemv_job(kind: s.0, n_out: Int32(nOut), n_in: Int32(nIn), y: y + i * nOut, W: s.1, x: xp.baseAddress, partial: s.2)
                    }
                    jobs.withUnsafeBufferPointer { ss_gemv_batch($0.baseAddress, Int32(kinds), Int32(threads)) }
                } }
            } } }
        }
        var worst = [Double](repeating: 0, count: kinds)
        for o in 0..<nOut {
            let tol = 1e-5 * max(1e-3, scale[o])
            for kind in 0..<kinds {
                let r = [0, 1, 4].contains(kind) ? ref[o] : refB[o]
                let d = abs(Double(ys[kind * nOut + o]) - r)
                worst[kind] = max(worst[kind], d)
                #expect(d <= tol, "\(nOut)x\(nIn) threads \(threads) kind \(kind) row \(o): |Δ| \(d) > \(tol)")
            }
        }
        print("gemv batch \(nOut)x\(nIn) threads \(threads): max |Δ| per kind \(worst)")
    }

    /// The panel kernels (AVX-512F, AVX2) and their portable twin give the same bits (edge panels,
    /// odd n_in).
    @Test(arguments: [(1, 1), (33, 7), (77, 131), (64, 512)])
    func bf16PanelVectorEqualsPortable(nOut: Int, nIn: Int) {
        var rng = SeededRNG(seed: UInt64(nOut * 7 + nIn))
        let Wb = (0..<(nOut * nIn)).map { _ in SpikeGPTRunner.bf16(rng.nextUniform() * 2 - 1) }
        let x = (0..<nIn).map { _ in rng.nextUniform() * 2 - 1 }
        let count = Int(ss_bf16_panel_count(Int32(nOut), Int32(nIn)))
        let panels = UnsafeMutableRawPointer.allocate(byteCount: count * 2, alignment: 64)
        defer { panels.deallocate() }
        let P = panels.bindMemory(to: UInt16.self, capacity: count)
        Wb.withUnsafeBufferPointer { ss_bf16_panel_pack(Int32(nOut), Int32(nIn), P, $0.baseAddress) }
        var yv = [Float](repeating: .nan, count: nOut), yp = yv
        ss_gemv_bf16_panel(Int32(nOut), Int32(nIn), &yv, P, x)
        ss_gemv_bf16_panel_portable(Int32(nOut), Int32(nIn), &yp, P, x)
        #expect(yv.map(\.bitPattern) == yp.map(\.bitPattern))
        // Each SIMD path this CPU has, explicitly (the AVX2 kernel too where AVX-512F is chosen).
        for (path, name) in [(1, "avx2-fma"), (2, "avx512f")] {
            var y = [Float](repeating: .nan, count: nOut)
            guard ss_gemv_bf16_panel_on(Int32(path), Int32(nOut), Int32(nIn), &y, P, x) == 1 else {
                print("bf16 panel path \(name) not checked: this CPU lacks it (or SPIKESCOPE_NO_AVX512 is set)")
                continue
            }
            #expect(y.map(\.bitPattern) == yp.map(\.bitPattern), "\(name) \(nOut)x\(nIn)")
        }
    }

    /// ss_exp_f32 against Double exp: relative error < 2.5e-7 (two float ulps at most) on a dense
    /// sample of [−87, 88], exact at 0, and the edges: 0 below −87.34, +inf above 88.73, NaN kept.
    @Test func vectorExpIsAccurate() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let e = exp(Double(x))
            worst = max(worst, abs(Double(ss_exp_f32(x)) - e) / e)
            x += 0.000_731
        }
        print("ss_exp_f32 max relative error \(worst)")
        #expect(worst < 2.5e-7)
        #expect(ss_exp_f32(0) == 1)
        #expect(ss_exp_f32(-100) == 0 && ss_exp_f32(-.infinity) == 0)
        #expect(ss_exp_f32(100) == .infinity)
        #expect(ss_exp_f32(.nan).isNaN)
    }

    /// The WKV step: vector == portable bit for bit (43 channels = AVX-512's 2·16, then AVX2's 8,
    /// then 3 scalar; −1e38 initial pp, large k), every path this CPU has, and all against the
    /// formulas of SEEDS.md evaluated in Double (relative 1e-5).
    @Test func wkvStepMatchesFormulas() {
        let C = 43
        var rng = SeededRNG(seed: 3)
        func vec(_ s: Float) -> [Float] { (0..<C).map { _ in (rng.nextUniform() * 2 - 1) * s } }
        let k = vec(30), v = vec(2), r = vec(6), u = vec(1), w = vec(3).map { -abs($0) }
        var aa = vec(1), bb = vec(1).map { abs($0) + 0.5 }, pp = vec(5)
        pp[0] = -1e38; pp[9] = -1e38; aa[0] = 0; bb[0] = 0; aa[9] = 0; bb[9] = 0
        pp[37] = -1e38; aa[37] = 0; bb[37] = 0
        let (aa0, bb0, pp0) = (aa, bb, pp)
        var aa2 = aa, bb2 = bb, pp2 = pp, y = [Float](repeating: .nan, count: C), y2 = y
        // Double reference of the same step (running-max form is exact algebra of the plain sums)
        var refY = [Double](), refA = [Double](), refB = [Double](), refP = [Double]()
        for c in 0..<C {
            let kk = Double(k[c]), vv = Double(v[c]), a0 = Double(aa[c]), b0 = Double(bb[c]), p0 = Double(pp[c])
            var ww = Double(u[c]) + kk, p = max(p0, ww)
            var e1 = Foundation.exp(p0 - p), e2 = Foundation.exp(ww - p)
            refY.append((e1 * a0 + e2 * vv) / (e1 * b0 + e2) / (1 + Foundation.exp(-Double(r[c]))))
            ww = p0 + Double(w[c]); p = max(ww, kk)
            e1 = Foundation.exp(ww - p); e2 = Foundation.exp(kk - p)
            refA.append(e1 * a0 + e2 * vv); refB.append(e1 * b0 + e2); refP.append(p)
        }
        ss_wkv_step(Int32(C), k, v, r, u, w, &aa, &bb, &pp, &y)
        ss_wkv_step_portable(Int32(C), k, v, r, u, w, &aa2, &bb2, &pp2, &y2)
        #expect(y.map(\.bitPattern) == y2.map(\.bitPattern))
        #expect(aa.map(\.bitPattern) == aa2.map(\.bitPattern) && bb.map(\.bitPattern) == bb2.map(\.bitPattern))
        #expect(pp.map(\.bitPattern) == pp2.map(\.bitPattern))
        for (path, name) in [(1, "avx2-fma"), (2, "avx512f")] {
            var a3 = aa0, b3 = bb0, p3 = pp0, y3 = [Float](repeating: .nan, count: C)
            guard ss_wkv_step_on(Int32(path), Int32(C), k, v, r, u, w, &a3, &b3, &p3, &y3) == 1 else {
                print("WKV path \(name) not checked: this CPU lacks it (or SPIKESCOPE_NO_AVX512 is set)")
                continue
            }
            #expect(y3.map(\.bitPattern) == y2.map(\.bitPattern) && a3.map(\.bitPattern) == aa2.map(\.bitPattern)
                    && b3.map(\.bitPattern) == bb2.map(\.bitPattern) && p3.map(\.bitPattern) == pp2.map(\.bitPattern), "WKV path \(name)")
        }
        func close(_ a: Float, _ b: Double) -> Bool { abs(Double(a) - b) <= 1e-5 * max(1, abs(b)) }
        for c in 0..<C {
            #expect(close(y[c], refY[c]), "y[\(c)] \(y[c]) vs \(refY[c])")
            #expect(close(aa[c], refA[c]) && close(bb[c], refB[c]) && close(pp[c], refP[c]), "state[\(c)]")
        }
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
