// Per-CPU tuning (tuning.c, Engine/Kernels/Tuning.swift): the knobs change no result bit, values
// are clamped, the cache keeps one entry per CPU, the calibration's choice keeps the value in use
// unless a candidate is clearly faster, and the CPUID decoding names this CPU as /proc/cpuinfo does.
// Serialized: the tests set the process's tuning (restored at the end of each).

import Foundation
import Testing
@testable import Engine

@Suite(.serialized) struct KernelTuningTests {
    static let settings: [Kernels.Tuning] = [
        .init(panelPrefetchBytes: 0, rowsPrefetchElements: 0, spikeRangeEvents: 1),
        .init(panelPrefetchBytes: 65536, rowsPrefetchElements: 16384, spikeRangeEvents: 256),
        .init(panelPrefetchBytes: 12288, rowsPrefetchElements: 2048, spikeRangeEvents: 8),
    ]

    /// Runs `body` under each setting (and the one in use) and checks every result is the first's bits.
    func sameBitsUnderEverySetting(_ what: String, _ body: () -> [Float]) {
        let saved = Kernels.tuning, source = Kernels.tuningSource
        defer { Kernels.setTuning(saved, source: source, keepEnvironment: false) }
        let want = body()
        #expect(!want.isEmpty && want.allSatisfy(\.isFinite), "\(what): the product itself")
        for t in Self.settings {
            Kernels.setTuning(t, keepEnvironment: false)
            #expect(Kernels.tuning == t)
            #expect(body().map(\.bitPattern) == want.map(\.bitPattern), "\(what) under \(t)")
        }
    }

    static func bf16(_ n: Int, seed: UInt64) -> [UInt16] {
        var rng = SeededRNG(seed: seed)
        return (0..<n).map { _ in UInt16(truncatingIfNeeded: (rng.nextUniform() * 2 - 1).bitPattern >> 16) }
    }

