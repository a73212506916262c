// Hostile files against the readers, each a case that crashed, hung or ran away before:
// a 46-byte zip64 .pth (negative arithmetic trap), a FIFO or folder given as a file (open()
// blocked forever), torch views that repeat one small storage hundreds of times (gigabytes from
// kilobytes), stale temporaries of killed writers, and the corpus streamed without a String.
import Engine
import Foundation
import Testing
@testable import Formats

@Suite struct HostileFileTests {
    static func tempDir(_ tag: String) throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("ss-hostile-\(tag)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// A zip64 locator + end record with nothing before them: 46 bytes. `size - 56` used to go
    /// negative and trap.
    @Test func tinyZip64IsAClearError() throws {
        var b: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
        func le(_ v: UInt64, _ n: Int) { for k in 0..<n { b.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) } }
        le(0x0706_4B50, 4); le(0, 4); le(1 << 40, 8); le(1, 4)  // locator → far past the end
        le(0x0605_4B50, 4); le(0, 2); le(0, 2); le(0xFFFF, 2); le(0xFFFF, 2); le(0xFFFF_FFFF, 4); le(0xFFFF_FFFF, 4); le(0, 2)
        #expect(b.count == 46)
        for cut in 22...b.count {
            let e = try #require(throws: FormatError.self) { try ZipArchive(MappedFile(copying: Array(b.suffix(cut)), path: "z.pth")) }
            #expect(e.description.hasPrefix("z.pth: "), "\(e)")
        }
    }

    @Test func fifosFoldersAndMissingFilesAreNamedNotWaitedOn() throws {
        let dir = try Self.tempDir("fifo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/model.safetensors"
        #expect(mkfifo(fifo, 0o600) == 0)
        // Every reader that opens a file: each must refuse at once (a blocking open would hang here).
        let readers: [(String, () throws -> Void)] = [
            ("MappedFile", { _ = try MappedFile(path: fifo) }),
            ("Checkpoint", { _ = try Checkpoint.load(fifo) }),
            ("RegularFile", { _ = try RegularFile.read(fifo) }),
            ("GLUE", { _ = try GLUEFile.load(path: fifo, task: .sst2) }),
            ("corpus", { _ = try TextCorpus.load(path: fifo) }),
            ("corpus scan", { try TextCorpus.scan(path: fifo) { _, _, _ in } }),
            ("tokenizer", { _ = try TokenizerLoader.load(path: fifo) }),
            ("tokenizer.json", { _ = try HFTokenizer.load(jsonFile: fifo) }),
            ("vocab.txt", { _ = try HFTokenizer.wordPiece(vocabFile: fifo) }),
            ("char vocab", { _ = try CharVocab.load(file: fifo) }),
        ]
        for (name, read) in readers {
            do { try read(); Issue.record("\(name) accepted a FIFO") } catch {
                #expect("\(error)".contains("named pipe"), "\(name): \(error)")
                #expect(!"\(error)".contains("don't have permission") && !"\(error)".contains("permission denied"), "\(name): \(error)")
            }
        }
        let folder = try #require(throws: FormatError.self) { _ = try RegularFile.read(dir) }
        #expect(folder.description.contains("a folder, not a file"))
        let missing = try #require(throws: FormatError.self) { _ = try RegularFile.read(dir + "/nope.json") }
        #expect(missing.description.contains("no such file"))
        try Data(count: 2048).write(to: URL(fileURLWithPath: dir + "/big.json"))
        let big = try #require(throws: FormatError.self) { _ = try RegularFile.read(dir + "/big.json", maxBytes: 1024, what: "a config") }
        #expect(big.description.contains("2048 bytes"))
    }

    /// torch's expand: a legal broadcast view loads as its repeated rows.
    @Test func broadcastViewLoadsItsRepeatedRows() throws {
        let ck = try PyTorchCheckpoint(path: Fixture.path("broadcast.pth"))
        let t = try ck.tensor("small")
        #expect(t.shape == [4, 3] && t.values == [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3])
        // 10^10 elements from one stored float: refused by name, nothing allocated.
        let e = try #require(throws: FormatError.self) { _ = try Checkpoint.load(Fixture.path("hugeview.pth")) }
        #expect(e.description.contains("hugeview.pth") && e.description.contains("[100000, 100000]"), "\(e)")
    }

    /// 100 views of one 64 KB storage, each 64× it: refused before allocating (400 MB otherwise).
    @Test func viewsRepeatingOneStorageAreBoundedByTheFileSize() throws {
        let before = ProcessMemory.residentKB()
        let e = try #require(throws: FormatError.self) { _ = try Checkpoint.load(Fixture.path("repeated.pth")) }
        #expect(e.description.contains("repeated.pth") && e.description.contains("MiB in memory"), "\(e)")
        #expect(ProcessMemory.residentKB() - before < 100_000)
        // One such tensor alone (4 MB) is within bounds and correct.
        let one = try PyTorchCheckpoint(path: Fixture.path("repeated.pth")).tensor("t3")
        #expect(one.shape == [64, 16384] && one.values[16384 + 9] == 2)
    }

    @Test func staleTemporariesOfDeadWritersAreRemovedLiveOnesKept() throws {
        let dir = try Self.tempDir("tmp")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A PID that cannot exist (above the kernel's pid_max), ours (alive), and names that only look alike.
        let dead = ".step-000010.safetensors.tmp-2147483646-12345"
        let mine = ".session.json.tmp-\(getpid())-7"
        let others = ["step-000010.safetensors", ".notes.tmp-abc-1", "x.tmp-1-2"]
        for n in [dead, mine] + others { _ = FileManager.default.createFile(atPath: dir + "/" + n, contents: Data([1])) }
        #expect(AtomicWrite.removeStaleTemporaries(in: dir) == [dead])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == Set([mine] + others))
        // And a real AtomicWrite leaves none of its own.
        try AtomicWrite.write(to: dir + "/a.json") { try $0.write([1, 2, 3]) }
        #expect(AtomicWrite.removeStaleTemporaries(in: dir).isEmpty)
    }

    /// `scan` streams exactly the scalars `load` joins (BOM dropped, "\n" between files).
    @Test func corpusScanEqualsLoad() throws {
        let dir = try Self.tempDir("scan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data([0xEF, 0xBB, 0xBF] + Array("héllo\r\nwörld".utf8)).write(to: URL(fileURLWithPath: dir + "/a.txt"))
        try "🇳🇴 ok\n".write(toFile: dir + "/b.txt", atomically: true, encoding: .utf8)
        try "".write(toFile: dir + "/c.txt", atomically: true, encoding: .utf8)
        try "last".write(toFile: dir + "/d.txt", atomically: true, encoding: .utf8)
        var scalars: [UInt32] = []
        let n = try TextCorpus.scan(path: dir) { s, _, _ in scalars.append(s) }
        let text = try TextCorpus.load(path: dir).text
        #expect(scalars == text.unicodeScalars.map(\.value) && n == scalars.count)
        try Data([0x61, 0xC3]).write(to: URL(fileURLWithPath: dir + "/e.txt"))
        #expect(throws: CorpusError.invalidUTF8(file: dir + "/e.txt", offset: 1)) { try TextCorpus.scan(path: dir) { _, _, _ in } }
    }
}
