// PyTorchCheckpoint: state dicts saved by torch.save (zip format, PyTorch >= 1.6).
//
// Layout (torch/serialization.py, _save): a zip whose entries share one folder prefix:
//   <prefix>/data.pkl     the pickled object; tensors are _rebuild_tensor_v2(storage, offset, size, stride, …)
//   <prefix>/data/<key>   raw little-endian storage bytes, one entry per storage (shared by views)
//   <prefix>/byteorder    "little" (absent in files from before 1.10: little-endian then too)
// What it is: the zip and the pickle read without running any code (see Pickle.swift), the
// object navigated to its tensors (a bare state dict, or one under "state_dict"/"model"/…,
// nested dicts flattened with dotted names), each tensor checked against its storage, F32
// contiguous tensors borrowed from the mapping (unless several tensors share the storage, as
// tied embeddings do: those get their own copy), everything else converted/materialised.
// What it is not: a reader for TorchScript archives, the legacy pre-1.6 format, or compressed zips.

import Engine
import Foundation

public final class PyTorchCheckpoint: @unchecked Sendable {
    /// Keys under which training scripts commonly nest the model's state dict, tried in order.
    public static let wrapperKeys = ["state_dict", "model_state_dict", "model", "module", "net", "params"]
    /// Deepest dict nesting flattened into dotted names.
    public static let maxNesting = 32

    public let path: String
    public let file: MappedFile
    public let zip: ZipArchive
    /// The folder prefix of the entries (torch uses the file's stem, or "archive").
    public let prefix: String
    /// Tensors in pickle order, with dotted names.
    public let entries: [(name: String, ref: TensorRef)]
    /// The wrapper key that was navigated into (nil when the root is the state dict).
    public let navigated: String?
    /// Dotted names of non-tensor leaves that were ignored (e.g. "epoch").
    public let ignored: [String]
    private let index: [String: Int]
    /// Storage keys used by more than one tensor (tied or sliced weights): those are copied.
    private let sharedStorages: Set<String>

    public convenience init(path: String) throws { try self.init(MappedFile(path: path)) }

    /// Parses the zip directory and data.pkl; storages are not read yet.
    /// - Throws: `FormatError` (missing data.pkl, compressed entries, forbidden globals, bad pickle).
    public init(_ file: MappedFile) throws {
        self.file = file
        self.path = file.path
        let zip = try ZipArchive(file)
        self.zip = zip
        guard let pkl = zip.entries.first(where: { e in
            e.name.hasSuffix("/data.pkl") && !e.name.dropLast("/data.pkl".count).contains("/")
        }) else {
            throw FormatError.missingTensor(path: path, tensor: "<prefix>/data.pkl",
                                            hint: "a zip without data.pkl is not a torch.save checkpoint")
        }
        let prefix = String(pkl.name.dropLast("/data.pkl".count))
        self.prefix = prefix
        if let bo = zip.entry(prefix + "/byteorder") {
            let s = String(decoding: try zip.data(bo), as: UTF8.self)
            guard s == "little" else {
                throw FormatError.malformed(path: path, offset: bo.localHeaderOffset, what: "byteorder is '\(s)'",
                                            hint: "big-endian checkpoints are not supported; re-save on a little-endian machine")
            }
        }
        let where_ = path + ":" + pkl.name
        let (entries, navigated, ignored) = try Pickle.run(try zip.data(pkl), path: where_) { root in
            try PyTorchCheckpoint.collect(root, path: where_)
        }
        var index: [String: Int] = [:]
        for (k, e) in entries.enumerated() where index[e.name] == nil { index[e.name] = k }
        self.entries = entries
        self.navigated = navigated
        self.ignored = ignored
        self.index = index
        var uses: [String: Int] = [:]
        for e in entries { uses[e.ref.storage.key, default: 0] += 1 }
        self.sharedStorages = Set(uses.filter { $0.value > 1 }.keys)
    }