    @Test func panelGEMVBitsDoNotDependOnThePrefetchDistance() {
        let (nOut, nIn) = (200, 3000)   // 3000 inputs × 64 B: the prefetch runs past a panel's end
        let w = Self.bf16(nOut * nIn, seed: 1)
        let count = Kernels.bf16PanelCount(nOut: nOut, nIn: nIn)
        let panels = UnsafeMutableRawPointer.allocate(byteCount: count * 2, alignment: 64).bindMemory(to: UInt16.self, capacity: count)
        defer { panels.deallocate() }
        w.withUnsafeBufferPointer { Kernels.packBF16Panels(nOut: nOut, nIn: nIn, into: panels, from: $0.baseAddress) }
        var rng = SeededRNG(seed: 2)
        let x = (0..<nIn).map { _ in rng.nextUniform() - 0.5 }
        sameBitsUnderEverySetting("bf16 panel GEMV") {
            var y = [Float](repeating: .nan, count: nOut)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    var job = Kernels.GEMVJob(kind: .bf16Panel, nOut: nOut, nIn: nIn, y: yp.baseAddress!, w: UnsafeRawPointer(panels),
                                              x: xp.baseAddress!, partial: nil)
                    Kernels.gemvBatch(&job, count: 1, threads: 2)
                }
            }
            return y
        }
    }

    @Test func rowGEMVBitsDoNotDependOnThePrefetchDistance() {
        let (nOut, nIn) = (67, 2100)
        let w = Self.bf16(nOut * nIn, seed: 3)
        var rng = SeededRNG(seed: 4)
        let x = (0..<nIn).map { _ in rng.nextUniform() - 0.5 }
        sameBitsUnderEverySetting("bf16 row GEMV") {
            var y = [Float](repeating: .nan, count: nOut)
            w.withUnsafeBufferPointer { wp in
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        var job = Kernels.GEMVJob(kind: .bf16Rows, nOut: nOut, nIn: nIn, y: yp.baseAddress!, w: UnsafeRawPointer(wp.baseAddress!),
                                                  x: xp.baseAddress!, partial: nil)
                        Kernels.gemvBatch(&job, count: 1, threads: 2)
                    }
                }
            }
            return y
        }
    }

    @Test(arguments: [0.03, 0.15, 0.4])
    func spikeLinearBitsDoNotDependOnTheRangeSize(rate: Double) throws {
        let (t, inF, outF) = (24, 1000, 130)   // 1000 inputs: several row ranges at every setting
        var rng = SeededRNG(seed: 5)
        let w = Tensor.randomUniform([inF, outF], -1, 1, rng: &rng)
        let layer = try SpikeLinear(weightInOut: w)
        let x = Tensor(shape: [t, inF]) { i in
            Double(rng.nextUniform()) < rate ? (i % 3 == 0 ? 0.5 : 1) : 0   // binary and mixed tokens
        }
        sameBitsUnderEverySetting("packed spike-linear at rate \(rate)") {
            let y = Tensor(zeros: [t, outF])
            try? layer.forward(x, into: y, path: .event)
            return y.contiguous().values
        }
    }

    @Test func valuesAreClampedAndTheSourceIsReported() {
        let saved = Kernels.tuning, source = Kernels.tuningSource
        defer { Kernels.setTuning(saved, source: source, keepEnvironment: false) }
        Kernels.setTuning(.init(panelPrefetchBytes: -5, rowsPrefetchElements: 1_000_000, spikeRangeEvents: 0),
                          source: "a test", keepEnvironment: false)
        #expect(Kernels.tuning == .init(panelPrefetchBytes: 0, rowsPrefetchElements: 16384, spikeRangeEvents: 1))
        #expect(Kernels.tuningSource == "a test")
        Kernels.setTuning(.init(panelPrefetchBytes: 3000, rowsPrefetchElements: 1000, spikeRangeEvents: 16), keepEnvironment: false)
        #expect(Kernels.tuning == .init(panelPrefetchBytes: 2944, rowsPrefetchElements: 992, spikeRangeEvents: 16),
                "distances round down to whole cache lines / 32-element steps")
    }

    @Test func theCacheKeepsOneEntryPerCPU() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tuning-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("sub/tuning.json")
        #expect(KernelTuning.cached(at: url) == nil, "no file, no entry")
        // Another machine's entry, written as a shared home directory would hold it.
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let other = #"{"GenuineIntel family 6 model 143":{"measured":"2026-01-01T00:00:00Z","tuning":{"panelPrefetchBytes":4096,"rowsPrefetchElements":512,"spikeRangeEvents":12}}}"#
        try Data(other.utf8).write(to: url)
        if !Kernels.cpuIdentity.hasPrefix("GenuineIntel family 6 model 143") {
            #expect(KernelTuning.cached(at: url) == nil, "another CPU's entry is not this one's")
        }
        let mine = Kernels.Tuning(panelPrefetchBytes: 8192, rowsPrefetchElements: 1024, spikeRangeEvents: 24)
        try KernelTuning.save(mine, to: url)
        #expect(KernelTuning.cached(at: url) == mine)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains("GenuineIntel family 6 model 143") && text.contains(Kernels.cpuIdentity), "both entries kept")
        let saved = Kernels.tuning, source = Kernels.tuningSource
        defer { Kernels.setTuning(saved, source: source, keepEnvironment: false) }
        #expect(KernelTuning.applyCached(from: url))
        #expect(Kernels.tuningSource == "cache: \(url.path)")
        // A corrupt file is no entry (the table's values stay), not a crash.
        try Data("{not json".utf8).write(to: url)
        #expect(KernelTuning.cached(at: url) == nil)
        #expect(!KernelTuning.applyCached(from: url))
    }

    @Test func anUnknownCPUIsMeasuredOnceAndCached() throws {
        let saved = Kernels.tuning, source = Kernels.tuningSource
        defer { Kernels.setTuning(saved, source: source, keepEnvironment: false) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("autotune-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("tuning.json")
        // A CPU the table names (or a cache) is left alone.
        Kernels.setTuning(saved, source: "table: a test", keepEnvironment: false)
        #expect(KernelTuning.calibrateIfUnknown(cache: url) == nil)
        #expect(!FileManager.default.fileExists(atPath: url.path))
        // On the defaults (a CPU not in the table, no cache) the benches measure it and keep it.
        Kernels.setTuning(saved, source: "default", keepEnvironment: false)
        let knobs = try #require(KernelTuning.calibrateIfUnknown(cache: url))
        #expect(knobs.map(\.name) == ["panel_prefetch_bytes", "rows_prefetch_elements", "spike_range_events"])
        #expect(KernelTuning.cached(at: url) == Kernels.tuning, "the values in use are the ones cached")
        #expect(Kernels.tuningSource.hasPrefix("measured"))
    }

    @Test func theChoiceKeepsTheCurrentValueUnlessClearlyFaster() {
        // Rounds in which the machine slows down by 2× halfway: candidate 2 is 10% faster than the
        // current (index 1) in every round, candidate 0 only 2% faster.
        let slow = [1.0, 1.0, 2.0, 2.0, 1.0]
        let times = [slow.map { $0 * 0.98 }, slow, slow.map { $0 * 0.90 }]
        let (chosen, ratios) = KernelTuning.choose(times: times, current: 1, margin: 0.05)
        #expect(chosen == 2)
        #expect(abs(ratios[2] - 0.90) < 1e-12 && abs(ratios[0] - 0.98) < 1e-12 && ratios[1] == 1)
        let (kept, _) = KernelTuning.choose(times: [slow.map { $0 * 0.97 }, slow], current: 1, margin: 0.05)
        #expect(kept == 1, "3% is inside the margin: the current value stays")
        // One lucky round does not decide it: the median does.
        let (notLucky, _) = KernelTuning.choose(times: [[0.5, 1.1, 1.1, 1.1, 1.1], [1, 1, 1, 1, 1]], current: 1, margin: 0.05)
        #expect(notLucky == 1)
    }

    @Test func cpuIdentityMatchesProcCpuinfo() throws {
        #if arch(x86_64)
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            print("cpuIdentity not checked: no /proc/cpuinfo on this system")
            return
        }
        var vendor = "", family = "", model = ""
        for line in text.split(separator: "\n") {
            let kv = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { continue }
            if kv[0] == "vendor_id", vendor.isEmpty { vendor = kv[1] }
            if kv[0] == "cpu family", family.isEmpty { family = kv[1] }
            if kv[0] == "model", model.isEmpty { model = kv[1] }
        }
        #expect(Kernels.cpuIdentity == "\(vendor) family \(family) model \(model)")
        let source = Kernels.tuningSource
        #expect(source.hasPrefix("table: ") || source.hasPrefix("default") || source.hasPrefix("cache: ") || source.hasPrefix("set"),
                "source: \(source)")
        #else
        #expect(Kernels.cpuIdentity == "")
        #endif
    }
}
