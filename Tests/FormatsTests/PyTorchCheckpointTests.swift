// Tests of the torch.save zip reader against fixtures written by PyTorch itself
// (Tests/Reference/make_checkpoint_fixtures.py): values bit-identical to the expected JSON and to
// the same tensors saved with the `safetensors` package, and hostile/broken zips refused.

import Engine
import Foundation
import Testing
@testable import Formats

@Suite struct PyTorchCheckpointTests {
    /// Every float tensor of `<stem>.pth` and `<stem>.safetensors` equals the expected bits
    /// (PyTorch's own .float() conversion) exactly; integer tensors equal their values.
    @Test(arguments: ["mixed", "nested", "spikegpt_tiny"])
    func pthAndSafetensorsLoadIdentically(_ stem: String) throws {
        let expected = try Fixture.expected(stem)
        let pth = try Checkpoint.load(Fixture.path(stem + ".pth"))
        let st = try Checkpoint.load(Fixture.path(stem + ".safetensors"))
        #expect(pth.format == .pytorchZip && st.format == .safetensors)
        let floatNames = expected.filter { $0.value.bits != nil }.map(\.key).sorted()
        #expect(pth.names.sorted() == floatNames)
        #expect(st.names.sorted() == floatNames)
        for name in floatNames {
            let e = expected[name]!
            let a = try #require(pth[name]), b = try #require(st[name])
            #expect(a.shape == e.shape, "\(name)")
            #expect(b.shape == e.shape, "\(name)")
            #expect(bitsOf(a) == e.bits!, "\(stem).pth \(name)")
            #expect(bitsOf(b) == e.bits!, "\(stem).safetensors \(name)")
        }
        for (name, e) in expected where e.ints != nil {
            #expect(pth.skipped.map(\.name).contains(name))
            #expect(st.skipped.map(\.name).contains(name))
            #expect(try PyTorchCheckpoint(path: Fixture.path(stem + ".pth")).integers(name) == e.ints!)
            #expect(try SafeTensorsFile(path: Fixture.path(stem + ".safetensors")).integers(name) == e.ints!)
        }
    }

    /// small.pth as torch wrote it (ZIP64 end records), with pickle protocol 4 (FRAME, MEMOIZE,
    /// STACK_GLOBAL, SHORT_BINUNICODE), and rewritten with every ZIP64 field in use.
    @Test(arguments: ["small.pth", "proto4.pth", "zip64.pth"])
    func zipAndPickleVariants(_ name: String) throws {
        let expected = try Fixture.expected("small")
        let w = try Checkpoint.load(Fixture.path(name))
        #expect(w.names == ["w"])
        #expect(w.shape(of: "w") == expected["w"]!.shape)
        #expect(bitsOf(try #require(w["w"])) == expected["w"]!.bits!)
    }

    @Test func zip64FieldsAreRead() throws {
        let z = try ZipArchive(MappedFile(path: Fixture.path("zip64.pth")))
        let plain = try ZipArchive(MappedFile(path: Fixture.path("small.pth")))
        #expect(z.entries.map(\.name) == plain.entries.map(\.name))
        for (a, b) in zip(z.entries, plain.entries) {
            #expect(a.uncompressedSize == b.uncompressedSize)
            #expect(Array(try z.data(a)) == Array(try plain.data(b)), "\(a.name)")
        }
    }

    @Test func viewsSharedStoragesAndDtypes() throws {
        let ck = try PyTorchCheckpoint(path: Fixture.path("mixed.pth"))
        // shared.a and shared.b are views of one storage at offsets 2 and 4 (see the script).
        let a = try #require(ck.ref("shared.a")), b = try #require(ck.ref("shared.b"))
        #expect(a.storage == b.storage)
        #expect(a.offset == 2 && b.offset == 4)
        #expect(try #require(ck.ref("transposed")).strides == [1, 3])
        // Tensors of a shared storage are copies: writing one in place leaves the other alone.
        var ta = try ck.tensor("shared.a")
        let tb = try ck.tensor("shared.b")
        let before = tb.values
        ta[2] = 12345  // element 4 of the storage, which shared.b also holds
        #expect(tb.values == before)
        #expect(ck.ref("half")?.storage.dtype == .f16)
        #expect(ck.ref("bf16")?.storage.dtype == .bf16)
        #expect(ck.ref("f64")?.storage.dtype == .f64)
        #expect(ck.ref("position_ids")?.storage.dtype == .i64)
        // Asking for an integer tensor as floats says how to read it.
        let e = formatError { _ = try ck.tensor("position_ids") }
        #expect(e?.description.contains("integers(\"position_ids\")") == true)
    }

