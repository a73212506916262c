// SpikeGPTRunner: fast batch-1 recurrent generation for SpikeGPT (issue 9).
//
// What it is: the recurrent form of `SpikeGPT.step` (same equations, same `State`) rewritten for
// speed — every buffer allocated once at construction, weights held as raw pointers (f32 borrowed
// from the model's tensors, or bf16 copies rounded to nearest-even in 32-output panels read as one
// prefetched stream, fp32 accumulation), all matrix-vector products of a sub-block issued as one
// batch split over two threads (`ss_gemv_batch` in CKernels/gemv.c, which keeps its own one-worker
// runner), WKV and σ gates vectorised (CKernels/rwkv.c), and optionally the ChannelMix `value`
// product made event-driven: its input relu(Wk·xk)² is mostly zeros, so with `ffn.value.weight`
// transposed once to [F, C] each non-zero input reads one contiguous row and zeros read nothing
// (the two threads take half of the inputs each, whole rows).
// What it is not: a replacement for `SpikeGPT.forward` — no probe recording, no GIF coding, no
// chunked prompt (the prompt is stepped token by token), no classifier head.
//
// Per token, for each block i (SEEDS.md §1; the equations are repeated at each loop below):
//   x = LN0(x) (i = 0);  a = LN1(x);  xk,xv,xr = mix(a, shift);  k,v,r = W·(…)   [one batch]
//   y = σ(r) ⊙ wkv(k, v);  o = Wo·y   [one batch];  x += LIF(o)
//   a = LN2(x);  xk,xr = mix(a, shift);  kf = Wk·xk, r = Wr·xr   [one batch]
//   kf = relu(kf)²;  v = Wv·kf   [one batch, dense or event-driven];  x += LIF(σ(r) ⊙ v)
// then logits = W_head · LN_out(x).

import Foundation
import Engine
import Neurons

/// Fast recurrent SpikeGPT inference with preallocated buffers. Not thread-safe: one runner per thread.
public final class SpikeGPTRunner {
    /// How the weight matrices are stored in memory.
    public enum WeightFormat: String, Sendable, CaseIterable, Codable {
        /// 4 bytes per weight, the model's own values.
        case f32
        /// 2 bytes per weight: the upper half of the fp32 word, rounded to nearest-even.
        case bf16
    }

    public struct Options: Sendable, Equatable {
        public var weights: WeightFormat = .f32
        /// Skip the zeros of relu(·)² in ChannelMix's `value` product (event-driven GEMV).
        public var sparseFFN = false
        /// 1 or 2 (the matrix-vector products split their outputs between two threads). Default 2
        /// where there are two CPUs: on the 2-core benchmark machine, when quiet, two threads stream
        /// 36 GB/s against one's 22 (BENCHMARKS.md, "SpikeGPT generation"); a busy second core
        /// costs little, because the caller takes over the chunks a late worker has not claimed.
        /// On one CPU the worker's spin-wait would only steal the caller's time, hence 1.
        public var threads = SpikeGPTRunner.defaultThreads
        public init(weights: WeightFormat = .f32, sparseFFN: Bool = false, threads: Int = SpikeGPTRunner.defaultThreads) {
            self.weights = weights; self.sparseFFN = sparseFFN; self.threads = threads
        }
    }

    public let config: SpikeGPTConfig
    public let options: Options

    /// A weight matrix as the kernels see it.
    struct Matrix {
        var kind: Kernels.GEMVJob.Kind
        var rows: Int        // n_out
        var cols: Int        // n_in
        var base: UnsafeRawPointer
    }

    struct LayerPtrs {
        var ln0w: UnsafePointer<Float>?, ln0b: UnsafePointer<Float>?
        var ln1w: UnsafePointer<Float>, ln1b: UnsafePointer<Float>, ln2w: UnsafePointer<Float>, ln2b: UnsafePointer<Float>
        var decay: UnsafePointer<Float>, first: UnsafePointer<Float>
        var attMixK: UnsafePointer<Float>, attMixV: UnsafePointer<Float>, attMixR: UnsafePointer<Float>
        var ffnMixK: UnsafePointer<Float>, ffnMixR: UnsafePointer<Float>
        var attK: Matrix, attV: Matrix, attR: Matrix, attO: Matrix
        var ffnK: Matrix, ffnR: Matrix, ffnV: Matrix
    }

