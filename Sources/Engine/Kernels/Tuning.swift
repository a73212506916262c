// Per-CPU tuning of the kernels' speed knobs (tuning.h): measuring them on this machine
// (`spikescope bench tune`), caching the result per CPU, and the streaming-read probe the
// bandwidth figures of every bench come from. None of the knobs changes a result bit (tests
// check that), only the time; the table in tuning.c holds the values measured so far.

import CKernels
import Foundation

extension Kernels {
    /// Measured streaming-read bandwidth in bytes/s: the best of `repeats` passes (each with and
    /// without the panel kernel's software prefetch) summing a `megabytes` buffer (far larger than
    /// the caches) with `threads` threads.
    public static func measureReadBandwidth(megabytes: Int = 512, threads: Int = 2, repeats: Int = 4) -> Double {
        let n = megabytes * (1 << 20) / 4
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { buf.deallocate() }
        buf.initialize(repeating: 1, count: n)   // touch every page before timing
        var best = 0.0
        var sink = 0.0
        // Plain loads and loads with the panel kernel's software prefetch, alternated; the best of
        // either is the limit (on the Zen 3 VM the prefetching read was 10–25% faster).
        for r in 0..<(2 * repeats) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            sink += streamRead(buf, count: n, threads: threads, prefetch: r % 2 == 1)
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            best = max(best, Double(n * 4) / dt)
        }
        return sink == Double(n * 2 * repeats) ? best : best   // sink read keeps the sums alive
    }

    /// The bandwidth of this machine as the benches report it (1 and 2 threads, the better one),
    /// measured once per process with a 256 MB probe.
    public static let machineBandwidth: Double = {
        max(measureReadBandwidth(megabytes: 256, threads: 1, repeats: 2),
            measureReadBandwidth(megabytes: 256, threads: min(2, max(1, threads)), repeats: 2))
    }()
}

/// Measures the kernels' knobs on this machine and keeps the result per CPU.
public enum KernelTuning {
    /// One knob's measurement: each candidate's time relative to the value in use, measured in
    /// the same round (the median over rounds), its median time, and the one chosen.
    public struct Knob: Sendable {
        public var name: String
        public var what: String
        public var candidates: [Int]
        public var milliseconds: [Double]
        /// Median over rounds of (candidate's time / the value in use's time in that round).
        public var ratios: [Double]
        public var chosen: Int
        /// The value in use before the calibration.
        public var before: Int
        public var json: [String: Any] {
            ["knob": name, "what": what, "candidates": candidates,
             "ms": milliseconds.map { ($0 * 1000).rounded() / 1000 }, "ratio_to_before": ratios.map { ($0 * 1000).rounded() / 1000 },
             "chosen": chosen, "before": before]
        }
    }