    /// Finds the state dict in the unpickled object and flattens it to (dotted name, tensor).
    static func collect(_ root: PickleValue, path: String) throws -> ([(name: String, ref: TensorRef)], String?, [String]) {
        guard case let .dict(d) = root else {
            throw FormatError.malformed(path: path, offset: nil, what: "the pickle holds a \(root.kind), not a dict of tensors",
                                        hint: "save model.state_dict(), not the model object")
        }
        var out: [(name: String, ref: TensorRef)] = []
        var ignored: [String] = []
        func key(_ k: PickleValue) throws -> String {
            switch k {
            case let .string(s): return s
            case let .int(i): return String(i)
            default: throw FormatError.malformed(path: path, offset: nil, what: "a dict key is a \(k.kind)", hint: "state dict keys are strings")
            }
        }
        func flatten(_ d: PickleDict, _ prefix: String, _ depth: Int) throws {
            guard depth < maxNesting else {
                throw FormatError.malformed(path: path, offset: nil, what: "dicts nested deeper than \(maxNesting) levels at '\(prefix)'",
                                            hint: "the file is corrupt or not a state dict")
            }
            for (k, v) in d.items {
                let name = prefix + (try key(k))
                switch v {
                case let .tensor(t): out.append((name, t))
                case let .dict(sub): try flatten(sub, name + ".", depth + 1)
                default: ignored.append(name)
                }
            }
        }
        var navigated: String?
        for w in wrapperKeys {
            if let hit = d.items.first(where: { if case let .string(s) = $0.key { return s == w }; return false }),
               case let .dict(sub) = hit.value {
                try flatten(sub, "", 1)
                if !out.isEmpty { navigated = w; break }
                out.removeAll(); ignored.removeAll()
            }
        }
        if navigated == nil { try flatten(d, "", 0) }
        if out.isEmpty {
            let keys = d.items.prefix(5).compactMap { if case let .string(s) = $0.key { return s }; return nil }
            throw FormatError.malformed(path: path, offset: nil, what: "no tensors found (top-level keys: \(keys.joined(separator: ", ")))",
                                        hint: "save a state dict with torch.save(model.state_dict(), path)")
        }
        return (out, navigated, ignored)
    }

    public var names: [String] { entries.map(\.name) }
    public func ref(_ name: String) -> TensorRef? { index[name].map { entries[$0].ref } }

    private func lookup(_ name: String) throws -> TensorRef {
        guard let r = ref(name) else {
            throw FormatError.missingTensor(path: path, tensor: name, hint: "the checkpoint has \(entries.count) tensors")
        }
        return r
    }

    /// The storage bytes of `r`, checked to hold every element the view reaches.
    private func storageBytes(_ r: TensorRef, _ name: String) throws -> UnsafeRawBufferPointer {
        let entryName = prefix + "/data/" + r.storage.key
        guard let e = zip.entry(entryName) else {
            throw FormatError.missingTensor(path: path, tensor: entryName, hint: "tensor '\(name)' needs it; the zip is incomplete")
        }
        let b = try zip.data(e)
        let item = r.storage.dtype.itemSize
        let (need, o1) = r.storage.count.multipliedReportingOverflow(by: item)
        guard !o1, b.count >= need else {
            throw FormatError.tensorBytes(path: path, tensor: name, shape: [r.storage.count], dtype: r.storage.dtype.rawValue,
                                          expected: need, found: b.count)
        }
        // A view with zero or overlapping strides (torch's expand) reads few stored elements
        // many times; materialising it costs its full size. Bound that by what the file holds,
        // so a small file cannot make `convert` allocate gigabytes.
        let elements = PyTorchCheckpoint.elementCount(r.shape)
        guard elements <= materialisationBudget / 4 else {
            throw FormatError.malformed(path: path, offset: nil,
                                        what: "tensor '\(name)' is a view of \(r.shape) = \(elements == Int.max ? "overflowing" : String(elements)) elements (stride \(r.strides)) over a storage of \(r.storage.count); expanding it would take far more memory than the file holds",
                                        hint: "save the tensor contiguous (tensor.contiguous().clone()) before torch.save")
        }
        // Highest element reached: offset + Σ (size_i - 1)·stride_i (all non-negative).
        if r.shape.reduce(1, *) > 0 {
            var last = r.offset
            for (s, st) in Swift.zip(r.shape, r.strides) {
                let (p, o2) = (s - 1).multipliedReportingOverflow(by: st)
                let (q, o3) = last.addingReportingOverflow(p)
                guard !o2, !o3 else { last = Int.max; break }
                last = q
            }
            guard last < r.storage.count else {
                throw FormatError.malformed(path: path, offset: nil,
                                            what: "tensor '\(name)' (offset \(r.offset), size \(r.shape), stride \(r.strides)) reaches element \(last) of storage '\(r.storage.key)' with \(r.storage.count) elements",
                                            hint: "the file is corrupt")
            }
        }
        return b
    }

    /// Calls `body(k, i)` for each element k of `r` in row-major order of its shape, with its
    /// storage element index i (no index array: a large view costs no extra memory).
    private static func forEachIndex(_ r: TensorRef, _ body: (Int, Int) -> Void) {
        let n = r.shape.reduce(1, *)
        if n == 0 { return }
        let rank = r.shape.count
        var idx = [Int](repeating: 0, count: rank)
        var src = r.offset
        for k in 0..<n {
            body(k, src)
            var d = rank - 1
            while d >= 0 {
                idx[d] += 1
                src += r.strides[d]
                if idx[d] < r.shape[d] { break }
                src -= r.strides[d] * r.shape[d]
                idx[d] = 0
                d -= 1
            }
        }
    }