    // Weights: the model's f32 tensors kept alive, plus the buffers this runner owns.
    private let keepAlive: [Tensor]
    private var owned: [UnsafeMutableRawPointer] = []
    private var layers: [LayerPtrs] = []
    private let emb: UnsafePointer<Float>
    private var head: Matrix
    private let lnOutW: UnsafePointer<Float>, lnOutB: UnsafePointer<Float>

    // Neuron settings per site (2 per layer), copied from the model's controls.
    private let bypass: Bool
    private let lif: [LIFConfig]

    // Scratch (C floats each unless noted) and state ([n, C] each), one allocation.
    private let scratch: UnsafeMutablePointer<Float>
    private let x, a, xk, xv, xr, k, v, r, y, o: UnsafeMutablePointer<Float>
    private let kf: UnsafeMutablePointer<Float>        // [F]
    private let logitsBuf: UnsafeMutablePointer<Float> // [V]
    private let partial: UnsafeMutablePointer<Float>   // [C] second half of a sparse product (gemv.c)
    private let attShift, ffnShift, aa, bb, pp, lifAtt, lifFfn: UnsafeMutablePointer<Float>
    private let jobs: UnsafeMutablePointer<Kernels.GEMVJob>
    /// Tokens consumed since the last reset.
    public private(set) var position = 0

    /// ReLU² statistics since construction: inputs seen and how many were non-zero.
    public private(set) var ffnInputs = 0
    public private(set) var ffnActive = 0

    /// Builds a runner from `model` (its weights, sizes and neuron controls).
    /// - Throws: `ModelError.badInput` for controls the runner does not implement (GIF coding).
    public init(model: SpikeGPT, options: Options = Options()) throws {
        if model.controls.neuron == .gif {
            throw ModelError.badInput(reason: "the fast runner does not implement GIF-coded linear inputs (neuron gif)",
                                      hint: "use SpikeGPT.step/forward for GIF runs, or set the neuron to lif or none")
        }
        guard (1...2).contains(options.threads) else {
            throw ModelError.badInput(reason: "threads must be 1 or 2, got \(options.threads)", hint: "the runner has one worker thread")
        }
        let cfg = model.config
        config = cfg
        self.options = options
        bypass = model.controls.neuron == .none
        lif = model.controls.lif
        let C = cfg.width, F = cfg.ffnWidth, V = cfg.vocab, n = cfg.layers

        var keep: [Tensor] = []
        func vec(_ t: Tensor) -> UnsafePointer<Float> {
            let c = t.contiguous()
            keep.append(c)
            return c.elementPointer
        }
        // Dense matrices W[out, in]; `transposed` stores Wᵀ [in, out] for the event-driven kernel.
        var ownedBufs: [UnsafeMutableRawPointer] = []
        func mat(_ t: Tensor, transposed: Bool = false) -> Matrix {
            let c = t.contiguous()
            let rows = c.shape[0], cols = c.shape[1]
            let src = c.elementPointer
            let bf = options.weights == .bf16
            let kind: Kernels.GEMVJob.Kind = transposed ? (bf ? .sparseBF16 : .sparseF32) : (bf ? .bf16Panel : .f32)
            if !bf && !transposed {
                keep.append(c)
                return Matrix(kind: kind, rows: rows, cols: cols, base: UnsafeRawPointer(src))
            }
            if bf && !transposed {
                // bf16 in 32-output panels: one sequential stream per product (gemv.c).
                let rounded = [UInt16](unsafeUninitializedCapacity: rows * cols) { d, n in
                    for e in 0..<(rows * cols) { d[e] = SpikeGPTRunner.bf16(src[e]) }
                    n = rows * cols
                }
                let count = Kernels.bf16PanelCount(nOut: rows, nIn: cols)
                let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 2, alignment: 64)
                ownedBufs.append(raw)
                rounded.withUnsafeBufferPointer {
                    Kernels.packBF16Panels(nOut: rows, nIn: cols, into: raw.bindMemory(to: UInt16.self, capacity: count), from: $0.baseAddress)
                }
                return Matrix(kind: kind, rows: rows, cols: cols, base: UnsafeRawPointer(raw))
            }
            let count = rows * cols
            let raw = UnsafeMutableRawPointer.allocate(byteCount: count * (bf ? 2 : 4), alignment: 64)
            ownedBufs.append(raw)
            // element e of the stored layout comes from src[index(e)]
            @inline(__always) func srcIndex(_ e: Int) -> Int {
                guard transposed else { return e }
                let j = e / rows, o = e % rows       // stored [cols=in, rows=out]
                return o * cols + j
            }
            if bf {
                let d = raw.bindMemory(to: UInt16.self, capacity: count)
                for e in 0..<count { d[e] = SpikeGPTRunner.bf16(src[srcIndex(e)]) }
            } else {
                let d = raw.bindMemory(to: Float.self, capacity: count)
                for e in 0..<count { d[e] = src[srcIndex(e)] }
            }
            // For the transposed layout the kernel's n_out is still `rows` and n_in `cols`.
            return Matrix(kind: kind, rows: rows, cols: cols, base: UnsafeRawPointer(raw))
        }

