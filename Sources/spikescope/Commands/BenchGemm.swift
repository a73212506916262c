// `spikescope bench gemm`: GFLOP/s of our SGEMM (CKernels ss_gemm_f32) on N×N×N, next to NumPy's
// `a @ b` (OpenBLAS) measured in the same run by a python3 child process.
// What it is not: a correctness check (GEMMTests does that) or a sweep (run it once per size).
// Build with `swift build -c release` first: a debug build of the executable still calls the
// -O3 C kernel, but the numbers are only meaningful for release.

import ArgumentParser
import Experiments
import Foundation
import Engine
import Formats

struct BenchGemm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Time C = A·B (N×N float32) and compare with NumPy's a @ b.",
        discussion: """
            Prints {"size":N,"gflops":x,"ms":y,"numpy_gflops":z,"ratio":r,"threads":t}. \
            GFLOP/s = 2·N³ / best time over --runs runs after 2 warm-up runs. \
            If python3 or numpy is missing, numpy_gflops and ratio are null and "note" says why.
            """)

    @Option(help: "Matrix size N (C[N,N] = A[N,N]·B[N,N]), 1...8192.")
    var size = 1024

    @Option(help: "Timed runs; the best one is reported (1...1000).")
    var runs = 10

    @OptionGroup var common: KernelBenchOptions

    func validate() throws {
        guard (1...8192).contains(size) else {
            throw ValidationError("The value '\(size)' is invalid for '--size <size>'. Use 1...8192, e.g. --size 1024.")
        }
        guard (1...1000).contains(runs) else {
            throw ValidationError("The value '\(runs)' is invalid for '--runs <runs>'. Use 1...1000, e.g. --runs 10.")
        }
    }

    func run() throws {
        common.applyThreads()
        let n = size, count = n * n
        let a = alignedFloats(count), b = alignedFloats(count), c = alignedFloats(count)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        var rng = SeededRNG(seed: 1)
        for i in 0..<count { a[i] = rng.nextUniform() - 0.5; b[i] = rng.nextUniform() - 0.5 }
        let n32 = Int32(n)
        let seconds = benchBestSeconds(runs: runs, warmup: 2) {
            Kernels.gemm(transA: false, transB: false, m: Int(n32), n: Int(n32), k: Int(n32), alpha: 1, a: a, lda: Int(n32), b: b, ldb: Int(n32), beta: 0, c: c, ldc: Int(n32))
        }
        let flops = 2 * Double(n) * Double(n) * Double(n)
        let gflops = flops / seconds / 1e9
        let numpy = measureNumpy(size: n, runs: runs)
        var fields: [(String, String)] = [
            ("size", "\(n)"), ("gflops", fmt(gflops)), ("ms", fmt(seconds * 1e3, 3)),
            ("numpy_gflops", numpy.gflops.map { fmt($0) } ?? "null"),
            ("ratio", numpy.gflops.map { fmt(gflops / $0, 3) } ?? "null"),
            ("threads", "\(Kernels.threads)"),
            ("kernel", jsonString(Kernels.gemmKernelName)),
        ]
        if let note = numpy.note { fields.append(("note", jsonString(note))) }
        fields.append(("machine", MachineInfo.current.jsonText))
        print(jsonObject(fields))
        if !common.json {
            let np = numpy.gflops.map { String(format: "numpy %.1f GFLOP/s, ratio %.2f", $0, gflops / $0) } ?? "numpy n/a"
            FileHandle.standardError.write(Data(String(format: "gemm %d: %.1f GFLOP/s (%.3f ms), %@\n",
                                                       n, gflops, seconds * 1e3, np).utf8))
        }
    }
}

// MARK: - helpers shared by the bench commands

/// Best wall time (seconds) of `runs` calls of `body` after `warmup` untimed calls.
func benchBestSeconds(runs: Int, warmup: Int, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    let clock = ContinuousClock()
    var best = Double.infinity
    for _ in 0..<max(runs, 1) {
        let d = clock.measure { body() }
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        best = min(best, s)
    }
    return best
}

/// 64-byte aligned float buffer (like TensorStorage), zero-filled.
func alignedFloats(_ n: Int) -> UnsafeMutablePointer<Float> {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1) * 4, alignment: 64)
    let p = raw.bindMemory(to: Float.self, capacity: max(n, 1))
    p.initialize(repeating: 0, count: max(n, 1))
    return p
}

/// NumPy's float32 `a @ b` GFLOP/s in a python3 child (same warm-up and best-of-runs rule).
/// Never throws: a missing python3/numpy gives (nil, note).
func measureNumpy(size: Int, runs: Int) -> (gflops: Double?, note: String?) {
    let script = """
        import sys, time
        try:
            import numpy as np
        except Exception as e:
            print("ERR numpy not importable: %s" % e); sys.exit(0)
        n, runs = int(sys.argv[1]), int(sys.argv[2])
        rng = np.random.default_rng(1)
        a = (rng.random((n, n), dtype=np.float32) - 0.5)
        b = (rng.random((n, n), dtype=np.float32) - 0.5)
        for _ in range(2): a @ b
        best = float("inf")
        for _ in range(runs):
            t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)
        print("OK %r" % (2.0 * n ** 3 / best / 1e9))
        """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script, "\(size)", "\(runs)"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch {
        return (nil, "python3 could not be started (\(error.localizedDescription)); numpy not measured")
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    if text.hasPrefix("OK "), let v = Double(text.dropFirst(3)) { return (v, nil) }
    if text.hasPrefix("ERR ") { return (nil, String(text.dropFirst(4))) }
    return (nil, "python3 exited with status \(p.terminationStatus) and no result; numpy not measured")
}
