// Tests of the safetensors reader and writer: bit-exact round trips (NaN payloads, -0,
// subnormals), half/bfloat16 conversions against Swift's Float16 and PyTorch, every malformed
// header refused with the file and tensor named, and resident memory when opening a big file.

import Engine
import Foundation
import Testing
@testable import Formats

/// A safetensors file from a header string and `dataBytes` bytes of data (value i % 251).
func safetensorsBytes(header: String, dataBytes: Int, declaredLength: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    var out: [UInt8] = []
    withUnsafeBytes(of: (declaredLength ?? UInt64(h.count)).littleEndian) { out += $0 }
    out += h
    out += (0..<dataBytes).map { UInt8($0 % 251) }
    return out
}

@Suite struct SafeTensorsTests {
    /// Values with every kind of special bit pattern.
    static let special: [Float] = [
        0, -0.0, .infinity, -.infinity, Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFF80_0001),  // NaN payloads
        .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude, 1, -1, 0.1,
    ]

    @Test func roundTripIsBitIdentical() throws {
        let dir = try makeTempFolder("rt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SeededRNG(seed: 7)
        let a = Tensor(shape: [3, 5], generator: { _ in rng.nextNormal() })
        let b = try Tensor(shape: [12], values: Self.special)
        let c = try a.transposed()  // non-contiguous input is written in row-major order of its shape
        let tensors: [(name: String, tensor: Tensor)] = [("z.last", a), ("a.first", b), ("m.transposed", c), ("scalar", Tensor(scalar: -0.0))]
        let path = dir + "/rt.safetensors"
        let n = try SafeTensors.write(tensors, to: path, metadata: ["format": "pt", "note": "quote \" and \\"],
                                      integers: [.init(name: "position_ids", shape: [1, 4], values: [0, 1, 2, -3])])
        #expect(n == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
        let f = try SafeTensorsFile(path: path)
        #expect(f.names == ["a.first", "m.transposed", "position_ids", "scalar", "z.last"])  // sorted on disk
        #expect(f.dataStart % 8 == 0)
        #expect(f.metadata == ["format": "pt", "note": "quote \" and \\"])
        for (name, t) in tensors {
            let r = try f.tensor(name)
            #expect(r.shape == t.shape)
            #expect(bitsOf(r) == bitsOf(t), "\(name)")
        }
        #expect(try f.integers("position_ids") == [0, 1, 2, -3])
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["rt.safetensors"])
    }

    @Test func halfConversionMatchesFloat16() {
        // All 65536 half patterns: exact widening (NaN -> NaN with the same payload).
        for h in 0...UInt16.max {
            let mine = halfToFloat(h), ref = Float(Float16(bitPattern: h))
            if ref.isNaN { #expect(mine.isNaN && mine.bitPattern & 0x3F_FFFF == ref.bitPattern & 0x3F_FFFF) } else {
                #expect(mine.bitPattern == ref.bitPattern, "half 0x\(String(h, radix: 16))")
            }
        }
        // Narrowing: round to nearest even, checked on specials, ties and random floats.
        var rng = SeededRNG(seed: 11)
        var xs = Self.special + [65504, 65520, 65519.99, 1e-8, 2.98e-8, 2.9802322e-8, 5.96e-8, 1 + 0x1p-11, 1 + 0x1p-11 + 0x1p-23]
        for _ in 0..<200_000 { xs.append(Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))) }
        for x in xs {
            let mine = floatToHalf(x), ref = Float16(x).bitPattern
            if x.isNaN { #expect(Float16(bitPattern: mine).isNaN) } else {
                #expect(mine == ref, "float \(x) bits 0x\(String(x.bitPattern, radix: 16))")
            }
        }
    }

    @Test func bfloat16MatchesPyTorch() throws {
        // mixed.safetensors stores 'bf16' as BF16; PyTorch's .float() values are the expected bits.
        let expected = try Fixture.expected("mixed")
        let f = try SafeTensorsFile(path: Fixture.path("mixed.safetensors"))
        #expect(f.info("bf16")?.dtype == .bf16)
        #expect(f.info("half")?.dtype == .f16)
        #expect(bitsOf(try f.tensor("bf16")) == expected["bf16"]!.bits!)
        #expect(bitsOf(try f.tensor("half")) == expected["half"]!.bits!)
        // Re-encoding those values (exactly representable) gives the stored bytes back.
        let raw = Array(try f.rawBytes("bf16"))
        let re = try f.tensor("bf16").values.flatMap { v -> [UInt8] in let h = floatToBFloat16(v); return [UInt8(h & 0xFF), UInt8(h >> 8)] }
        #expect(re == raw)
    }

    @Test(arguments: [DType.f16, .bf16])
    func halfWriteReadsBackRounded(_ dtype: DType) throws {
        let dir = try makeTempFolder("half")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SeededRNG(seed: 3)
        let t = Tensor(shape: [257], generator: { _ in rng.nextNormal() * 100 })
        try SafeTensors.write([("t", t)], to: dir + "/h.safetensors", dtype: dtype)
        let back = try SafeTensorsFile(path: dir + "/h.safetensors").tensor("t").values
        for (x, y) in zip(t.values, back) {
            // Reference rounding: Float16 for F16; for BF16, the nearer of the two truncations.
            if dtype == .f16 { #expect(y == Float(Float16(x))) } else {
                let lo = Float(bitPattern: x.bitPattern & 0xFFFF_0000), hi = Float(bitPattern: (x.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
                #expect(y == lo || y == hi)
                #expect(abs(y - x) <= min(abs(lo - x), abs(hi - x)))
            }
        }
    }

    /// Every malformed file is a FormatError naming the file and the tensor or offset.
    @Test(arguments: [
        ("empty", [UInt8](), "the file is empty"),
        ("short", Array("abc".utf8), "8-byte header length"),
        ("header past end", safetensorsBytes(header: "{}", dataBytes: 0, declaredLength: 1000), "needs 1000 bytes at offset 8"),
        ("huge header", safetensorsBytes(header: "{}", dataBytes: 0, declaredLength: 1 << 62), "exceeds the 100 MB limit"),
        ("bad json", safetensorsBytes(header: #"{"w": {"dtype": "F32","#, dataBytes: 0), "invalid JSON at offset"),
        ("not object", safetensorsBytes(header: "[1, 2]", dataBytes: 0), "not a JSON object"),
        ("unknown dtype", safetensorsBytes(header: #"{"w": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}"#, dataBytes: 1), "tensor 'w' has unknown dtype 'F8'"),
        ("shape vs bytes", safetensorsBytes(header: #"{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}"#, dataBytes: 16), "tensor 'w' is [2, 2] F32 = 16 bytes"),
        ("out of range", safetensorsBytes(header: #"{"w": {"dtype": "F32", "shape": [16], "data_offsets": [0, 64]}}"#, dataBytes: 16), "tensor 'w' has data_offsets [0, 64]"),
        ("begin > end", safetensorsBytes(header: #"{"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}"#, dataBytes: 16), "tensor 'w' has data_offsets [8, 0]"),
        ("overlap", safetensorsBytes(header: #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}"#, dataBytes: 24), "tensor 'b' overlaps tensor 'a' at data offset 8"),
        ("negative dim", safetensorsBytes(header: #"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, dataBytes: 4), "tensor 'w'"),
        ("huge dims", safetensorsBytes(header: #"{"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}}"#, dataBytes: 4), "too large"),
        ("missing offsets", safetensorsBytes(header: #"{"w": {"dtype": "F32", "shape": [1]}}"#, dataBytes: 4), "data_offsets"),
        ("duplicate", safetensorsBytes(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, dataBytes: 8), "appears twice"),
        ("bad metadata", safetensorsBytes(header: #"{"__metadata__": {"a": 1}}"#, dataBytes: 0), "__metadata__"),
    ])
    func malformedFilesAreRefused(_ label: String, _ bytes: [UInt8], _ needle: String) throws {
        let name = "case-\(label.replacingOccurrences(of: " ", with: "_")).safetensors"
        let e = formatError { _ = try SafeTensorsFile(MappedFile(copying: bytes, path: name)) }
        let text = e?.description ?? ""
        #expect(text.contains(needle), "\(label): \(text)")
        #expect(text.hasPrefix(name), "\(label): \(text)")
        #expect(text.contains("Hint") || text.contains("offset"), "\(label): \(text)")
    }

    /// Truncating a valid file anywhere is caught by the header checks (never a read past the end).
    @Test func everyTruncationIsRefused() throws {
        let full = Fixture.bytes("mixed.safetensors")
        for cut in 0..<full.count {
            let f = try MappedFile(copying: Array(full[0..<cut]), path: "t.safetensors")
            #expect(throws: FormatError.self) { _ = try SafeTensorsFile(f).weights() }
        }
    }

    @Test func garbageIsUnknownFormat() throws {
        let dir = try makeTempFolder("garbage")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("this is not a checkpoint at all\n".utf8).write(to: URL(fileURLWithPath: dir + "/g.bin"))
        let e = formatError { _ = try Checkpoint.load(dir + "/g.bin") }
        #expect(e?.description.contains("g.bin: not a safetensors file or a PyTorch zip checkpoint (first bytes 74 68 69 73") == true)
        #expect(FileManager.default.createFile(atPath: dir + "/empty.safetensors", contents: Data()))
        let e2 = formatError { _ = try Checkpoint.load(dir + "/empty.safetensors") }
        #expect(e2?.description.contains("empty.safetensors: the file is empty") == true)
    }

    /// Opening a large file and reading one small tensor keeps resident memory near that tensor.
    /// The file is sparse (ftruncate), 200 MB, so the test is fast; see the report for 500 MB.
    @Test func openingALargeFileDoesNotReadIt() throws {
        let dir = try makeTempFolder("rss")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bigCount = 50_000_000  // 200 MB of F32
        let header = #"{"big": {"dtype": "F32", "shape": [\#(bigCount)], "data_offsets": [16, \#(16 + 4 * bigCount)]}, "small": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#
        var bytes = safetensorsBytes(header: header + String(repeating: " ", count: (8 - (8 + header.utf8.count) % 8) % 8), dataBytes: 0)
        let small: [Float] = [1, 2, 3, 4]
        small.withUnsafeBytes { bytes += $0 }
        let path = dir + "/big.safetensors"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.truncate(atOffset: UInt64(bytes.count + 4 * bigCount))
        try h.close()

        let before = ProcessMemory.residentKB()
        let w = try Checkpoint.load(path)  // every tensor, F32 borrowed from the mapping
        let s = try #require(w["small"]).values
        let big = try #require(w["big"])
        let touched = (0..<1024).reduce(Float(0)) { $0 + big.elementPointer[$1] }  // one page
        let after = ProcessMemory.residentKB()
        print("sparse 200 MB safetensors: VmRSS \(before) kB -> \(after) kB after loading all tensors and reading 'small' + 4 kB of 'big'")
        #expect(s == small)
        #expect(touched == 0)
        #expect(big.count == bigCount)
        #expect(after - before < 100_000, "RSS grew by \(after - before) kB")
    }
}