        var ls: [LayerPtrs] = []
        for L in model.layers {
            ls.append(LayerPtrs(
                ln0w: L.ln0w.map(vec), ln0b: L.ln0b.map(vec),
                ln1w: vec(L.ln1w), ln1b: vec(L.ln1b), ln2w: vec(L.ln2w), ln2b: vec(L.ln2b),
                decay: vec(L.decay), first: vec(L.first),
                attMixK: vec(L.attMixK), attMixV: vec(L.attMixV), attMixR: vec(L.attMixR),
                ffnMixK: vec(L.ffnMixK), ffnMixR: vec(L.ffnMixR),
                attK: mat(L.attK), attV: mat(L.attV), attR: mat(L.attR), attO: mat(L.attO),
                ffnK: mat(L.ffnK), ffnR: mat(L.ffnR), ffnV: mat(L.ffnV, transposed: options.sparseFFN)))
        }
        emb = vec(model.emb)
        head = mat(model.head)
        lnOutW = vec(model.lnOutW); lnOutB = vec(model.lnOutB)
        layers = ls
        keepAlive = keep
        owned = ownedBufs

        let scratchCount = 11 * C + F + V + 7 * n * C
        scratch = .allocate(capacity: scratchCount)
        scratch.initialize(repeating: 0, count: scratchCount)
        var p = scratch
        func take(_ m: Int) -> UnsafeMutablePointer<Float> { defer { p += m }; return p }
        x = take(C); a = take(C); xk = take(C); xv = take(C); xr = take(C)
        k = take(C); v = take(C); r = take(C); y = take(C); o = take(C)
        kf = take(F); logitsBuf = take(V); partial = take(C)
        attShift = take(n * C); ffnShift = take(n * C); aa = take(n * C); bb = take(n * C)
        pp = take(n * C); lifAtt = take(n * C); lifFfn = take(n * C)
        jobs = .allocate(capacity: 4)
        reset()
    }

    deinit {
        scratch.deallocate()
        jobs.deallocate()
        for b in owned { b.deallocate() }
    }

    /// 2 when the machine has at least two CPUs, else 1.
    public static let defaultThreads = min(2, max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// fp32 → bf16, round to nearest, ties to even (finite inputs).
    @inline(__always) public static func bf16(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if f.isNaN { return UInt16(u >> 16) | 0x40 }
        return UInt16((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }

    /// Weight bytes read per token with dense products (the memory-bandwidth bound numerator).
    public var denseBytesPerToken: Int {
        let C = config.width, F = config.ffnWidth, V = config.vocab
        let perLayer = 4 * C * C + 2 * F * C + C * C
        return (config.layers * perLayer + V * C) * (options.weights == .bf16 ? 2 : 4)
    }

    /// Weight bytes read per token given the ReLU² density seen so far (equal to the dense count
    /// when `sparseFFN` is off).
    public var bytesPerToken: Double {
        guard options.sparseFFN, ffnInputs > 0 else { return Double(denseBytesPerToken) }
        let w = options.weights == .bf16 ? 2.0 : 4.0
        let valueBytes = Double(config.layers * config.ffnWidth * config.width) * w
        return Double(denseBytesPerToken) - valueBytes * (1 - Double(ffnActive) / Double(ffnInputs))
    }

    // MARK: state

    /// Back to the initial state (zeros; pp = −1e30 as in `SpikeGPT.State`).
    public func reset() {
        let nC = config.layers * config.width
        for p in [attShift, ffnShift, aa, bb, lifAtt, lifFfn] { p.update(repeating: 0, count: nC) }
        pp.update(repeating: -1e30, count: nC)
        position = 0
    }

    /// The recurrent state in the model's own form (for checking against `SpikeGPT.step` or
    /// moving a run between the two).
    public var state: SpikeGPT.State {
        get {
            let nC = config.layers * config.width
            var s = SpikeGPT.State(layers: config.layers, width: config.width)
            func copy(_ p: UnsafeMutablePointer<Float>) -> [Float] { Array(UnsafeBufferPointer(start: p, count: nC)) }
            s.attShift = copy(attShift); s.ffnShift = copy(ffnShift)
            s.aa = copy(aa); s.bb = copy(bb); s.pp = copy(pp)
            s.lifAtt = copy(lifAtt); s.lifFfn = copy(lifFfn)
            s.position = position
            return s
        }
        set {
            let nC = config.layers * config.width
            func put(_ a: [Float], _ p: UnsafeMutablePointer<Float>) {
                a.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: min(nC, a.count)) }
            }
            put(newValue.attShift, attShift); put(newValue.ffnShift, ffnShift)
            put(newValue.aa, aa); put(newValue.bb, bb); put(newValue.pp, pp)
            put(newValue.lifAtt, lifAtt); put(newValue.lifFfn, lifFfn)
            position = newValue.position
        }
    }

    // MARK: running

    /// Runs one token; returns the next-token logits [V], valid until the next call.
    /// - Throws: `ModelError.badInput` when `token` is outside the vocabulary.
    @discardableResult
    public func step(token: Int) throws -> UnsafeBufferPointer<Float> {
        let C = config.width, F = config.ffnWidth, V = config.vocab
        guard token >= 0 && token < V else {
            throw ModelError.badInput(reason: "token id \(token) at position \(position) is outside the vocabulary 0..<\(V)",
                                      hint: "was the prompt encoded with this model's tokenizer?")
        }
        let e = emb + token * C
        if config.binaryEmbedding {
            for c in 0..<C { x[c] = e[c] >= 0 ? 1 : 0 }   // Heaviside of the embedding
        } else {
            x.update(from: e, count: C)
        }
        for (i, L) in layers.enumerated() {
            let base = i * C
            if let w0 = L.ln0w, let b0 = L.ln0b { layerNorm(x, x, w0, b0) }

            // ---- TimeMix
            layerNorm(a, x, L.ln1w, L.ln1b)
            // xk = a·μk + prev·(1−μk) (likewise v, r); prev ← a
            let sh = attShift + base
            for c in 0..<C {
                let ac = a[c], pc = sh[c]
                xk[c] = ac * L.attMixK[c] + pc * (1 - L.attMixK[c])
                xv[c] = ac * L.attMixV[c] + pc * (1 - L.attMixV[c])
                xr[c] = ac * L.attMixR[c] + pc * (1 - L.attMixR[c])
                sh[c] = ac
            }
            jobs[0] = job(L.attK, xk, k); jobs[1] = job(L.attV, xv, v); jobs[2] = job(L.attR, xr, r)
            Kernels.gemvBatch(jobs, count: 3, threads: options.threads)
            // WKV (stable running-max form, SEEDS.md §1), then y = σ(r) ⊙ wkv:
            //   ww = u + k;  p = max(pp, ww);  e1 = exp(pp − p);  e2 = exp(ww − p)
            //   wkv = (e1·aa + e2·v) / (e1·bb + e2)
            //   ww = pp + w;  p = max(ww, k);  aa = e1·aa + e2·v;  bb = e1·bb + e2;  pp = p  (e1, e2 anew)
            Kernels.wkvStep(c: C, k: k, v: v, r: r, u: L.first, w: L.decay, aa: aa + base, bb: bb + base, pp: pp + base, y: y)   // CKernels/rwkv.c
            jobs[0] = job(L.attO, y, o)
            Kernels.gemvBatch(jobs, count: 1, threads: options.threads)
            spike(o, site: 2 * i, membrane: lifAtt + base)

            // ---- ChannelMix
            layerNorm(a, x, L.ln2w, L.ln2b)
            let fs = ffnShift + base
            for c in 0..<C {
                let ac = a[c], pc = fs[c]
                xk[c] = ac * L.ffnMixK[c] + pc * (1 - L.ffnMixK[c])
                xr[c] = ac * L.ffnMixR[c] + pc * (1 - L.ffnMixR[c])
                fs[c] = ac
            }
            jobs[0] = job(L.ffnK, xk, kf); jobs[1] = job(L.ffnR, xr, r)
            Kernels.gemvBatch(jobs, count: 2, threads: options.threads)
            // kf = relu(kf)²
            var active = 0
            for j in 0..<F {
                let q = max(kf[j], 0)
                kf[j] = q * q
                active &+= q > 0 ? 1 : 0
            }
            ffnInputs += F; ffnActive += active
            jobs[0] = job(L.ffnV, kf, v)
            Kernels.gemvBatch(jobs, count: 1, threads: options.threads)
            // o = σ(r) ⊙ v
            Kernels.sigmoidMul(C, r: r, v: v, o: o)
            spike(o, site: 2 * i + 1, membrane: lifFfn + base)
        }
        layerNorm(a, x, lnOutW, lnOutB)
        jobs[0] = job(head, a, logitsBuf)
        Kernels.gemvBatch(jobs, count: 1, threads: options.threads)
        position += 1
        return UnsafeBufferPointer(start: logitsBuf, count: V)
    }

    /// Steps through `prompt`, then appends `count` greedy (argmax, first on ties) tokens.
    /// Returns the new tokens.
    public func generateGreedy(prompt: [Int], count: Int) throws -> [Int] {
        var greedy = Sampler()
        return try generate(prompt: prompt, count: count, sampler: &greedy, feedLast: false).tokens
    }

    /// Index of the largest value (first on ties), as `Sampler.argmax`.
    public static func argmax(_ l: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<l.count where l[i] > l[best] { best = i }
        return best
    }

    // MARK: pieces

    @inline(__always) private func job(_ m: Matrix, _ input: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>) -> Kernels.GEMVJob {
        Kernels.GEMVJob(kind: m.kind, nOut: m.rows, nIn: m.cols, y: out, w: m.base, x: UnsafePointer(input),
                        partial: m.kind.isSparse ? partial : nil)
    }

    /// out = LayerNorm(inp)·w + b over C (eps 1e-5, biased variance). out may alias inp.
    /// Sums run in 8 lanes (then lane-summed), so results differ from the sequential reference in
    /// the last bits only.
    @inline(__always) private func layerNorm(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafeMutablePointer<Float>,
                                             _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>) {
        let C = config.width
        let n8 = C / 8 * 8
        // mean = Σx / C
        var s8 = SIMD8<Float>()
        var c = 0
        while c < n8 { s8 += UnsafeRawPointer(inp + c).loadUnaligned(as: SIMD8<Float>.self); c += 8 }
        var sum = s8.sum()
        while c < C { sum += inp[c]; c += 1 }
        let mean = sum / Float(C)
        // var = Σ(x − mean)² / C
        var q8 = SIMD8<Float>()
        c = 0
        while c < n8 {
            let d = UnsafeRawPointer(inp + c).loadUnaligned(as: SIMD8<Float>.self) - mean
            q8 += d * d; c += 8
        }
        var q = q8.sum()
        while c < C { let d = inp[c] - mean; q += d * d; c += 1 }
        let inv = 1 / (q / Float(C) + 1e-5).squareRoot()
        for c in 0..<C { out[c] = (inp[c] - mean) * inv * w[c] + b[c] }
    }

    /// x += LIF(current) at `site` (membrane [C] updated), or x += current when bypassed:
    ///   h = v + (I − (v − v_r))/τ  (decay_input; else h = v − (v − v_r)/τ + I);  s = H(h − θ)
    ///   v = v_r if s (hard reset) else h;  soft reset: v = h − s·θ
    @inline(__always) private func spike(_ current: UnsafeMutablePointer<Float>, site: Int, membrane vm: UnsafeMutablePointer<Float>) {
        let C = config.width
        if bypass {
            for c in 0..<C { x[c] += current[c] }
            return
        }
        let cfg = lif[site]
        let vr = cfg.vReset, th = cfg.threshold
        let hard = cfg.hardReset
        for c in 0..<C {
            let v0 = vm[c], i = current[c]
            let h = cfg.charge(v0, i)
            let s: Float = h >= th ? 1 : 0
            vm[c] = hard ? (s > 0 ? vr : h) : h - s * th
            x[c] += s
        }
    }
}

extension SpikeGPTRunner: TokenStepper {
    public func nextLogits(after token: Int) throws -> [Float] { Array(try step(token: token)) }
}