    /// A floating-point tensor as Float32 (contiguous). Contiguous aligned F32 views borrow the
    /// mapping; strided views are materialised; F16/BF16 convert exactly, F64 rounds.
    public func tensor(_ name: String) throws -> Tensor {
        let r = try lookup(name)
        guard r.storage.dtype.isFloat else {
            throw FormatError.unsupportedDType(path: path, tensor: name, dtype: r.storage.dtype.rawValue,
                                               hint: "integer tensors are read with integers(\"\(name)\")")
        }
        let b = try storageBytes(r, name)
        let n = r.shape.reduce(1, *)
        guard n > 0, let p = b.baseAddress else { return Tensor(zeros: r.shape) }
        if n == 1 || r.strides == Tensor.contiguousStrides(r.shape) {
            return makeFloatTensor(p + r.offset * r.storage.dtype.itemSize, dtype: r.storage.dtype, shape: r.shape, owner: file,
                                   borrow: !sharedStorages.contains(r.storage.key))
        }
        let dtype = r.storage.dtype
        return Tensor(shape: r.shape) { dst in PyTorchCheckpoint.forEachIndex(r) { k, i in dst[k] = loadFloat(p, dtype, i) } }
    }

    /// An integer or bool tensor's values, flattened row-major.
    public func integers(_ name: String) throws -> [Int] {
        let r = try lookup(name)
        guard !r.storage.dtype.isFloat else {
            throw FormatError.unsupportedDType(path: path, tensor: name, dtype: r.storage.dtype.rawValue,
                                               hint: "floating-point tensors are read with tensor(\"\(name)\")")
        }
        let b = try storageBytes(r, name)
        guard let p = b.baseAddress else { return [] }
        var out = [Int](repeating: 0, count: r.shape.reduce(1, *))
        let dtype = r.storage.dtype
        PyTorchCheckpoint.forEachIndex(r) { k, i in out[k] = loadInt(p, dtype, i) }
        return out
    }

    /// Elements of a shape, Int.max when the product overflows.
    static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1) { acc, s in
            let (p, o) = acc.multipliedReportingOverflow(by: max(s, 0))
            return o ? Int.max : p
        }
    }

    /// Bytes that loading may allocate beyond the mapping: 4× the file plus 64 MiB. Generous for
    /// real checkpoints (bf16 → f32 doubles, tied weights copy once) and a wall for a small file
    /// whose views repeat one storage many times over.
    var materialisationBudget: Int { 4 * file.size + (64 << 20) }

    /// Every floating-point tensor as Float32 in pickle order; integer tensors are skipped on
    /// purpose and listed in `skipped`.
    /// - Throws: `FormatError.malformed` before allocating anything when the tensors would need
    ///   more memory than `materialisationBudget` (views that repeat their storage, such as
    ///   torch's expand, or many tensors over one shared storage).
    public func weights() throws -> WeightSet {
        var needed = 0
        for (name, r) in entries where r.storage.dtype.isFloat {
            let n = PyTorchCheckpoint.elementCount(r.shape)
            let borrowed = r.storage.dtype == .f32 && (n == 1 || r.strides == Tensor.contiguousStrides(r.shape))
                && !sharedStorages.contains(r.storage.key)
            if borrowed { continue }
            let (bytes, o1) = n.multipliedReportingOverflow(by: 4)
            let (sum, o2) = needed.addingReportingOverflow(bytes)
            needed = (o1 || o2) ? Int.max : sum
            if needed > materialisationBudget {
                throw FormatError.malformed(path: path, offset: nil,
                                            what: "its tensors would take more than \(materialisationBudget >> 20) MiB in memory (4× the file + 64 MiB) once views and shared storages are expanded; '\(name)' \(r.shape) passes the limit",
                                            hint: "the file repeats a small storage through views (torch's expand) or shared storages; save contiguous clones")
            }
        }
        var names: [String] = [], tensors: [String: Tensor] = [:], skipped: [WeightSet.Skipped] = []
        for (name, r) in entries where tensors[name] == nil {
            if r.storage.dtype.isFloat {
                names.append(name)
                tensors[name] = try tensor(name)
            } else {
                skipped.append(.init(name: name, dtype: r.storage.dtype.rawValue, shape: r.shape,
                                     reason: "integer tensor; read it with PyTorchCheckpoint.integers"))
            }
        }
        return WeightSet(path: path, format: .pytorchZip, names: names, tensors: tensors, skipped: skipped)
    }
}
