// SpikeBERT+Fast: the inference path behind `forward` and `forwardBatch`.
//
// What it is: the same computation as `forwardReference` (SpikeBERT.swift, whose header has the
// equations), organised for speed on a few cores:
//   - every linear is one product over all B·T·L rows: dense GEMM (CKernels ss_gemm_packed_b_f32,
//     the same bits as ss_gemm_f32) on weights transposed to [In, Out] and packed once, or, for
//     spike inputs firing below `eventBelowRate`,
//     the event-driven ss_events_linear_f32 (work ∝ nonzeros·Out) on weights packed once;
//   - the two kernels give bit-identical sums (spike_events.c mirrors the GEMM's depth blocks and
//     FMA order), so the choice is speed only, and a row's result does not depend on its batch;
//   - Q, K and V read one fused [C, 3C] weight (float path: one GEMM); with spikes, when the three
//     sites hold the same neuron state (always for calibrated-on-input BERTs: same x, same α),
//     the neuron runs once and its events feed all three;
//   - attention per (sequence, timestep, head) on the thread pool, in the reference's exact
//     summation order (so attention adds no rounding difference), with K transposed per head so
//     the score loop runs over contiguous keys;
//   - GELU and LayerNorm split over the pool on large batches.
// Prepared weights (BERTFastCache) are built on the first forward and shared by clones (the
// workbench clones per run). Scratch is allocated once per call, never inside the layer loop.
// What it is not: a different model. Spikes, α calibration, dynamic control and probes are the
// neuron's (runSite), unchanged; see SpikeBERTFastTests for the equality checks.
//
// Shape legend: B sequences, T timesteps, L tokens, S = T·L rows per sequence, N = B·S rows,
// C hidden, I intermediate, H heads, d = C/H.

import Foundation
import Engine
import Neurons

/// One linear of the fast path: y = x·W + b with W as [In, Out] rows `ld` floats apart.
struct FastLinear {
    let inF: Int, outF: Int
    let w: UnsafePointer<Float>
    let ld: Int
    let bias: UnsafePointer<Float>
    /// ss_events_pack_f32 slabs (nil until a spiking forward needs them).
    var packed: UnsafePointer<Float>?
    /// W packed once for ss_gemm_packed_b_f32 (the dense path; same bits as ss_gemm_f32).
    var gemmB: UnsafePointer<Float>?
}

struct FastLayer {
    /// Q|K|V weights side by side: [C, 3C]; q, k, v below point into it.
    var qkvBias: UnsafePointer<Float>
    /// The fused [C, 3C] weight packed for ss_gemm_packed_b_f32 (the float path's one QKV GEMM).
    var qkvGemmB: UnsafePointer<Float>
    var q, k, v, attentionOut, intermediate, output: FastLinear
}

/// Transposed (and, for spiking, packed) weights, built once and shared by a model and its clones.
final class BERTFastCache: @unchecked Sendable {
    // @unchecked: `layers` is written only under `lock`; callers get value copies whose pointers
    // stay valid while the cache lives (it owns `storage`, and each model holds the cache).
    private let lock = NSLock()
    private var storage: [TensorStorage] = []
    private var layers: [FastLayer]? = nil
    private var packed = false

    /// The prepared layers; packs the spike layouts too when `packed` (first spiking use).
    func prepared(_ w: BERTWeights, packed wantPacked: Bool) -> [FastLayer] {
        lock.lock()
        defer { lock.unlock() }
        if layers == nil { layers = build(w) }
        if wantPacked && !packed {
            for i in layers!.indices {
                layers![i].q.packed = pack(layers![i].q)
                layers![i].k.packed = pack(layers![i].k)
                layers![i].v.packed = pack(layers![i].v)
                layers![i].attentionOut.packed = pack(layers![i].attentionOut)
                layers![i].intermediate.packed = pack(layers![i].intermediate)
                layers![i].output.packed = pack(layers![i].output)
            }
            packed = true
        }
        return layers!
    }

    private func keep(_ n: Int) -> UnsafeMutablePointer<Float> {
        let s = TensorStorage(count: n)
        storage.append(s)
        return s.base
    }