    /// Contiguous aligned F32 tensors point into the mapping: no copy.
    @Test func contiguousF32IsZeroCopy() throws {
        let ck = try PyTorchCheckpoint(path: Fixture.path("spikegpt_tiny.pth"))
        let t = try ck.tensor("blocks.0.att.key.weight")
        let base = try #require(ck.file.base)
        let p = UnsafeRawPointer(t.elementPointer)
        #expect(p >= UnsafeRawPointer(base) && p < UnsafeRawPointer(base) + ck.file.size)
        // Same for safetensors (the data section is 8-byte aligned by both writers).
        let st = try SafeTensorsFile(path: Fixture.path("spikegpt_tiny.safetensors"))
        let s = UnsafeRawPointer(try st.tensor("blocks.0.att.key.weight").elementPointer)
        let sb = UnsafeRawPointer(try #require(st.file.base))
        #expect(s >= sb && s < sb + st.file.size)
        // A converted tensor (F16) is a copy, not in the mapping.
        let m = try SafeTensorsFile(path: Fixture.path("mixed.safetensors"))
        let h = UnsafeRawPointer(try m.tensor("half").elementPointer), mb = UnsafeRawPointer(try #require(m.file.base))
        #expect(h < mb || h >= mb + m.file.size)
    }

    @Test func nestedCheckpointIsNavigated() throws {
        let ck = try PyTorchCheckpoint(path: Fixture.path("nested.pth"))
        #expect(ck.navigated == "model")
        #expect(ck.names == ["encoder.weight", "encoder.bias", "head.weight"])
    }

    @Test func maliciousGlobalIsRefused() throws {
        let e = formatError { _ = try Checkpoint.load(Fixture.path("malicious.pth")) }
        #expect(e == .forbiddenGlobal(path: Fixture.path("malicious.pth") + ":_small/data.pkl", offset: 2, name: "posix.system"))
        #expect(e?.description.contains("malicious.pth") == true)
        #expect(e?.description.contains("'posix.system' at offset 2") == true)
    }

    @Test(arguments: [
        ("missing_pkl.pth", "data.pkl"),
        ("deflated.pth", "zip -0"),
        ("legacy.pth", "legacy pre-1.6 torch format"),
    ])
    func brokenZipsGiveClearErrors(_ name: String, _ needle: String) {
        let e = formatError { _ = try Checkpoint.load(Fixture.path(name)) }
        #expect(e?.description.contains(needle) == true, "\(e?.description ?? "")")
        #expect(e?.description.contains(name) == true)
    }

    /// Every prefix of a valid checkpoint is refused with a FormatError, never a crash.
    @Test func truncatedZipsAreRefused() throws {
        let full = Fixture.bytes("small.pth")
        #expect(full.count > 1000)
        for cut in Swift.stride(from: 0, to: full.count - 1, by: 7) {
            let f = try MappedFile(copying: Array(full[0..<cut]), path: "cut\(cut).pth")
            do {
                _ = try PyTorchCheckpoint(f).weights()
                Issue.record("prefix of \(cut) bytes was accepted")
            } catch let e as FormatError {
                #expect(e.description.contains("cut\(cut).pth"))
            }
        }
    }

    /// Storage entries that are too short for the view are caught before any read.
    @Test func viewBeyondStorageIsRefused() throws {
        var bytes = Fixture.bytes("small.pth")
        // Shrink numel in the persistent id ('storage', FloatStorage, '0', 'cpu', 6): BININT1 6 -> 2.
        let mapped = try MappedFile(copying: bytes, path: "s.pth")
        let pkl = try ZipArchive(mapped)
        let entry = try #require(pkl.entries.first { $0.name.hasSuffix("data.pkl") })
        let slice = try pkl.data(entry)
        let data = Array(slice)
        let start: Int = UnsafeRawPointer(slice.baseAddress!) - UnsafeRawPointer(mapped.base!)
        // 'c' 'p' 'u' then BINPUT/… then K 6: find "cpu" and the next BININT1 6.
        let cpu = try #require((0..<data.count - 3).first { data[$0] == 0x63 && data[$0 + 1] == 0x70 && data[$0 + 2] == 0x75 })
        let k6 = try #require((cpu..<data.count - 1).first { data[$0] == 0x4B && data[$0 + 1] == 6 })
        bytes[start + k6 + 1] = 2
        let e = formatError { _ = try PyTorchCheckpoint(MappedFile(copying: bytes, path: "short.pth")).tensor("w") }
        #expect(e?.description.contains("tensor 'w'") == true, "\(e?.description ?? "")")
    }
}