    /// Times `run` once per candidate per round (the best of 3 after a warm-up; the candidates'
    /// order rotates between rounds) and compares each candidate with the value in use within the
    /// same round, so a slow spell of a shared machine, which lasts longer than a round, cancels.
    /// A candidate replaces the value in use only when its median ratio is below 1 − `margin`.
    static func measure(name: String, what: String, candidates: [Int], current: Int, rounds: Int, margin: Double = 0.05,
                        set: (Int) -> Void, run: () -> Void) -> Knob {
        var all = candidates
        if !all.contains(current) { all.append(current); all.sort() }
        let currentIndex = all.firstIndex(of: current)!
        var times = [[Double]](repeating: [], count: all.count)
        for r in 0..<rounds {
            for k in 0..<all.count {
                let i = (k + r) % all.count
                set(all[i])
                run()   // warm-up
                var best = Double.infinity
                for _ in 0..<3 {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    run()
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-6)
                }
                times[i].append(best)
            }
        }
        let (chosen, ratios) = choose(times: times, current: currentIndex, margin: margin)
        return Knob(name: name, what: what, candidates: all, milliseconds: times.map(median), ratios: ratios,
                    chosen: all[chosen], before: current)
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The choice of `measure`: times[candidate][round] → (the index chosen, each candidate's
    /// median over rounds of its time / the current value's time in the same round). The current
    /// value stays unless a candidate's median ratio is below 1 − margin.
    public static func choose(times: [[Double]], current: Int, margin: Double) -> (Int, [Double]) {
        let rounds = times[current].count
        let ratios = times.indices.map { i in median((0..<rounds).map { times[i][$0] / times[current][$0] }) }
        var chosen = current
        for i in ratios.indices where ratios[i] < ratios[chosen] { chosen = i }
        if ratios[chosen] > 1 - margin { chosen = current }
        return (chosen, ratios)
    }

    /// Measures every knob with the kernels as the models call them: the bf16 panel GEMV over
    /// 96 MB of 2048×512 panels (a SpikeGPT token's worth, twice), the bf16 row GEMV over 96 MB of
    /// 2048×2048 matrices (LLaMA's layout), the packed spike-linear (128 × 768 → 3072, binary
    /// spikes at rates 0.05 and 0.15). Leaves the chosen values in use and returns them.
    public static func calibrate(rounds: Int = 9) -> (Kernels.Tuning, [Knob]) {
        var tuning = Kernels.tuning
        var knobs: [Knob] = []
        let threads = min(2, max(1, Kernels.threads))

        // bf16 panel GEMV (SpikeGPT's batch-1 runner): 48 × 2048×512 packed into panels.
        do {
            let (rows, cols) = (2048, 512)
            let per = Kernels.bf16PanelCount(nOut: rows, nIn: cols)
            let sweep = BF16Sweep(kind: .bf16Panel, rows: rows, cols: cols, elementsPerMatrix: per, count: 48, threads: threads) { dst, src in
                Kernels.packBF16Panels(nOut: rows, nIn: cols, into: dst, from: src)
            }
            defer { sweep.deallocate() }
            let k = measure(name: "panel_prefetch_bytes", what: "bf16 panel GEMV, 48 × 2048×512 (96 MB), \(threads) threads",
                            candidates: [0, 1024, 2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768], current: tuning.panelPrefetchBytes,
                            rounds: rounds, set: { tuning.panelPrefetchBytes = $0; Kernels.setTuning(tuning, source: "calibrating", keepEnvironment: false) },
                            run: sweep.run)
            tuning.panelPrefetchBytes = k.chosen
            knobs.append(k)
        }

        // bf16 row GEMV (LLaMA's bf16 weights read in place): 12 × 2048×2048 as stored.
        do {
            let (rows, cols) = (2048, 2048)
            let sweep = BF16Sweep(kind: .bf16Rows, rows: rows, cols: cols, elementsPerMatrix: rows * cols, count: 12, threads: threads) { dst, src in
                dst.update(from: src, count: rows * cols)
            }
            defer { sweep.deallocate() }
            let k = measure(name: "rows_prefetch_elements", what: "bf16 row GEMV, 12 × 2048×2048 (96 MB), \(threads) threads",
                            candidates: [0, 256, 512, 1024, 2048, 4096], current: tuning.rowsPrefetchElements,
                            rounds: rounds, set: { tuning.rowsPrefetchElements = $0; Kernels.setTuning(tuning, source: "calibrating", keepEnvironment: false) },
                            run: sweep.run)
            tuning.rowsPrefetchElements = k.chosen
            knobs.append(k)
        }

        // Packed spike-linear row ranges (SpikeLinear's event path).
        do {
            let (t, inF, outF) = (128, 768, 3072)
            var rng = SeededRNG(seed: 5)
            let w = Tensor.randomUniform([inF, outF], -0.05, 0.05, rng: &rng)
            let layers = (0..<4).compactMap { _ in try? SpikeLinear(weightInOut: w) }   // 4 copies: cold weights, as in a forward pass
            let xs = [0.05, 0.15].map { rate in Tensor(shape: [t, inF]) { _ in Double(rng.nextUniform()) < rate ? 1 : 0 } }
            let y = Tensor(zeros: [t, outF])
            let sweep = {
                for x in xs { for l in layers { try? l.forward(x, into: y, path: .event) } }
            }
            let k = measure(name: "spike_range_events", what: "packed spike-linear, 128 × 768→3072 at rates 0.05 and 0.15",
                            candidates: [8, 12, 16, 24, 32, 48], current: tuning.spikeRangeEvents,
                            rounds: rounds, set: { tuning.spikeRangeEvents = $0; Kernels.setTuning(tuning, source: "calibrating", keepEnvironment: false) },
                            run: sweep)
            tuning.spikeRangeEvents = k.chosen
            knobs.append(k)
        }
        Kernels.setTuning(tuning, source: "measured by this process (bench tune)")
        return (tuning, knobs)
    }

    /// `count` bf16 matrices (rows × cols, small random values) laid out by `layout` (the panel
    /// packing, or a plain copy), and `run`: one batch-1 product with each, in turn.
    final class BF16Sweep {
        let base: UnsafeMutablePointer<UInt16>
        let run: () -> Void
        init(kind: Kernels.GEMVJob.Kind, rows: Int, cols: Int, elementsPerMatrix per: Int, count: Int, threads: Int,
             layout: (UnsafeMutablePointer<UInt16>, UnsafePointer<UInt16>) -> Void) {
            let base = UnsafeMutableRawPointer.allocate(byteCount: per * count * 2, alignment: 64).bindMemory(to: UInt16.self, capacity: per * count)
            var state: UInt32 = 12345
            let w = (0..<(rows * cols)).map { _ -> UInt16 in   // sign, exponent near 2^-4, random mantissa
                state = state &* 1_664_525 &+ 1_013_904_223
                return UInt16(0x3D00 | (state >> 20 & 0x7F)) | UInt16(state >> 31) << 15
            }
            w.withUnsafeBufferPointer { src in for m in 0..<count { layout(base + m * per, src.baseAddress!) } }
            let x = [Float](repeating: 0.5, count: cols)
            var y = [Float](repeating: 0, count: rows)
            self.base = base
            run = {
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        for m in 0..<count {
                            var job = Kernels.GEMVJob(kind: kind, nOut: rows, nIn: cols, y: yp.baseAddress!,
                                                      w: UnsafeRawPointer(base + m * per), x: xp.baseAddress!, partial: nil)
                            Kernels.gemvBatch(&job, count: 1, threads: threads)
                        }
                    }
                }
            }
        }
        func deallocate() { base.deallocate() }
    }

    // MARK: cache

    /// Where `bench tune --save` keeps its results: $XDG_CACHE_HOME/spikescope/tuning.json, else
    /// ~/.cache/spikescope/tuning.json.
    public static var defaultCacheURL: URL {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("spikescope").appendingPathComponent("tuning.json")
    }

    struct CacheEntry: Codable {
        var tuning: Kernels.Tuning
        var measured: String
    }

    /// Adds (or replaces) this CPU's entry in the cache file; other CPUs' entries stay (a home
    /// directory shared between machines keeps each one's values).
    public static func save(_ t: Kernels.Tuning, to url: URL = defaultCacheURL) throws {
        var entries = (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode([String: CacheEntry].self, from: $0) } ?? [:]
        entries[Kernels.cpuIdentity] = CacheEntry(tuning: t, measured: ISO8601DateFormatter().string(from: Date()))
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try enc.encode(entries).write(to: url, options: .atomic)
    }

    /// This CPU's cached values, if the file has an entry for it (a missing or unreadable file is
    /// no entry: the table's values stay).
    public static func cached(at url: URL = defaultCacheURL) -> Kernels.Tuning? {
        guard let data = try? Data(contentsOf: url),
              let entries = try? JSONDecoder().decode([String: CacheEntry].self, from: data) else { return nil }
        return entries[Kernels.cpuIdentity]?.tuning
    }

    /// For the benches: when this CPU is neither in tuning.c's table nor in the cache (the values
    /// in use are the defaults), measures it now (`calibrate(rounds: 5)`, a few seconds) and caches
    /// the result, so later processes start tuned. SPIKESCOPE_NO_AUTOTUNE=1 turns this off.
    /// Returns the knobs measured, or nil when nothing was needed.
    public static func calibrateIfUnknown(cache url: URL = defaultCacheURL) -> [Knob]? {
        guard Kernels.tuningSource.hasPrefix("default"),
              ProcessInfo.processInfo.environment["SPIKESCOPE_NO_AUTOTUNE"] == nil else { return nil }
        let (t, knobs) = calibrate(rounds: 5)
        try? save(t, to: url)
        return knobs
    }

    /// Uses this CPU's cached values when there are any (SPIKESCOPE_TUNING still overrides them).
    /// Returns whether it did.
    @discardableResult
    public static func applyCached(from url: URL = defaultCacheURL) -> Bool {
        guard let t = cached(at: url) else { return false }
        Kernels.setTuning(t, source: "cache: \(url.path)")
        return true
    }
}