    private func pack(_ l: FastLinear) -> UnsafePointer<Float> {
        let p = keep(Kernels.eventWeightsCount(inputs: l.inF, outputs: l.outF))
        Kernels.packEventWeights(inputs: l.inF, outputs: l.outF, w: l.w, ldw: l.ld, into: p)
        return UnsafePointer(p)
    }

    /// W [Out, In] (PyTorch) → [In, Out] at `dst` with row stride `ld`.
    private func transpose(_ lw: LinearWeights, into dst: UnsafeMutablePointer<Float>, ld: Int) {
        let o = lw.outFeatures, i = lw.inFeatures
        if ld == o {
            Kernels.transpose(rows: o, cols: i, into: dst, from: ptr(lw.weight))
            return
        }
        let t = TensorStorage(count: o * i)
        Kernels.transpose(rows: o, cols: i, into: t.base, from: ptr(lw.weight))
        for r in 0..<i { (dst + r * ld).update(from: t.base + r * o, count: o) }
    }

    /// W [In, Out] (row stride ld) packed once for the dense GEMM.
    private func packGEMM(_ w: UnsafePointer<Float>, inF: Int, outF: Int, ld: Int) -> UnsafePointer<Float> {
        let p = keep(Kernels.packedBCount(k: inF, n: outF))
        Kernels.packB(transB: false, k: inF, n: outF, b: w, ldb: ld, into: p)
        return UnsafePointer(p)
    }

    private func linear(_ lw: LinearWeights) -> FastLinear {
        let w = keep(lw.inFeatures * lw.outFeatures)
        transpose(lw, into: w, ld: lw.outFeatures)
        return FastLinear(inF: lw.inFeatures, outF: lw.outFeatures, w: UnsafePointer(w), ld: lw.outFeatures,
                          bias: ptr(lw.bias), packed: nil,
                          gemmB: packGEMM(w, inF: lw.inFeatures, outF: lw.outFeatures, ld: lw.outFeatures))
    }

    private func build(_ w: BERTWeights) -> [FastLayer] {
        w.layers.map { lw in
            let C = lw.query.outFeatures, inF = lw.query.inFeatures
            let qkv = keep(inF * 3 * C), bias = keep(3 * C)
            for (n, part) in [lw.query, lw.key, lw.value].enumerated() {
                transpose(part, into: qkv + n * C, ld: 3 * C)
                (bias + n * C).update(from: ptr(part.bias), count: C)
            }
            func part(_ n: Int, _ lw: LinearWeights) -> FastLinear {
                FastLinear(inF: inF, outF: C, w: UnsafePointer(qkv + n * C), ld: 3 * C, bias: ptr(lw.bias), packed: nil,
                           gemmB: packGEMM(qkv + n * C, inF: inF, outF: C, ld: 3 * C))
            }
            return FastLayer(qkvBias: UnsafePointer(bias), qkvGemmB: packGEMM(qkv, inF: inF, outF: 3 * C, ld: 3 * C),
                             q: part(0, lw.query), k: part(1, lw.key), v: part(2, lw.value),
                             attentionOut: linear(lw.attentionOut), intermediate: linear(lw.intermediate),
                             output: linear(lw.output))
        }
    }
}

/// Uninitialised, 64-byte aligned scratch for one forward call.
private struct Scratch {
    let raw: UnsafeMutableRawPointer
    init(bytes: Int) { raw = .allocate(byteCount: max(bytes, 64), alignment: 64) }
    init(floats n: Int) { self.init(bytes: n * 4) }
    var f: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
    func free() { raw.deallocate() }
}

extension SpikeBERT {
    /// Firing rate below which a spike-input linear uses the event kernel instead of dense GEMM
    /// (both give the same bits, so only speed depends on it). Not calibrated per machine: on MiniLM
    /// at T = 4 (AMD EPYC, 2 threads, `spikescope bench bert`) the event linears at rate 0.377 cost
    /// ~1.7× the float run's GEMMs where dense would cost 4×, so the break-even is well above 0.377
    /// at batch 1; large batches make the GEMM ~1.5× more efficient per MAC, hence the margin.
    static let defaultEventBelowRate = 0.45

