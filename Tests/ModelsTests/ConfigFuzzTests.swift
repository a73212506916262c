// config.json is user input: every key of a real SpikeLM config replaced by hostile values
// (huge, zero, negative, fractional, strings, booleans, nulls, lists), alone and in pairs, then
// the model built against its real weights. Only a model or a ModelError may come out, quickly:
// bounds are checked before anything is allocated (10^9 layers used to grow memory for hours).
// SPIKESCOPE_FUZZ_ROUNDS sets the rounds for long manual runs.
import Foundation
import Testing
@testable import Models
import Engine
import Formats

@Suite struct ConfigFuzzTests {
    @Test func mutatedConfigsBuildOrFailCleanly() throws {
        let rounds = Int(ProcessInfo.processInfo.environment["SPIKESCOPE_FUZZ_ROUNDS"] ?? "").map { $0 / 10 } ?? 400
        let url = TestPaths.fixtures.appendingPathComponent("config.json")
        let base = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let weights = try SpikeBERTReferenceTests.weights.get()
        let keys = base.keys.sorted() + ["T", "input_bits", "num_labels", "id2label", "max_position_embeddings", "type_vocab_size"]
        let values: [Any] = [0, 1, -1, 2, 3, 7, 64, 65, 1_000_000, 1_000_000_000, Int.max, 1.5, 1e300, -0.0, "64", "", true, false,
                             NSNull(), [1, 2], ["0": "neg"], "gelu", "swish"]
        var rng = SeededRNG(seed: 0xC0F1)
        var built = 0, refused = 0
        var slowest = 0.0
        for _ in 0..<rounds {
            var cfg = base
            for _ in 0...Int(rng.next() % 2) {
                cfg[keys[Int(rng.next() % UInt64(keys.count))]] = values[Int(rng.next() % UInt64(values.count))]
            }
            let json = try JSONSerialization.data(withJSONObject: cfg)
            let t0 = Date()
            do {
                let c = try BERTConfig(json: json, file: "fuzz/config.json")
                _ = try SpikeBERT(config: c, weights: weights)
                built += 1
            } catch let e as ModelError {
                refused += 1
                #expect(!e.description.isEmpty)
            }
            slowest = max(slowest, Date().timeIntervalSince(t0))
        }
        print("fuzz config.json: \(rounds) configs, \(built) built, \(refused) refused with ModelError, slowest \(String(format: "%.3f", slowest)) s")
        #expect(built > 0 && refused > 0)
        #expect(slowest < 5)
    }
}
