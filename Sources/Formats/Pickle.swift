// Pickle: a tiny pickle virtual machine for PyTorch state dicts, that can never run code.
//
// What it is: an interpreter for the opcodes torch.save emits for state dicts (protocols 2-5,
// opcode table in CPython Lib/pickletools.py). GLOBAL/STACK_GLOBAL resolve only names on a fixed
// allow-list (OrderedDict, torch's tensor rebuild functions, storage types, dtypes) to inert
// markers; any other name is refused at its opcode with FormatError.forbiddenGlobal. REDUCE only
// "calls" those markers, implemented here as data constructors. There is no path from the input
// to a function pointer, so a hostile pickle can at worst make us throw.
// What it is not: a general unpickler (no classes, sets, extension registry, protocol 0/1 text
// opcodes), or a writer.
//
// Hostile-input guards: every read is bounds-checked; tuples nest at most `maxDepth` levels; lists
// and dicts (which can be made cyclic or arbitrarily deep through the memo) are emptied one by one
// after the run, so no recursive deinit can overflow the stack.

import Foundation

/// A mutable list produced by EMPTY_LIST (reference semantics, as in Python).
public final class PickleList { public var items: [PickleValue] = [] }
/// A mutable dict produced by EMPTY_DICT or OrderedDict() (keys in insertion order).
public final class PickleDict { public var items: [(key: PickleValue, value: PickleValue)] = [] }

/// A storage named by a persistent id: ('storage', torch.FloatStorage, key, location, numel).
public struct StorageRef: Sendable, Equatable {
    public let dtype: DType
    /// Entry name under `<prefix>/data/`.
    public let key: String
    /// Elements in the storage.
    public let count: Int
}

/// A tensor as _rebuild_tensor_v2 describes it: a strided view of a storage.
public struct TensorRef: Sendable, Equatable {
    public let storage: StorageRef
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
}

public enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// Items and nesting depth (1 + the deepest tuple inside).
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    /// An allowed global, "module.name".
    case global(String)
    case storage(StorageRef)
    case tensor(TensorRef)

    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case let .global(g): return g
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

public enum Pickle {
    /// Deepest tuple nesting accepted (a state dict needs 3).
    public static let maxDepth = 100

    /// Storage class names -> element type (torch/storage.py, the legacy typed storages).
    public static let storageTypes: [String: DType] = [
        "torch.FloatStorage": .f32, "torch.HalfStorage": .f16, "torch.BFloat16Storage": .bf16,
        "torch.DoubleStorage": .f64, "torch.LongStorage": .i64, "torch.IntStorage": .i32,
        "torch.ShortStorage": .i16, "torch.CharStorage": .i8, "torch.ByteStorage": .u8, "torch.BoolStorage": .bool,
    ]
    /// dtype objects that may appear as arguments (torch.float32 pickles as GLOBAL 'torch float32').
    public static let dtypeGlobals: [String: DType] = [
        "torch.float32": .f32, "torch.float16": .f16, "torch.bfloat16": .bf16, "torch.float64": .f64,
        "torch.int64": .i64, "torch.int32": .i32, "torch.int16": .i16, "torch.int8": .i8, "torch.uint8": .u8, "torch.bool": .bool,
    ]
    /// Callables REDUCE may apply.
    public static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter",
    ]

    /// Every global a state dict may name; anything else is refused.
    public static func isAllowed(_ name: String) -> Bool {
        callables.contains(name) || storageTypes[name] != nil || dtypeGlobals[name] != nil
    }

    /// Runs the pickle in `bytes` and passes the result to `extract`, then tears the object graph
    /// down iteratively. `path` names the data in errors (e.g. "m.pth:archive/data.pkl").
    /// - Throws: `FormatError.forbiddenGlobal`, `.unknownOpcode`, `.pickle` (with the opcode offset).
    /// - Cost: O(bytes); memory O(objects).
    public static func run<R>(_ bytes: UnsafeRawBufferPointer, path: String, extract: (PickleValue) throws -> R) throws -> R {
        var vm = PickleVM(bytes: bytes, path: path)
        defer { vm.teardown() }
        let v = try vm.execute()
        return try extract(v)
    }
}

struct PickleVM {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var pos = 0
    var op = 0  // offset of the opcode being executed, for errors
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    var lists: [PickleList] = []
    var dicts: [PickleDict] = []

    init(bytes: UnsafeRawBufferPointer, path: String) { self.bytes = bytes; self.path = path }

    func fail(_ reason: String) -> FormatError { .pickle(path: path, offset: op, reason: reason) }

    /// Empties every list and dict so that releasing them never recurses deeply (see header).
    mutating func teardown() {
        stack.removeAll(); memo.removeAll()
        for l in lists { l.items.removeAll() }
        for d in dicts { d.items.removeAll() }
        lists.removeAll(); dicts.removeAll()
    }

    mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - pos else {
            throw FormatError.truncated(path: path, offset: pos, needed: n, size: bytes.count, what: "pickle opcode at \(op)")
        }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
    }
    mutating func u8() throws -> Int { Int(try take(1)[0]) }
    mutating func u16() throws -> Int { try take(2).le16(0) }
    mutating func u32() throws -> Int { try take(4).le32(0) }
    mutating func u64() throws -> Int {
        let v = try take(8).le64u(0)
        guard v <= UInt64(bytes.count) else { throw fail("length \(v) exceeds the pickle size \(bytes.count)") }
        return Int(v)
    }

    mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        if let m = marks.last, stack.count < m { throw fail("stack underflow past a MARK") }
        return v
    }
    mutating func top() throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
        return v
    }
    /// Items above the most recent MARK, removing them and the mark.
    mutating func popToMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    mutating func tuple(_ items: [PickleValue]) throws -> PickleValue {
        var d = 0
        for it in items { if case let .tuple(_, depth) = it { d = max(d, depth) } }
        guard d + 1 <= Pickle.maxDepth else { throw fail("tuples nested deeper than \(Pickle.maxDepth) levels") }
        return .tuple(items, depth: d + 1)
    }

    mutating func string(_ n: Int) throws -> PickleValue {
        .string(String(decoding: try take(n), as: UTF8.self))
    }

    mutating func global(_ module: String, _ name: String) throws -> PickleValue {
        let full = module + "." + name
        guard Pickle.isAllowed(full) else { throw FormatError.forbiddenGlobal(path: path, offset: op, name: full) }
        return .global(full)
    }

    mutating func line() throws -> String {
        var end = pos
        while end < bytes.count, bytes[end] != 0x0A { end += 1 }
        guard end < bytes.count else { throw fail("GLOBAL name is not newline-terminated") }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pos..<end]), as: UTF8.self)
        pos = end + 1
        return s
    }

    func int(_ v: PickleValue, _ what: String) throws -> Int {
        guard case let .int(i) = v else { throw fail("\(what) is a \(v.kind), expected int") }
        return i
    }
    func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
        guard case let .tuple(items, _) = v else { throw fail("\(what) is a \(v.kind), expected a tuple of ints") }
        return try items.map { try int($0, what) }
    }

    /// REDUCE: apply an allowed callable to an argument tuple.
    mutating func reduce(_ f: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case let .global(name) = f else { throw fail("REDUCE on a \(f.kind), not a callable") }
        guard case let .tuple(a, _) = args else { throw fail("REDUCE arguments are a \(args.kind), not a tuple") }
        switch name {
        case "collections.OrderedDict":
            guard a.isEmpty else { throw fail("OrderedDict with arguments is not supported") }
            let d = PickleDict()
            dicts.append(d)
            return .dict(d)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard a.count >= 4 else { throw fail("\(name) needs at least 4 arguments, got \(a.count)") }
            guard case let .storage(s) = a[0] else { throw fail("\(name) argument 0 is a \(a[0].kind), expected a storage") }
            let off = try int(a[1], "storage_offset")
            let size = try ints(a[2], "size"), stride = try ints(a[3], "stride")
            guard size.count == stride.count else { throw fail("size \(size) and stride \(stride) differ in rank") }
            guard off >= 0, size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }) else {
                throw fail("negative offset, size or stride (offset \(off), size \(size), stride \(stride))")
            }
            // Views may repeat elements (stride 0), but not without bound: cap at 64x the storage.
            guard let n = checkedElementCount(size), (n + 63) / 64 <= max(s.count, 1) else {
                throw fail("tensor size \(size) is too large for its storage of \(s.count) elements")
            }
            return .tensor(TensorRef(storage: s, offset: off, shape: size, strides: stride))
        case "torch._utils._rebuild_parameter":
            // (data, requires_grad, backward_hooks): a Parameter is its tensor here.
            guard let first = a.first, case .tensor = first else { throw fail("_rebuild_parameter without a tensor") }
            return first
        default:
            throw fail("'\(name)' is not callable")
        }
    }

    /// BINPERSID: ('storage', storage_type, key, location, numel) -> a storage reference.
    mutating func persistent(_ pid: PickleValue) throws -> PickleValue {
        guard case let .tuple(t, _) = pid, t.count >= 5, case let .string(tag) = t[0], tag == "storage" else {
            throw fail("persistent id is not ('storage', type, key, location, numel)")
        }
        guard case let .global(g) = t[1], let dtype = Pickle.storageTypes[g] ?? Pickle.dtypeGlobals[g] else {
            throw fail("persistent id names storage type \(t[1].kind)")
        }
        let key: String
        switch t[2] {
        case let .string(s): key = s
        case let .int(i): key = String(i)
        default: throw fail("storage key is a \(t[2].kind)")
        }
        guard !key.isEmpty, !key.contains("/"), key != ".", key != ".." else { throw fail("storage key '\(key)' is not a plain name") }
        let n = try int(t[4], "storage numel")
        guard n >= 0 else { throw fail("negative storage size \(n)") }
        return .storage(StorageRef(dtype: dtype, key: key, count: n))
    }

    mutating func execute() throws -> PickleValue {
        while true {
            op = pos
            let code = UInt8(try u8())
            switch code {
            case 0x80:  // PROTO
                let v = try u8()
                guard v >= 2, v <= 5 else { throw fail("pickle protocol \(v) is not supported (2-5 are)") }
            case 0x95: _ = try take(8)  // FRAME: length hint only
            case 0x2E:  // STOP '.'
                guard marks.isEmpty else { throw fail("STOP inside an open MARK") }
                return try pop()
            case 0x7D:  // EMPTY_DICT '}'
                let d = PickleDict(); dicts.append(d); stack.append(.dict(d))
            case 0x5D:  // EMPTY_LIST ']'
                let l = PickleList(); lists.append(l); stack.append(.list(l))
            case 0x29: stack.append(.tuple([], depth: 1))  // EMPTY_TUPLE ')'
            case 0x28: marks.append(stack.count)  // MARK '('
            case 0x58: stack.append(try string(try u32()))  // BINUNICODE 'X'
            case 0x8C: stack.append(try string(try u8()))  // SHORT_BINUNICODE
            case 0x8D: stack.append(try string(try u64()))  // BINUNICODE8
            case 0x43: stack.append(.bytes(Array(try take(try u8()))))  // SHORT_BINBYTES 'C'
            case 0x42: stack.append(.bytes(Array(try take(try u32()))))  // BINBYTES 'B'
            case 0x8E: stack.append(.bytes(Array(try take(try u64()))))  // BINBYTES8
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try u32()))))  // BININT 'J'
            case 0x4B: stack.append(.int(try u8()))  // BININT1 'K'
            case 0x4D: stack.append(.int(try u16()))  // BININT2 'M'
            case 0x8A, 0x8B:  // LONG1 / LONG4: n-byte little-endian two's complement
                let n = code == 0x8A ? try u8() : try u32()
                guard n <= 8 else { throw fail("integer of \(n) bytes does not fit in 64 bits") }
                let b = try take(n)
                var v: UInt64 = 0
                for k in 0..<n { v |= UInt64(b[k]) << (8 * UInt64(k)) }
                if n > 0, n < 8, b[n - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }  // sign-extend
                stack.append(.int(Int(Int64(bitPattern: v))))
            case 0x47:  // BINFLOAT 'G': 8-byte big-endian double
                let b = try take(8)
                var v: UInt64 = 0
                for k in 0..<8 { v = v << 8 | UInt64(b[k]) }
                stack.append(.float(Double(bitPattern: v)))
            case 0x4E: stack.append(.none)  // NONE 'N'
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x85: let a = try pop(); stack.append(try tuple([a]))  // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(try tuple([a, b]))  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(try tuple([a, b, c]))  // TUPLE3
            case 0x74: stack.append(try tuple(try popToMark()))  // TUPLE 't'
            case 0x73:  // SETITEM 's'
                let v = try pop(), k = try pop()
                guard case let .dict(d) = try top() else { throw fail("SETITEM on a \(try top().kind)") }
                d.items.append((k, v))
            case 0x75:  // SETITEMS 'u'
                let items = try popToMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
                guard case let .dict(d) = try top() else { throw fail("SETITEMS on a \(try top().kind)") }
                for k in stride(from: 0, to: items.count, by: 2) { d.items.append((items[k], items[k + 1])) }
            case 0x61:  // APPEND 'a'
                let v = try pop()
                guard case let .list(l) = try top() else { throw fail("APPEND on a \(try top().kind)") }
                l.items.append(v)
            case 0x65:  // APPENDS 'e'
                let items = try popToMark()
                guard case let .list(l) = try top() else { throw fail("APPENDS on a \(try top().kind)") }
                l.items.append(contentsOf: items)
            case 0x71: memo[try u8()] = try top()  // BINPUT 'q'
            case 0x72: memo[try u32()] = try top()  // LONG_BINPUT 'r'
            case 0x94: memo[memo.count] = try top()  // MEMOIZE
            case 0x68, 0x6A:  // BINGET 'h' / LONG_BINGET 'j'
                let i = code == 0x68 ? try u8() : try u32()
                guard let v = memo[i] else { throw fail("memo index \(i) was never stored") }
                stack.append(v)
            case 0x63:  // GLOBAL 'c': "module\nname\n"
                let m = try line(), n = try line()
                stack.append(try global(m, n))
            case 0x93:  // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case let .string(ns) = n, case let .string(ms) = m else { throw fail("STACK_GLOBAL needs two strings") }
                stack.append(try global(ms, ns))
            case 0x52:  // REDUCE 'R'
                let args = try pop(), f = try pop()
                stack.append(try reduce(f, args))
            case 0x62:  // BUILD 'b': set state on an object; only dict metadata and tensors occur.
                let state = try pop()
                switch try top() {
                case .dict, .tensor: break  // e.g. OrderedDict._metadata; nothing we need
                default: throw fail("BUILD on a \(try top().kind) is not supported")
                }
                _ = state
            case 0x51:  // BINPERSID 'Q'
                let pid = try pop()
                stack.append(try persistent(pid))
            case 0x30: _ = try pop()  // POP '0'
            case 0x31: _ = try popToMark()  // POP_MARK '1'
            case 0x32: stack.append(try top())  // DUP '2'
            default:
                throw FormatError.unknownOpcode(path: path, offset: op, opcode: code)
            }
        }
    }
}