    /// True when sites `a` and `b` would produce the same spikes from the same input.
    private func sameNeuron(_ a: String, _ b: String) -> Bool {
        // GIF sites have their own allocation (saliency uses each linear's weight): never shared.
        if neuron == .gif { return false }
        let x = sites[a]!, y = sites[b]!
        return x.alpha == y.alpha && x.control == y.control && x.recurrent == y.recurrent
    }

    /// B sequences of one length L through the encoder and heads. Inputs are validated by the caller.
    /// The workbench's staged rerun (one sequence): `resume` starts at a layer from the stream
    /// entering it ([N, C], as `capture` gave it before), `capture` sees the stream entering each
    /// layer run (and, at index `layers`, the final one), `stopAfter` ends after that layer
    /// (returning no outputs).
    func forwardFast(ids: [[Int]], typeIds: [[Int]]?, masks: [[Int]]?, probe: Probe?,
                     resume: (layer: Int, x: [Float])? = nil, stopAfter: Int? = nil,
                     capture: ((Int, UnsafePointer<Float>, Int) -> Void)? = nil) -> [BERTOutput] {
        let c = config
        let B = ids.count, L = ids[0].count, C = c.hiddenSize, I = c.intermediateSize
        let spiking = neuron != .none
        let variant = neuron.alphabet ?? .ternary
        let T = spiking && neuron != .gif ? steps : 1  // GIF neurons carry their own steps
        let S = T * L, N = B * S, W = max(C, I)
        let layers = fast.prepared(weights, packed: spiking)
        let valid: [[Bool]] = (0..<B).map { b -> [Bool] in
            guard let m = masks?[b] else { return [Bool](repeating: true, count: L) }
            return m.map { $0 != 0 }
        }
        let eventRate = eventBelowRate

        let xs = Scratch(floats: N * C), qkvs = Scratch(floats: N * 3 * C), ctxs = Scratch(floats: N * C)
        let as_ = Scratch(floats: N * C), inters = Scratch(floats: N * I), spk = Scratch(floats: N * W)
        let evs = Scratch(bytes: spiking ? Kernels.eventsBytes(rows: N, inputs: W) : 64)
        defer { [xs, qkvs, ctxs, as_, inters, spk, evs].forEach { $0.free() } }
        let x = xs.f, qkv = qkvs.f, ctx = ctxs.f, a = as_.f, inter = inters.f, spikes = spk.f, ev = evs.raw
        // Worth waking the pool (~10-50 µs) for an elementwise pass: LayerNorm ~1 ns, GELU (erff) ~5-10 ns per value.
        // Worth the pool from ~4K elements: its workers spin between jobs (threadpool.c), so a
        // hand-off costs ~1 µs, not a wake-up.
        let bigNorm = N * C >= 1 << 12, bigAct = N * I >= 1 << 13

        // Embeddings: e[l] = LN(word[ids[l]] + type[typeIds[l]] + pos[l]), repeated over T.
        let w = weights
        let wp = ptr(w.word), tp = ptr(w.tokenType), pp = ptr(w.position)
        let start = resume?.layer ?? 0
        if let resume {
            precondition(resume.x.count == N * C, "resumed stream of \(resume.x.count) values, expected \(N * C)")
            resume.x.withUnsafeBufferPointer { x.update(from: $0.baseAddress!, count: N * C) }
        }
        for b in 0..<B where resume == nil {
            let xb = x + b * S * C
            for l in 0..<L {
                let row = xb + l * C
                let wr = wp + ids[b][l] * C, tr = tp + (typeIds?[b][l] ?? 0) * C, pr = pp + l * C
                for j in 0..<C { row[j] = (wr[j] + tr[j]) + pr[j] }
            }
            layerNorm(xb, residual: nil, rows: L, width: C, w.embeddingNorm, out: xb)
            for t in 1..<max(T, 1) { (xb + t * L * C).update(from: xb, count: L * C) }
        }

        // The neuron of `site` on every sequence: input [N, width] → spikes.
        func spikeSite(_ site: String, _ input: UnsafeMutablePointer<Float>, width: Int) {
            for b in 0..<B {
                runSite(site, input + b * S * width, rows: L, width: width, into: spikes + b * S * width,
                        variant: variant, steps: T, valid: valid[b], probe: probe)
            }
        }
        // Events of `spikes` [N, inF] when sparse enough to pay, else nil (dense GEMM).
        func events(width inF: Int) -> Bool {
            let nnz = Kernels.buildEvents(rows: N, inputs: inF, x: spikes, ldx: inF, into: ev)
            return Double(nnz) < eventRate * Double(N) * Double(inF)
        }
        // out[N, outF] (row stride ldo) = src·W + b, by events (already built) or dense GEMM.
        func product(_ lin: FastLinear, _ src: UnsafePointer<Float>, useEvents: Bool, _ out: UnsafeMutablePointer<Float>, ldo: Int) {
            if useEvents, let p = lin.packed {
                Kernels.eventsLinear(ev, outputs: lin.outF, packed: p, y: out, ldy: ldo)
            } else if let b = lin.gemmB {
                Kernels.gemmPackedB(m: N, n: lin.outF, k: lin.inF, alpha: 1, a: src, lda: lin.inF, packedB: b, beta: 0, c: out, ldc: ldo)
            } else {
                Kernels.gemm(transA: false, transB: false, m: N, n: lin.outF, k: lin.inF, alpha: 1, a: src, lda: lin.inF,
                             b: lin.w, ldb: lin.ld, beta: 0, c: out, ldc: ldo)
            }
            addBias(out, rows: N, width: lin.outF, ld: ldo, lin.bias)
        }
        // One SpikeLinear: spike(input) at `site` (when spiking), then the product.
        func spikeLinear(_ site: String, _ lin: FastLinear, _ input: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
            if spiking {
                spikeSite(site, input, width: lin.inF)
                product(lin, spikes, useEvents: events(width: lin.inF), out, ldo: lin.outF)
            } else {
                product(lin, input, useEvents: false, out, ldo: lin.outF)
            }
        }

        for (i, fl) in layers.enumerated() where i >= start && i <= (stopAfter ?? Int.max) {
            capture?(i, x, N * C)
            let p = "encoder.layer.\(i)."
            let qs = p + "attention.self.query", ks = p + "attention.self.key", vs = p + "attention.self.value"
            // Q, K, V: spiking → three contiguous [N, C] blocks; float → one [N, 3C] GEMM.
            let q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, stride: Int
            if spiking {
                (q, k, v, stride) = (qkv, qkv + N * C, qkv + 2 * N * C, C)
                if probe == nil && sameNeuron(qs, ks) && sameNeuron(qs, vs) {
                    spikeSite(qs, x, width: C)
                    sites[ks] = sites[qs]
                    sites[vs] = sites[qs]
                    let e = events(width: C)
                    product(fl.q, spikes, useEvents: e, q, ldo: C)
                    product(fl.k, spikes, useEvents: e, k, ldo: C)
                    product(fl.v, spikes, useEvents: e, v, ldo: C)
                } else {
                    spikeLinear(qs, fl.q, x, q)
                    spikeLinear(ks, fl.k, x, k)
                    spikeLinear(vs, fl.v, x, v)
                }
                // The extra spike on K and V (per-timestep α, no membrane), in place through `spikes`.
                spikeSite(p + "attention.self.key_spike", k, width: C)
                k.update(from: spikes, count: N * C)
                spikeSite(p + "attention.self.value_spike", v, width: C)
                v.update(from: spikes, count: N * C)
            } else {
                (q, k, v, stride) = (qkv, qkv + C, qkv + 2 * C, 3 * C)
                Kernels.gemmPackedB(m: N, n: 3 * C, k: C, alpha: 1, a: x, lda: C, packedB: fl.qkvGemmB, beta: 0, c: qkv, ldc: 3 * C)
                addBias(qkv, rows: N, width: 3 * C, ld: 3 * C, fl.qkvBias)
            }
            fastAttention(q: q, k: k, v: v, stride: stride, out: ctx, sequences: B, steps: T, tokens: L, valid: valid)
            spikeLinear(p + "attention.output.dense", fl.attentionOut, ctx, a)
            rowsLayerNorm(a, residual: x, rows: N, weightsOf: w.layers[i].attentionNorm, parallel: bigNorm)   // a = LN(ao + x)
            spikeLinear(p + "intermediate.dense", fl.intermediate, a, inter)
            let chunk = 4096
            let n = N * I
            parallelFor((n + chunk - 1) / chunk, parallel: bigAct) { t in
                activate(inter + t * chunk, count: min(chunk, n - t * chunk))
            }
            spikeLinear(p + "output.dense", fl.output, inter, x)
            rowsLayerNorm(x, residual: a, rows: N, weightsOf: w.layers[i].outputNorm, parallel: bigNorm)      // y = LN(out + a)
        }
        if stopAfter != nil { return [] }
        capture?(layers.count, x, N * C)

        // hidden = mean_t y_t  [L, C] per sequence (the reference's order of adds).
        return (0..<B).map { b in
            var hidden = Tensor(zeros: [L, C])
            hidden.withUnsafeMutableBufferPointer { h in
                let hp = h.baseAddress!, xb = x + b * S * C
                hp.update(from: xb, count: L * C)
                for t in 1..<max(T, 1) {
                    let src = xb + t * L * C
                    for j in 0..<(L * C) { hp[j] += src[j] }
                }
                if T > 1 {
                    let s = 1 / Float(T)
                    for j in 0..<(L * C) { hp[j] *= s }
                }
            }
            return heads(hidden: hidden, steps: T)
        }
    }

