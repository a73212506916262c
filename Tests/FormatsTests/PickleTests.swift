// Tests of the pickle VM on hand-written programs: the allow-list (every other global refused
// at its opcode, by GLOBAL and STACK_GLOBAL), unknown opcodes, stack underflow, deep nesting,
// cyclic and very deep containers, memo abuse and oversized lengths. None may crash or hang.

import Foundation
import Testing
@testable import Formats

/// Runs a pickle and flattens it the way PyTorchCheckpoint does.
@discardableResult
func runPickle(_ bytes: [UInt8], name: String = "t.pkl") throws -> [(name: String, ref: TensorRef)] {
    try bytes.withUnsafeBytes { b in
        try Pickle.run(b, path: name) { try PyTorchCheckpoint.collect($0, path: name).0 }
    }
}

func u32le(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
func binunicode(_ s: String) -> [UInt8] { [0x58] + u32le(UInt32(s.utf8.count)) + Array(s.utf8) }
let proto2: [UInt8] = [0x80, 0x02]

@Suite struct PickleTests {
    /// A minimal state dict {"w": tensor} as torch writes it, built by hand.
    static func stateDict(storage: String = "FloatStorage", global: (String, String)? = nil) -> [UInt8] {
        var p = proto2
        p += Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52]  // OrderedDict()
        p += [0x28] + binunicode("w")
        p += Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8)
        p += [0x28, 0x28] + binunicode("storage") + Array("ctorch\n\(storage)\n".utf8) + binunicode("0") + binunicode("cpu")
        p += [0x4B, 6, 0x74, 0x51]                    // numel 6, TUPLE, BINPERSID
        p += [0x4B, 0, 0x4B, 2, 0x4B, 3, 0x86, 0x4B, 3, 0x4B, 1, 0x86, 0x89]  // offset, (2,3), (3,1), False
        p += Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52]  // backward_hooks
        p += [0x74, 0x52, 0x75, 0x2E]                 // TUPLE, REDUCE, SETITEMS, STOP
        return p
    }

    @Test func handWrittenStateDict() throws {
        let out = try runPickle(Self.stateDict())
        #expect(out.count == 1)
        #expect(out[0].name == "w")
        #expect(out[0].ref == TensorRef(storage: StorageRef(dtype: .f32, key: "0", count: 6), offset: 0, shape: [2, 3], strides: [3, 1]))
        #expect(try runPickle(Self.stateDict(storage: "BFloat16Storage"))[0].ref.storage.dtype == .bf16)
    }

    @Test(arguments: ["posix system", "os system", "builtins eval", "builtins exec", "builtins getattr",
                      "subprocess Popen", "torch load", "collections namedtuple", "__builtin__ open",
                      "torch._utils _rebuild_qtensor", "torch UntypedStorage", "numpy.core.multiarray _reconstruct"])
    func forbiddenGlobalsAreRefused(_ spec: String) {
        let parts = spec.split(separator: " ").map(String.init)
        let full = parts[0] + "." + parts[1]
        // GLOBAL opcode at offset 2.
        let viaGlobal = proto2 + Array("c\(parts[0])\n\(parts[1])\n".utf8) + [0x29, 0x52, 0x2E]
        #expect(formatError { try runPickle(viaGlobal, name: "g.pkl") } == .forbiddenGlobal(path: "g.pkl", offset: 2, name: full))
        // STACK_GLOBAL after two strings.
        let strings = binunicode(parts[0]) + binunicode(parts[1])
        let viaStack = proto2 + strings + [0x93, 0x29, 0x52, 0x2E]
        #expect(formatError { try runPickle(viaStack, name: "s.pkl") } == .forbiddenGlobal(path: "s.pkl", offset: 2 + strings.count, name: full))
        // Also as the storage type inside an otherwise valid state dict.
        if parts[0] == "torch" {
            let e = formatError { try runPickle(Self.stateDict(storage: parts[1])) }
            #expect(e?.description.contains("'\(full)'") == true)
        }
    }

    @Test(arguments: [
        ("unknown opcode", proto2 + [0xFF], "unsupported pickle opcode 0xff at offset 2"),
        ("protocol 0 text int", proto2 + Array("I1\n.".utf8), "opcode 0x49 at offset 2"),
        ("protocol 9", [0x80, 0x09, 0x4E, 0x2E], "pickle protocol 9"),
        ("underflow on STOP", proto2 + [0x2E], "stack underflow"),
        ("underflow on REDUCE", proto2 + [0x52], "offset 2: stack underflow"),
        ("underflow past MARK", proto2 + [0x4E, 0x28, 0x86], "stack underflow"),
        ("SETITEMS without MARK", proto2 + [0x7D, 0x75], "no MARK"),
        ("SETITEM on a list", proto2 + [0x5D, 0x4E, 0x4E, 0x73], "SETITEM on a list"),
        ("REDUCE on a string", proto2 + binunicode("x") + [0x29, 0x52], "REDUCE on a str"),
        ("call a storage type", proto2 + Array("ctorch\nFloatStorage\n".utf8) + [0x29, 0x52], "is not callable"),
        ("memo miss", proto2 + [0x68, 7], "memo index 7 was never stored"),
        ("huge memo index", proto2 + [0x4E, 0x72] + u32le(0xFFFF_FFFF) + [0x6A] + u32le(0xFFFF_FFFE), "memo index 4294967294"),
        ("string longer than data", proto2 + [0x58] + u32le(0xFFFF_FFF0), "needs 4294967280 bytes"),
        ("BINUNICODE8 huge", proto2 + [0x8D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], "exceeds the pickle size"),
        ("LONG1 too wide", proto2 + [0x8A, 9] + [UInt8](repeating: 1, count: 9), "does not fit in 64 bits"),
        ("no STOP", proto2 + [0x4E], "truncated"),
        ("unterminated GLOBAL", proto2 + Array("cposix".utf8), "newline"),
        ("root is a list", proto2 + [0x5D, 0x2E], "holds a list, not a dict"),
        ("no tensors", proto2 + [0x7D, 0x28] + binunicode("epoch") + [0x4B, 3, 0x75, 0x2E], "no tensors found (top-level keys: epoch)"),
        ("bad persistent id", proto2 + [0x4E, 0x51], "persistent id"),
        ("storage key with slash", proto2 + [0x28] + binunicode("storage") + Array("ctorch\nFloatStorage\n".utf8) + binunicode("../x") + binunicode("cpu") + [0x4B, 1, 0x74, 0x51, 0x2E], "not a plain name"),
    ])
    func badProgramsAreRefused(_ label: String, _ bytes: [UInt8], _ needle: String) {
        let e = formatError { try runPickle(bytes, name: "p.pkl") }
        #expect(e?.description.contains(needle) == true, "\(label): \(e?.description ?? "")")
        #expect(e?.description.hasPrefix("p.pkl") == true, "\(label)")
    }

    @Test func deepTupleNestingIsCapped() {
        let bytes = proto2 + [0x29] + [UInt8](repeating: 0x85, count: 200_000) + [0x2E]  // ((((),),),)…
        let e = formatError { try runPickle(bytes) }
        #expect(e?.description.contains("nested deeper than 100") == true)
    }

    /// 100 000 dicts chained d[i]["k"] = d[i+1] through the memo (depth the tuple cap cannot see),
    /// and a list that contains itself: flattening stops at its cap and teardown does not recurse.
    @Test func deepAndCyclicContainersDoNotCrash() {
        let n = 100_000
        var p = proto2
        for i in 0..<n { p += [0x7D, 0x72] + u32le(UInt32(i)) + [0x30] }  // EMPTY_DICT, LONG_BINPUT i, POP
        for i in stride(from: n - 2, through: 0, by: -1) {
            p += [0x6A] + u32le(UInt32(i)) + binunicode("k") + [0x6A] + u32le(UInt32(i + 1)) + [0x73, 0x30]
        }
        p += [0x5D, 0x32, 0x61, 0x30]  // a list appended into itself, then dropped
        p += [0x6A] + u32le(0) + [0x2E]
        let e = formatError { try runPickle(p) }
        #expect(e?.description.contains("nested deeper than 32 levels") == true, "\(e?.description ?? "")")
    }
}
