// `spikescope bench tune` and the per-CPU tuning through the binary: the calibration's JSON, the
// cache it saves (read by the next process: machine.tuning_source says so), SPIKESCOPE_TUNING on
// top, and the machine block every bench prints (kernel paths, tuning, measured bandwidth).
// XDG_CACHE_HOME points at a temporary folder: nothing of the user's cache is read or written.
import Foundation
import Testing

@Suite struct BenchTuneCLITests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text.prefix(300))")
    }

    @Test func tuneSavesForThisCPUAndTheNextProcessUsesIt() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["XDG_CACHE_HOME": dir]
        let r = try HostileCLI.run(["bench", "tune", "--rounds", "1", "--save", "--json"], timeout: 120, environment: env)
        #expect(r.status == 0 && !r.hung, "\(r.err)")
        let out = try Self.json(r.out)
        let knobs = try #require(out["knobs"] as? [[String: Any]])
        #expect(knobs.compactMap { $0["knob"] as? String } == ["panel_prefetch_bytes", "rows_prefetch_elements", "spike_range_events"])
        for k in knobs {
            let cands = k["candidates"] as? [Int] ?? [], ms = k["ms"] as? [Double] ?? [], ratios = k["ratio_to_before"] as? [Double] ?? []
            #expect(!cands.isEmpty && ms.count == cands.count && ratios.count == cands.count, "\(k)")
            #expect(ms.allSatisfy { $0 > 0 } && cands.contains(k["chosen"] as? Int ?? -1), "\(k)")
            #expect(ratios[cands.firstIndex(of: k["before"] as? Int ?? -1) ?? 0] == 1, "the value in use is its own reference: \(k)")
        }
        let tuning = try #require(out["tuning"] as? [String: Any])
        let saved = try #require(out["saved_to"] as? String)
        #expect(saved == dir + "/spikescope/tuning.json")
        let cache = try Self.json(String(contentsOfFile: saved, encoding: .utf8))
        let cpuid = try #require((out["machine"] as? [String: Any])?["cpuid"] as? String)
        let entry = try #require(cache[cpuid] as? [String: Any], "the cache is keyed by this CPU (\(cpuid)): \(cache.keys)")
        #expect((entry["tuning"] as? [String: Any])?["panelPrefetchBytes"] as? Int == tuning["panel_prefetch_bytes"] as? Int)

        // The next process starts with the cached values, and SPIKESCOPE_TUNING overrides a field.
        let next = try HostileCLI.run(["bench", "spike-linear", "--rate", "0.1", "--runs", "1", "--tokens", "8", "--json"], timeout: 120,
                                      environment: env.merging(["SPIKESCOPE_TUNING": "panel_prefetch=4096"]) { $1 })
        #expect(next.status == 0, "\(next.err)")
        let machine = try #require(try Self.json(next.out)["machine"] as? [String: Any])
        let source = machine["tuning_source"] as? String ?? ""
        #expect(source.hasPrefix("cache: \(saved)") && source.hasSuffix("+ SPIKESCOPE_TUNING"), "\(source)")
        let used = try #require(machine["tuning"] as? [String: Any])
        #expect(used["panel_prefetch_bytes"] as? Int == 4096)
        #expect(used["spike_range_events"] as? Int == tuning["spike_range_events"] as? Int)
        #expect((machine["bandwidth_gb_s"] as? Double ?? 0) > 0.5, "a measured bandwidth: \(machine)")
        let kernels = try #require(machine["kernels"] as? [String: String])
        for k in ["gemm", "gemv_f32", "gemv_bf16_panel", "gemv_bf16_rows", "spike_linear_packed", "spike_events", "compact", "gelu",
                  "attention", "wkv"] {
            #expect(!(kernels[k] ?? "").isEmpty, "kernels lacks \(k): \(kernels)")
        }
    }

    @Test func badRoundsAndAnUnwritableCacheAreRefused() throws {
        let bad = try HostileCLI.run(["bench", "tune", "--rounds", "0"])
        #expect(bad.status != 0 && bad.err.contains("--rounds"), "\(bad.err)")
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let blocker = dir + "/file"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        let r = try HostileCLI.run(["bench", "tune", "--rounds", "1", "--save", "--cache", blocker + "/tuning.json", "--json"], timeout: 120)
        HostileCLI.expectRefused(r, mentioning: ["cannot write the tuning cache", blocker, "--cache"])
    }

    @Test func bf16DotThroughTheBinary() throws {
        let llama = Harness.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/llama/llama-tiny-bf16").path
        let flags = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
        let has = flags.contains(" avx512_bf16") && ProcessInfo.processInfo.environment["SPIKESCOPE_NO_AVX512"] == nil
        let r = try HostileCLI.run(["bench", "generate", "--model", llama, "--tokens", "4", "--repeats", "1", "--bf16-dot", "--prefill", "16", "--json"],
                                   timeout: 120)
        guard has else {
            HostileCLI.expectRefused(r, mentioning: ["--bf16-dot", "AVX-512 BF16"])
            print("bf16 dot mode not run through the binary: this CPU lacks AVX-512 BF16 (the refusal was checked)")
            return
        }
        #expect(r.status == 0, "\(r.err)")
        let out = try Self.json(r.out)
        #expect(out["bf16_dot"] as? Bool == true)
        #expect(((out["machine"] as? [String: Any])?["kernels"] as? [String: String])?["gemv_bf16_rows"]?.contains("dot") == true)
        let def = try #require(out["default_mode"] as? [String: Any])
        let drift = try #require(def["drift"] as? [String: Any])
        let maxAbs = drift["max_abs_logit"] as? Double ?? .nan, scale = drift["max_abs_logit_default"] as? Double ?? .nan
        #expect(maxAbs > 0, "the mode changes the numbers (x is rounded to bf16): \(drift)")
        #expect(maxAbs <= 0.02 * scale, "logits move by \(maxAbs) of \(scale)")
        #expect((def["prefill_speedup"] as? Double ?? 0) > 0 && (out["prefill_tokens"] as? Int) == 16)
        // fp32 weights: nothing goes through the bf16 row kernels, and the report says so.
        let f32 = try HostileCLI.run(["bench", "generate", "--model", llama.replacingOccurrences(of: "llama-tiny-bf16", with: "llama-tiny"),
                                      "--tokens", "2", "--repeats", "1", "--bf16-dot", "--json"], timeout: 120)
        #expect(f32.status == 0 && f32.err.contains("the mode changed nothing"), "\(f32.err)")
        #expect((try Self.json(f32.out))["bf16_dot_note"] != nil)
        // The SpikeGPT runner keeps its own bf16 layout: the flag is refused there, with the reason.
        let gpt = try HostileCLI.run(["bench", "generate", "--tokens", "2", "--bf16-dot"], timeout: 60)
        HostileCLI.expectRefused(gpt, mentioning: ["--bf16-dot", "LLaMA"])
    }
}
