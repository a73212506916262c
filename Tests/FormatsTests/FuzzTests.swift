// Deterministic mutation fuzzing of the safetensors, zip and pickle parsers.
//
// Each round takes a valid seed file, applies 1-4 seeded mutations (bit flips, byte sets,
// truncation, insertion/deletion, the 8-byte header length or a JSON number replaced by an
// "interesting" value), parses it and, when parsing succeeds, reads every tensor. The only
// acceptable outcomes are a result or a FormatError; a crash fails the whole test run.
// Counts are printed so the report can quote them.

import Engine
import Foundation
import Testing
@testable import Formats

struct Mutator {
    var rng: SeededRNG
    static let interesting: [UInt64] = [0, 1, 7, 8, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 32,
                                        1 << 62, UInt64(Int64.max), UInt64.max]

    mutating func int(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }

    mutating func mutate(_ seed: [UInt8]) -> [UInt8] {
        var b = seed
        for _ in 0...int(4) {
            switch int(8) {
            case 0: if !b.isEmpty { b[int(b.count)] ^= UInt8(1) << UInt8(int(8)) }
            case 1: if !b.isEmpty { b[int(b.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            case 2: b = Array(b.prefix(int(b.count + 1)))
            case 3: let at = int(b.count + 1); b.insert(contentsOf: (0..<1 + int(16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            case 4: if !b.isEmpty { let at = int(b.count); b.removeSubrange(at..<min(b.count, at + 1 + int(32))) }
            case 5:  // an interesting little-endian u64 or u32 at a random offset (header length when at 0)
                let v = Self.interesting[int(Self.interesting.count)]
                let w = int(2) == 0 ? 8 : 4
                let at = int(3) == 0 ? 0 : int(max(1, b.count - w))
                if at + w <= b.count { for k in 0..<w { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }
            case 6:  // replace a run of ASCII digits (a shape or offset in JSON) with another number
                let from = int(b.count)
                if let at = b[from...].prefix(512).firstIndex(where: { $0 >= 0x30 && $0 <= 0x39 }) {
                    var end = at
                    while end < b.count, b[end] >= 0x30, b[end] <= 0x39 { end += 1 }
                    b.replaceSubrange(at..<end, with: Array(String(Self.interesting[int(Self.interesting.count)]).utf8))
                }
            default:  // duplicate a chunk of the file onto another place
                if b.count > 2 {
                    let from = int(b.count), len = 1 + int(min(64, b.count - from))
                    let chunk = Array(b[from..<min(b.count, from + len)])
                    let to = int(b.count)
                    b.replaceSubrange(to..<min(b.count, to + chunk.count), with: chunk)
                }
            }
        }
        return b
    }
}

@Suite struct FuzzTests {
    /// 5000 by default (a few seconds); SPIKESCOPE_FUZZ_ROUNDS overrides it for long manual runs.
    static let rounds = Int(ProcessInfo.processInfo.environment["SPIKESCOPE_FUZZ_ROUNDS"] ?? "") ?? 5000

    /// Parses and fully reads; returns true when the input was accepted.
    static func readSafetensors(_ bytes: [UInt8]) throws -> Bool {
        let f = try SafeTensorsFile(MappedFile(copying: bytes, path: "fuzz.safetensors"))
        _ = try f.weights()
        for e in f.entries where !e.dtype.isFloat { _ = try f.integers(e.name) }
        return true
    }

    static func readTorch(_ bytes: [UInt8]) throws -> Bool {
        let ck = try PyTorchCheckpoint(MappedFile(copying: bytes, path: "fuzz.pth"))
        for (name, r) in ck.entries { if r.storage.dtype.isFloat { _ = try ck.tensor(name) } else { _ = try ck.integers(name) } }
        return true
    }

    @Test func safetensorsParserSurvivesMutations() throws {
        let seeds = [Fixture.bytes("mixed.safetensors"), Fixture.bytes("nested.safetensors"), Fixture.bytes("spikegpt_tiny.safetensors")]
        #expect(seeds.allSatisfy { !$0.isEmpty })
        var m = Mutator(rng: SeededRNG(seed: 0x5AFE))
        var accepted = 0, refused = 0
        for i in 0..<Self.rounds {
            let input = m.mutate(seeds[i % seeds.count])
            do { if try Self.readSafetensors(input) { accepted += 1 } } catch is FormatError { refused += 1 }
        }
        print("fuzz safetensors: \(Self.rounds) executions, \(accepted) accepted, \(refused) refused with FormatError, 0 crashes")
        #expect(accepted + refused == Self.rounds)
        #expect(refused > Self.rounds / 4)  // the mutations do reach the error paths
    }

    @Test func pickleParserSurvivesMutations() throws {
        // The data.pkl programs of real torch files, run through the VM directly.
        var seeds: [[UInt8]] = []
        for name in ["mixed.pth", "nested.pth", "spikegpt_tiny.pth"] {
            let z = try ZipArchive(MappedFile(path: Fixture.path(name)))
            let e = try #require(z.entries.first { $0.name.hasSuffix("/data.pkl") })
            seeds.append(Array(try z.data(e)))
        }
        var m = Mutator(rng: SeededRNG(seed: 0x9111))
        var accepted = 0, refused = 0
        for i in 0..<Self.rounds {
            let input = m.mutate(seeds[i % seeds.count])
            do { _ = try runPickle(input); accepted += 1 } catch is FormatError { refused += 1 }
        }
        print("fuzz pickle: \(Self.rounds) executions, \(accepted) accepted, \(refused) refused with FormatError, 0 crashes")
        #expect(accepted + refused == Self.rounds)
        #expect(refused > Self.rounds / 4)
    }

    @Test func torchZipSurvivesMutations() throws {
        // Small seeds too: the tail of a ZIP64 file (46 bytes of locator + end record crashed the
        // reader once), and a legal broadcast view (repeated.pth has its own test: its accepted mutants allocate up to the 64 MiB budget each).
        let z64 = Fixture.bytes("zip64.pth")
        let seeds = [Fixture.bytes("small.pth"), Fixture.bytes("mixed.pth"), z64, Array(z64.suffix(46)), Array(z64.suffix(98)),
                     Fixture.bytes("broadcast.pth")]
        var m = Mutator(rng: SeededRNG(seed: 0x21F))
        var accepted = 0, refused = 0
        for i in 0..<Self.rounds {
            let input = m.mutate(seeds[i % seeds.count])
            do { if try Self.readTorch(input) { accepted += 1 } } catch is FormatError { refused += 1 }
        }
        print("fuzz torch zip: \(Self.rounds) executions, \(accepted) accepted, \(refused) refused with FormatError, 0 crashes")
        #expect(accepted + refused == Self.rounds)
    }

    /// GLUE TSVs of every task, mutated: a result or a GLUEError, never a crash.
    @Test func glueReaderSurvivesMutations() throws {
        let root = TokenizerFixtures.packageRoot.appendingPathComponent("Examples/glue")
        let sst2 = Array((try? Data(contentsOf: root.appendingPathComponent("SST-2/dev.tsv"))) ?? Data()).prefix(4000)
        let seeds: [(GLUETask, [UInt8])] = [
            (.sst2, Array(sst2)),
            (.mrpc, Array("\u{FEFF}Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n1\t1\t2\ta b\tc d\r\n0\t3\t4\te\tf\r\n".utf8)),
            (.stsb, Array("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tg\tf\t2012\t1\ts\ts\ta\tb\t3.800\n".utf8)),
            (.cola, Array("gj04\t1\t\tThe sailors rode the breeze.\ngj04\t0\t*\tThe more we study.\n".utf8)),
            (.mnli, Array(("index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tgold_label\n"
                           + "0\t1\t2\tg\ta\tb\tc\td\tx y\tz\tneutral\tneutral\n").utf8)),
        ]
        #expect(!seeds[0].1.isEmpty)
        var m = Mutator(rng: SeededRNG(seed: 0x61BE))
        var accepted = 0, refused = 0
        for i in 0..<Self.rounds {
            let (task, seed) = seeds[i % seeds.count]
            let input = m.mutate(seed)
            do { _ = try GLUEFile.parse(Data(input), path: "fuzz.tsv", task: task); accepted += 1 } catch is GLUEError { refused += 1 }
        }
        print("fuzz GLUE: \(Self.rounds) executions, \(accepted) accepted, \(refused) refused with GLUEError, 0 crashes")
        #expect(accepted + refused == Self.rounds && accepted > 0 && refused > 0)
    }
}