    /// y[r, 0..<width] += b for N rows `ld` floats apart.
    private func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, width: Int, ld: Int, _ b: UnsafePointer<Float>) {
        for r in 0..<rows {
            let yr = y + r * ld
            for j in 0..<width { yr[j] += b[j] }
        }
    }

    /// x[r] = LN(x[r] + residual[r]) in blocks of rows on the pool (the reference's per-row loop).
    private func rowsLayerNorm(_ x: UnsafeMutablePointer<Float>, residual: UnsafeMutablePointer<Float>, rows: Int,
                               weightsOf n: NormWeights, parallel: Bool) {
        // 16-row blocks for a short batch (32 tokens: two tasks, one per core), else 64.
        let C = config.hiddenSize, block = rows <= 128 ? 16 : 64
        parallelFor((rows + block - 1) / block, parallel: parallel) { t in
            let r0 = t * block, nr = min(block, rows - r0)
            layerNorm(x + r0 * C, residual: residual + r0 * C, rows: nr, width: C, n, out: x + r0 * C)
        }
    }

    /// Multi-head self-attention for B sequences × T timesteps, rows of q/k/v `stride` floats apart,
    /// out [N, C]. Per query i (padded keys excluded, as in `attention`):
    ///   s_j = (Σ_e q_i[e]·k_j[e])·(1/√d);  p_j = exp(s_j − max s)/Σ exp;  out_i = Σ_j p_j·v_j
    /// with every sum in the reference's order (CKernels ss_attention_head_f32, one call per
    /// sequence × timestep × head on the pool).
    private func fastAttention(q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                               stride: Int, out: UnsafeMutablePointer<Float>, sequences B: Int, steps T: Int, tokens L: Int,
                               valid: [[Bool]]) {
        let C = config.hiddenSize, H = config.heads, d = config.headSize
        let scale = 1 / Float(d).squareRoot()
        let keys: [[Int32]] = valid.map { f in (0..<L).filter { f[$0] }.map { Int32($0) } }
        let work = B * T * H * L * L * d
        parallelFor(B * T * H, parallel: work >= 1 << 17) { task in
            let h = task % H, bt = task / H, t = bt % T, b = bt / T
            let row0 = (b * T + t) * L
            keys[b].withUnsafeBufferPointer { kb in
                let nk = kb.count
                withUnsafeTemporaryAllocation(of: Float.self, capacity: Kernels.attentionScratchCount(d: d, keyCount: nk)) { tmp in
                    // CKernels attention.c: the loops of `attention` (reference order), 8 lanes wide.
                    let o = row0 * stride + h * d
                    Kernels.attentionHead(l: L, d: d, keys: kb.baseAddress!, keyCount: nk, q: q + o, k: k + o, v: v + o, stride: stride,
                                          scale: scale, out: out + row0 * C + h * d, ldo: C, scratch: tmp.baseAddress!)
                }
            }
        }
    }
}
