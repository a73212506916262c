// Kernels: the one door from the layers above Engine to the C kernels (CKernels has no stable
// API; only Engine imports it). Each function here is the C kernel of the same name with Swift
// integer types; the contracts (layouts, leading dimensions, bit-identities) are the ones
// written in Sources/CKernels/include/*.h. Also the thread count and a parallel-for over the
// kernels' pool. What it is not: a safe API — callers pass raw buffers they own, as before.

import CKernels

public enum Kernels {
    // MARK: threads

    /// Threads the kernels use (the caller's included).
    public static var threads: Int {
        get { Int(ss_threads_get()) }
        set { ss_threads_set(Int32(newValue)) }
    }

    /// Runs body(i) for i in 0..<n on the kernels' thread pool (caller included); serial when
    /// `parallel` is false, n is 1 or the pool has one thread.
    public static func parallelFor(_ n: Int, parallel: Bool = true, _ body: (Int) -> Void) {
        if n <= 0 { return }
        if !parallel || n == 1 || ss_threads_get() <= 1 {
            for i in 0..<n { body(i) }
            return
        }
        withoutActuallyEscaping(body) { b in
            let box = TaskBox(b)
            let ctx = Unmanaged.passUnretained(box).toOpaque()
            _ = ss_parallel_run(Int32(n), { ctx, t in
                Unmanaged<TaskBox>.fromOpaque(ctx!).takeUnretainedValue().body(Int(t))
            }, ctx)
            withExtendedLifetime(box) {}
        }
    }

    private final class TaskBox {
        let body: (Int) -> Void
        init(_ body: @escaping (Int) -> Void) { self.body = body }
    }

    // MARK: GEMM

    /// The micro-kernel in use ("avx2-6x16", "avx512-…", "portable").
    public static var gemmKernelName: String { String(cString: ss_gemm_kernel_name()) }

    // MARK: bf16 dot products (opt-in numerics)

    /// Whether this CPU has AVX-512 BF16 (vdpbf16ps), which `bf16DotProducts` needs.
    public static var bf16DotAvailable: Bool { ss_bf16_dot_available() == 1 }

    /// The opt-in mode of bf16dot.c: bf16 row-major weights (LLaMA's bf16 checkpoints) multiply
    /// activations rounded to bf16 with vdpbf16ps — about twice the prefill GEMM's speed, and y
    /// within 2⁻⁸·Σ|w·x| of the default, not its bits. Process-wide; set it before models run.
    public static var bf16DotProducts: Bool { ss_bf16_dot_get() == 1 }

    /// Turns the mode on or off; false when asked to turn it on where the CPU lacks the instructions.
    @discardableResult
    public static func setBF16DotProducts(_ on: Bool) -> Bool { ss_bf16_dot_set(on ? 1 : 0) == 1 }

    // MARK: per-CPU tuning

    /// The kernels' speed knobs (tuning.h): none changes a result, only the time.
    public struct Tuning: Sendable, Equatable, Codable {
        /// bf16 panel GEMV: bytes ahead of the line being read for a non-temporal prefetch (0 = none).
        public var panelPrefetchBytes: Int
        /// bf16 row GEMV: elements ahead in each of the four row streams (0 = none).
        public var rowsPrefetchElements: Int
        /// Packed spike-linear: active rows per token a row range aims at.
        public var spikeRangeEvents: Int
        public init(panelPrefetchBytes: Int, rowsPrefetchElements: Int, spikeRangeEvents: Int) {
            self.panelPrefetchBytes = panelPrefetchBytes
            self.rowsPrefetchElements = rowsPrefetchElements
            self.spikeRangeEvents = spikeRangeEvents
        }
        public var json: [String: Any] {
            ["panel_prefetch_bytes": panelPrefetchBytes, "rows_prefetch_elements": rowsPrefetchElements,
             "spike_range_events": spikeRangeEvents]
        }
    }

