// TextCorpus tests: a file, a folder of .txt files in sorted order, invalid UTF-8 with its byte
// offset, and the deterministic tail split. Files are written to a fresh temporary folder.

import Foundation
import Testing
@testable import Formats

@Suite("Text corpus")
struct CorpusTests {
    func tempFolder() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("spikescope-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    @Test("a folder is read in sorted name order, only .txt files, joined by newlines")
    func folder() throws {
        let d = try tempFolder()
        defer { try? FileManager.default.removeItem(at: d) }
        try "second".write(to: d.appendingPathComponent("b.txt"), atomically: true, encoding: .utf8)
        try "first\n".write(to: d.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        try "ignored".write(to: d.appendingPathComponent("c.md"), atomically: true, encoding: .utf8)
        try "third é".write(to: d.appendingPathComponent("c.txt"), atomically: true, encoding: .utf8)
        let c = try TextCorpus.load(path: d.path)
        #expect(c.text == "first\nsecond\nthird é")
        #expect(c.files.map { URL(fileURLWithPath: $0).lastPathComponent } == ["a.txt", "b.txt", "c.txt"])
    }

    @Test("invalid UTF-8 names the byte offset", arguments: [
        ([0x61, 0x62, 0xFF], 2), ([0xC3, 0xA9, 0xC3], 2), ([0x61, 0xED, 0xA0, 0x80], 1), ([0xEF, 0xBB, 0xBF, 0x61, 0x80], 4),
        ([0xF0, 0x9F, 0x98, 0x80, 0xC0, 0x80], 4), ([0xF4, 0x90, 0x80, 0x80], 0),
    ] as [([UInt8], Int)])
    func invalidUTF8(_ bytes: [UInt8], _ offset: Int) throws {
        let d = try tempFolder()
        defer { try? FileManager.default.removeItem(at: d) }
        let f = d.appendingPathComponent("bad.txt")
        try Data(bytes).write(to: f)
        #expect(throws: CorpusError.invalidUTF8(file: f.path, offset: offset)) { try TextCorpus.load(path: f.path) }
    }

    @Test("the UTF-8 validator agrees with Foundation on random byte strings")
    func validatorAgrees() {
        var rng = SplitMix(seed: 1)
        for _ in 0..<3000 {
            let n = Int(rng.next() % 12)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next() % 5 == 0 ? rng.next() : 0x80 | (rng.next() % 0x80)) }
            let valid = String(data: Data(bytes), encoding: .utf8) != nil
            #expect((firstInvalidUTF8(bytes) == nil) == valid, "\(bytes)")
        }
    }

    @Test("split keeps the last fraction as validation, deterministically")
    func split() throws {
        let c = TextCorpus(text: String(repeating: "abcdefghij", count: 10))
        let (train, valid) = try c.split(validFraction: 0.1)
        #expect(train.unicodeScalars.count == 90 && valid == "abcdefghij")
        #expect(train + valid == c.text)
        let again = try c.split(validFraction: 0.1)
        #expect(again.train == train && again.valid == valid)
        #expect(throws: CorpusError.badFraction(1.5)) { try c.split(validFraction: 1.5) }
        // A cut inside a flag (two scalars) moves to the flag's start.
        let flag = TextCorpus(text: "ab🇳🇴")
        let s = try flag.split(validFraction: 0.25)
        #expect(s.train == "ab" && s.valid == "🇳🇴")
    }

    @Test("an empty folder is an error")
    func emptyFolder() throws {
        let d = try tempFolder()
        defer { try? FileManager.default.removeItem(at: d) }
        #expect(throws: CorpusError.empty(path: d.path)) { try TextCorpus.load(path: d.path) }
    }
}

/// A tiny deterministic generator for tests (SplitMix64, Steele et al. 2014).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
