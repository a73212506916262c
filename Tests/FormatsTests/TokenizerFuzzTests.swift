// Tokenizer fuzz tests: a deterministic mutation loop over tokenizer.json parsing (byte flips,
// inserts, deletions, truncations, JSON-ish splices of the committed fixtures) and encoding of
// random strings, random scalars and decoded random/malformed UTF-8. The property is only
// "no crash, no hang; errors are TokenizerError". Counts are printed for the report.

import Foundation
import Testing
@testable import Formats

/// Substring test on UTF-8 bytes (String.contains works on Characters, and a combining mark after
/// ">" would hide the match).
func containsBytes(_ text: String, _ pattern: String) -> Bool {
    let t = Array(text.utf8), p = Array(pattern.utf8)
    guard t.count >= p.count else { return false }
    return (0...(t.count - p.count)).contains { t[$0..<$0 + p.count].elementsEqual(p) }
}

@Suite("Tokenizer fuzz")
struct TokenizerFuzzTests {
    static let splices: [[UInt8]] = ["{", "}", "[", "]", "\"", ":", ",", "null", "-1", "1e999", "2147483648", "true",
                                     "\"type\"", "\"BPE\"", "\"WordPiece\"", "\"Sequence\"", "[]", "{}", "\\u0000", "\u{1F600}"].map { Array($0.utf8) }

    /// SPIKESCOPE_FUZZ_SCALE=k runs k times the default count (for long local runs).
    static func iterations(_ base: Int) -> Int {
        base * max(1, Int(ProcessInfo.processInfo.environment["SPIKESCOPE_FUZZ_SCALE"] ?? "") ?? 1)
    }

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var b = input
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            guard !b.isEmpty else { b = splices[Int(rng.next() % UInt64(splices.count))]; continue }
            let at = Int(rng.next() % UInt64(b.count))
            switch rng.next() % 6 {
            case 0: b[at] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
            case 1: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
            case 2: b.removeSubrange(at..<min(b.count, at + 1 + Int(rng.next() % 64)))
            case 3: b.removeSubrange(at...)
            case 4: b.insert(contentsOf: splices[Int(rng.next() % UInt64(splices.count))], at: at)
            default:
                let len = min(b.count - at, 1 + Int(rng.next() % 200))
                b.insert(contentsOf: b[at..<at + len], at: Int(rng.next() % UInt64(b.count)))
            }
        }
        return b
    }

    static func randomText(_ rng: inout SplitMix) -> String {
        switch rng.next() % 3 {
        case 0:
            // Random (often malformed) UTF-8, decoded with replacement characters.
            let bytes = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            return String(decoding: bytes, as: UTF8.self)
        case 1:
            // Random scalars from all planes (surrogates skipped).
            var s = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 30) {
                if let c = Unicode.Scalar(UInt32(rng.next() % 0x110000)) { s.append(c) }
            }
            return String(s)
        default:
            // Pieces that stress the splitters: specials, combining marks, spaces, contractions.
            let parts = ["<|endoftext|>", "<|endoftext", "[CLS]", "[SEP]", "'s", "'", " ", "  ", "\t", "\n", "\r\n",
                         "e\u{301}", "\u{301}", "中", "😀", "👨‍👩‍👧", "a", "Z", "9", "!", "##", "\u{0}", "\u{FFFD}", "\u{200D}"]
            return (0..<Int(rng.next() % 20)).map { _ in parts[Int(rng.next() % UInt64(parts.count))] }.joined()
        }
    }

    @Test("mutated tokenizer.json files never crash the loader")
    func mutateJSON() throws {
        let seeds = try ["bpe_small.json", "wordpiece_tokenizer.json"].map {
            [UInt8](try Data(contentsOf: TokenizerFixtures.folder.appendingPathComponent($0)))
        }
        var rng = SplitMix(seed: 0x5EED)
        var executions = 0, loaded = 0
        let n = Self.iterations(2000)
        for i in 0..<n {
            let data = Data(Self.mutate(seeds[i % seeds.count], &rng))
            executions += 1
            do {
                let tok = try HFTokenizer.load(jsonData: data, file: "fuzz.json")
                loaded += 1
                let e = try tok.encode(Self.randomText(&rng), pair: Self.randomText(&rng), addSpecialTokens: true)
                #expect(e.ids.count == e.tokens.count && e.ids.count == e.offsets.count && e.ids.count == e.typeIds.count)
                _ = tok.decode(e.ids + [-1, Int.max])
            } catch is TokenizerError {
                // expected for most mutations
            }
        }
        print("tokenizer.json mutation fuzz: \(executions) executions, \(loaded) loaded and encoded, 0 crashes")
        #expect(executions == n)
        #expect(loaded > 0, "some mutations should still load (whitespace/values)")
    }

    @Test("random and malformed text never crashes encoding; offsets stay inside the text")
    func randomStrings() throws {
        let tokenizers: [any Tokenizer] = [
            try HFTokenizer.load(jsonFile: TokenizerFixtures.path("bpe_small.json")),
            try HFTokenizer.load(jsonFile: TokenizerFixtures.path("bpe_prefix.json")),
            try HFTokenizer.load(jsonFile: TokenizerFixtures.path("wordpiece_tokenizer.json")),
            try CharVocab.load(file: TokenizerFixtures.path("charvocab_utf16.json")),
        ]
        var rng = SplitMix(seed: 42)
        var executions = 0
        let n = Self.iterations(4000)
        for i in 0..<n {
            let tok = tokenizers[i % tokenizers.count]
            let text = Self.randomText(&rng)
            let e = try tok.encode(text, pair: nil, addSpecialTokens: true)
            executions += 1
            let n = text.unicodeScalars.count
            #expect(e.offsets.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= n }, "\(String(reflecting: text))")
            if i % tokenizers.count == 0 {
                // Byte-level BPE without a prefix space is lossless: decoding gives the text back
                // (after NFC), except that the special <|endoftext|> is skipped.
                #expect(tok.decode(try tok.encode(text, addSpecialTokens: false).ids)
                    .unicodeScalars.elementsEqual(text.precomposedStringWithCanonicalMapping.unicodeScalars) || containsBytes(text, "<|endoftext|>"),
                        "\(String(reflecting: text))")
            }
        }
        print("tokenizer encode fuzz: \(executions) executions, 0 crashes")
        #expect(executions == n)
    }
}