    /// The values in use: this CPU's table row (or the defaults), SPIKESCOPE_TUNING on top.
    public static var tuning: Tuning {
        let t = ss_tuning_current()!.pointee
        return Tuning(panelPrefetchBytes: Int(t.panel_prefetch_bytes), rowsPrefetchElements: Int(t.rows_prefetch_elems),
                      spikeRangeEvents: Int(t.spike_range_events))
    }

    /// Replaces the values in use (clamped to sane ranges); `keepEnvironment` lets SPIKESCOPE_TUNING
    /// still override them; `source` is what `tuningSource` then says. Call it between kernel calls.
    public static func setTuning(_ t: Tuning, source: String = "set", keepEnvironment: Bool = true) {
        var c = ss_tuning(panel_prefetch_bytes: Int32(clamping: t.panelPrefetchBytes),
                          rows_prefetch_elems: Int32(clamping: t.rowsPrefetchElements),
                          spike_range_events: Int32(clamping: t.spikeRangeEvents))
        ss_tuning_set(&c, source, keepEnvironment ? 1 : 0)
    }

    /// Where the values in use came from ("table: AMD family 26 model 2 (Zen 5)", "default", …).
    public static var tuningSource: String { String(cString: ss_tuning_source()) }

    /// This CPU as CPUID reports it, e.g. "AuthenticAMD family 26 model 2" ("" off x86).
    public static var cpuIdentity: String {
        var v = [CChar](repeating: 0, count: 13)
        var family: Int32 = 0, model: Int32 = 0
        ss_cpu_identity(&v, &family, &model)
        let vendor = String(decoding: v.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return vendor.isEmpty ? "" : "\(vendor) family \(family) model \(model)"
    }

    /// The path each kernel family takes on this CPU (chosen at run time), for benchmark reports.
    public static var paths: [String: String] {
        ["gemm": gemmKernelName, "gemv_f32": String(cString: ss_gemv_f32_path()),
         "gemv_bf16_panel": String(cString: ss_bf16_panel_path()), "gemv_bf16_rows": bf16RowsPath,
         "spike_linear_packed": String(cString: ss_spike_packed_path()), "spike_events": String(cString: ss_events_path()),
         "compact": String(cString: ss_compact_path()), "gelu": String(cString: ss_gelu_path()),
         "attention": String(cString: ss_attention_path()), "wkv": String(cString: ss_wkv_path())]
    }

    /// C[M,N] = alpha·op(A)·op(B) + beta·C (row-major; op = transpose when the flag is set).
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        ss_gemm_f32(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Floats `packB` writes for a K×N right operand.
    public static func packedBCount(k: Int, n: Int) -> Int { Int(ss_gemm_packed_b_count(Int32(k), Int32(n))) }

    /// Packs B (op(B) is K×N) once for `gemmPackedB`.
    public static func packB(transB: Bool, k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, into dst: UnsafeMutablePointer<Float>) {
        ss_gemm_pack_b_f32(transB ? 1 : 0, Int32(k), Int32(n), b, Int32(ldb), dst)
    }

    /// C = alpha·A·B + beta·C with B packed by `packB` (the same bits as `gemm`).
    public static func gemmPackedB(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                   packedB: UnsafePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        ss_gemm_packed_b_f32(Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), packedB, beta, c, Int32(ldc))
    }

    /// dst[cols, rows] = srcᵀ.
    public static func transpose(rows: Int, cols: Int, into dst: UnsafeMutablePointer<Float>, from src: UnsafePointer<Float>) {
        ss_transpose_f32(Int32(rows), Int32(cols), dst, src)
    }

    // MARK: GEMV

    /// y[nOut] = W[nOut, nIn]·x.
    public static func gemv(nOut: Int, nIn: Int, y: UnsafeMutablePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>) {
        ss_gemv_f32(Int32(nOut), Int32(nIn), y, w, x)
    }

    /// One matrix-vector product of a batch (layouts in gemv.h).
    public struct GEMVJob {
        public enum Kind: Int32, Sendable {
            /// W[nOut, nIn] row-major.
            case f32 = 0
            /// Wt[nIn, nOut], zeros of x skipped.
            case sparseF32 = 2
            case sparseBF16 = 3
            /// W packed by `packBF16Panels`.
            case bf16Panel = 4
            /// bf16 W[nOut, nIn] row-major, read in place (as `gemvBF16Rows`).
            case bf16Rows = 5
            public var isSparse: Bool { self == .sparseF32 || self == .sparseBF16 }
        }
        var raw: ss_gemv_job
        /// `partial` (sparse kinds only): nOut floats of scratch that let the inputs be split
        /// between the threads.
        public init(kind: Kind, nOut: Int, nIn: Int, y: UnsafeMutablePointer<Float>, w: UnsafeRawPointer,
                    x: UnsafePointer<Float>, partial: UnsafeMutablePointer<Float>?) {
            raw = ss_gemv_job(kind: kind.rawValue, n_out: Int32(nOut), n_in: Int32(nIn), y: y, W: w, x: x, partial: partial)
        }
    }

    /// Runs independent jobs (no job's y is another's x) over `threads` (1 or 2).
    public static func gemvBatch(_ jobs: UnsafePointer<GEMVJob>, count: Int, threads: Int) {
        jobs.withMemoryRebound(to: ss_gemv_job.self, capacity: count) { ss_gemv_batch($0, Int32(count), Int32(threads)) }
    }

    /// UInt16 elements `packBF16Panels` writes for an nOut×nIn matrix.
    public static func bf16PanelCount(nOut: Int, nIn: Int) -> Int { Int(ss_bf16_panel_count(Int32(nOut), Int32(nIn))) }

    /// Packs a bf16 W[nOut, nIn] into 32-output panels.
    public static func packBF16Panels(nOut: Int, nIn: Int, into dst: UnsafeMutablePointer<UInt16>, from w: UnsafePointer<UInt16>?) {
        ss_bf16_panel_pack(Int32(nOut), Int32(nIn), dst, w)
    }

    /// y[nOut] = W[nOut, nIn]·x with bf16 W row-major (the checkpoint's nn.Linear layout) read in
    /// place, fp32 accumulate; AVX-512F, AVX2+FMA or portable C, all with the same bits (bf16rows.h).
    public static func gemvBF16Rows(nOut: Int, nIn: Int, y: UnsafeMutablePointer<Float>, w: UnsafePointer<UInt16>,
                                    x: UnsafePointer<Float>) {
        ss_gemv_bf16_rows(Int32(nOut), Int32(nIn), y, w, x)
    }

    /// The portable C twin of `gemvBF16Rows` (what machines without AVX2 run): the same bits.
    public static func gemvBF16RowsPortable(nOut: Int, nIn: Int, y: UnsafeMutablePointer<Float>, w: UnsafePointer<UInt16>,
                                            x: UnsafePointer<Float>) {
        ss_gemv_bf16_rows_portable(Int32(nOut), Int32(nIn), y, w, x)
    }

    /// The path `gemvBF16Rows` takes on this CPU: "avx512f", "avx2-fma" or "portable".
    public static var bf16RowsPath: String { String(cString: ss_bf16_rows_path()) }

    /// Y[m, nOut] = X[m, nIn]·Wᵀ (row strides ldy, ldx) with bf16 W[nOut, nIn] row-major read in
    /// place, blocks of rows shared by `threads` (1 or 2). Up to `ss_bf16_rows_gemv_max_m()` tokens
    /// (128 with AVX-512, 32 with AVX2) each row of Y is `gemvBF16Rows` (same bits; W read from
    /// memory once); beyond, one block of rows at a time is widened to fp32 and multiplied by
    /// `gemm`. The bits do not depend on `threads`.
    public static func gemmBF16Rows(m: Int, nOut: Int, nIn: Int, y: UnsafeMutablePointer<Float>, ldy: Int,
                                    x: UnsafePointer<Float>, ldx: Int, w: UnsafePointer<UInt16>, threads: Int) {
        ss_gemm_bf16_rows(Int32(m), Int32(nOut), Int32(nIn), y, Int32(ldy), x, Int32(ldx), w, Int32(threads))
    }

    /// Σ p[0..<n] read once over `threads`: a streaming-read bandwidth probe (prefetch as the
    /// bf16 panel kernel does when `prefetch`).
    public static func streamRead(_ p: UnsafePointer<Float>, count n: Int, threads: Int, prefetch: Bool) -> Double {
        ss_stream_read_f32(p, n, Int32(threads), prefetch ? 1 : 0)
    }

    // MARK: model pieces

    /// One RWKV WKV step over C channels (state aa, bb, pp updated in place).
    public static func wkvStep(c: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, r: UnsafePointer<Float>,
                               u: UnsafePointer<Float>, w: UnsafePointer<Float>, aa: UnsafeMutablePointer<Float>,
                               bb: UnsafeMutablePointer<Float>, pp: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
        ss_wkv_step(Int32(c), k, v, r, u, w, aa, bb, pp, y)
    }

    /// o = σ(r)·v over n values.
    public static func sigmoidMul(_ n: Int, r: UnsafePointer<Float>, v: UnsafePointer<Float>, o: UnsafeMutablePointer<Float>) {
        ss_sigmoid_mul(Int32(n), r, v, o)
    }

    /// x ← GELU(x) (erf form) in place.
    public static func geluErf(_ n: Int, _ x: UnsafeMutablePointer<Float>) { ss_gelu_erf_f32(n, x) }

    /// Floats of scratch `attentionHead` needs for head size d and `keyCount` keys.
    public static func attentionScratchCount(d: Int, keyCount: Int) -> Int { ss_attention_scratch_count(Int32(d), Int32(keyCount)) }

    /// One attention head over the `keys` positions (attention.h).
    public static func attentionHead(l: Int, d: Int, keys: UnsafePointer<Int32>, keyCount: Int, q: UnsafePointer<Float>,
                                     k: UnsafePointer<Float>, v: UnsafePointer<Float>, stride: Int, scale: Float,
                                     out: UnsafeMutablePointer<Float>, ldo: Int, scratch: UnsafeMutablePointer<Float>) {
        ss_attention_head_f32(Int32(l), Int32(d), keys, Int32(keyCount), q, k, v, Int32(stride), scale, out, Int32(ldo), scratch)
    }

    // MARK: spike events

    /// Bytes of an event list for R rows of In inputs.
    public static func eventsBytes(rows: Int, inputs: Int) -> Int { ss_events_bytes(Int32(rows), Int32(inputs)) }

    /// Builds the event list of X[R, In] (leading dimension ldx); returns the nonzero count.
    public static func buildEvents(rows: Int, inputs: Int, x: UnsafePointer<Float>, ldx: Int, into events: UnsafeMutableRawPointer) -> Int {
        ss_events_build(Int32(rows), Int32(inputs), x, Int32(ldx), events)
    }

    /// Floats `packEventWeights` writes.
    public static func eventWeightsCount(inputs: Int, outputs: Int) -> Int { ss_events_packed_count(Int32(inputs), Int32(outputs)) }

    /// Packs W[In, Out] (leading dimension ldw) into slabs for `eventsLinear`.
    public static func packEventWeights(inputs: Int, outputs: Int, w: UnsafePointer<Float>, ldw: Int, into packed: UnsafeMutablePointer<Float>) {
        ss_events_pack_f32(Int32(inputs), Int32(outputs), w, Int32(ldw), packed)
    }

    /// Y[R, Out] = events · W (work ∝ nonzeros · Out).
    public static func eventsLinear(_ events: UnsafeRawPointer, outputs: Int, packed: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, ldy: Int) {
        ss_events_linear_f32(events, Int32(outputs), packed, y, Int32(ldy))
    }
}
