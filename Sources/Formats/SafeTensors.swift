// SafeTensors: read (lazily, memory-mapped) and write (atomically) the safetensors format.
//
// Layout (https://github.com/huggingface/safetensors, "Format"):
//   [u64 little-endian N][N bytes of UTF-8 JSON header][data section]
//   header = { "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//              "__metadata__": {"<key>": "<string>"} }      offsets are relative to the data section
// What it is: a validating reader (every header field is checked against the file before any
// tensor is touched) that hands out tensors one at a time, borrowing aligned F32 data from the
// mapping; and a writer with sorted keys, space padding to 8 bytes, and temp-file + rename.
// What it is not: a big-endian reader (all supported hosts are little-endian) or a streaming
// writer for tensors that do not fit in memory.

import Engine
import Foundation

/// One tensor's header entry.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range inside the data section.
    public let byteRange: Range<Int>
    public var count: Int { shape.reduce(1, *) }
}

/// An open safetensors file: header parsed and validated, tensors read on demand.
public final class SafeTensorsFile: @unchecked Sendable {
    /// Header length cap from the safetensors reference implementation (100 MB).
    public static let maxHeaderSize = 100_000_000

    public let path: String
    public let file: MappedFile
    /// File offset of the data section (8 + N).
    public let dataStart: Int
    /// Tensors in header order.
    public let entries: [TensorInfo]
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    private let index: [String: Int]

    /// Opens and validates `path`. Cost: mmap + O(header); no tensor data is read.
    public convenience init(path: String) throws {
        try self.init(MappedFile(path: path))
    }

    /// Validates the header of an already mapped file.
    /// - Throws: `FormatError` for a short file, a header length beyond the file, bad JSON, an
    ///   unknown dtype, a shape that disagrees with its byte range, or overlapping/out-of-range offsets.
    public init(_ file: MappedFile) throws {
        self.file = file
        self.path = file.path
        let path = file.path
        if file.size == 0 {
            throw FormatError.malformed(path: path, offset: 0, what: "the file is empty", hint: "the download or save did not complete")
        }
        let lenBytes = try file.bytes(at: 0, count: 8, what: "the 8-byte header length")
        let n64 = lenBytes.le64u(0)
        guard n64 <= UInt64(SafeTensorsFile.maxHeaderSize) else {
            throw FormatError.malformed(path: path, offset: 0, what: "header length \(n64) exceeds the 100 MB limit",
                                        hint: "not a safetensors file, or its first 8 bytes are corrupt")
        }
        let n = Int(n64)
        guard n >= 2 else {
            throw FormatError.malformed(path: path, offset: 0, what: "header length \(n) is too small for a JSON object",
                                        hint: "the first 8 bytes are corrupt")
        }
        let headerBytes = try file.bytes(at: 8, count: n, what: "the JSON header (length from bytes 0-7)")
        let header = try JSONValue.parse(headerBytes, path: path, baseOffset: 8)
        guard case let .object(pairs) = header else {
            throw FormatError.malformed(path: path, offset: 8, what: "the header is not a JSON object", hint: "the file is corrupt")
        }
        dataStart = 8 + n
        let dataSize = file.size - dataStart
        var entries: [TensorInfo] = []
        var meta: [String: String] = [:]
        var index: [String: Int] = [:]
        for (name, v) in pairs {
            if name == "__metadata__" {
                guard case let .object(m) = v else {
                    throw FormatError.malformed(path: path, offset: 8, what: "__metadata__ is not an object of strings", hint: "")
                }
                for (k, s) in m {
                    guard let s = s.string else {
                        throw FormatError.malformed(path: path, offset: 8, what: "__metadata__ value '\(k)' is not a string", hint: "")
                    }
                    meta[k] = s
                }
                continue
            }
            func bad(_ what: String) -> FormatError {
                .malformed(path: path, offset: 8, what: "tensor '\(name)': \(what)", hint: "the header is corrupt")
            }
            guard index[name] == nil else { throw bad("the name appears twice") }
            guard let ds = v["dtype"]?.string else { throw bad("missing or non-string \"dtype\"") }
            guard let dtype = DType(rawValue: ds) else { throw FormatError.unknownDType(path: path, tensor: name, dtype: ds) }
            guard let sa = v["shape"]?.array else { throw bad("missing \"shape\" array") }
            var shape: [Int] = []
            for d in sa {
                guard let x = d.int, x >= 0 else { throw bad("shape \(sa.map { $0.serialized() }) has a non-integer or negative size") }
                shape.append(x)
            }
            guard let count = checkedElementCount(shape) else { throw bad("shape \(shape) is too large") }
            guard let oa = v["data_offsets"]?.array, oa.count == 2, let b = oa[0].int, let e = oa[1].int else {
                throw bad("\"data_offsets\" must be two integers")
            }
            guard b >= 0, b <= e, e <= dataSize else {
                throw FormatError.tensorRange(path: path, tensor: name, begin: b, end: e, dataSize: dataSize)
            }
            let expected = count * dtype.itemSize
            guard e - b == expected else {
                throw FormatError.tensorBytes(path: path, tensor: name, shape: shape, dtype: ds, expected: expected, found: e - b)
            }
            index[name] = entries.count
            entries.append(TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: b..<e))
        }
        // Overlaps: after sorting by begin, each non-empty range must start at or after the end
        // of the previous non-empty one.
        let sorted = entries.filter { !$0.byteRange.isEmpty }.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        for k in sorted.indices.dropFirst() where sorted[k].byteRange.lowerBound < sorted[k - 1].byteRange.upperBound {
            throw FormatError.tensorOverlap(path: path, tensor: sorted[k].name, other: sorted[k - 1].name,
                                            offset: sorted[k].byteRange.lowerBound)
        }
        self.entries = entries
        self.metadata = meta
        self.index = index
    }

    /// Tensor names in header order.
    public var names: [String] { entries.map(\.name) }
    public func info(_ name: String) -> TensorInfo? { index[name].map { entries[$0] } }

    private func entry(_ name: String) throws -> TensorInfo {
        guard let i = index[name] else {
            throw FormatError.missingTensor(path: path, tensor: name, hint: "the file has \(entries.count) tensors")
        }
        return entries[i]
    }

    /// Raw little-endian bytes of `name` inside the mapping.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let e = try entry(name)
        return try file.bytes(at: dataStart + e.byteRange.lowerBound, count: e.byteRange.count, what: "tensor '\(name)'")
    }

    /// A floating-point tensor as Float32. Aligned F32 data is borrowed from the mapping (no copy,
    /// no resident memory until read); F16/BF16 are converted exactly, F64 rounded to nearest.
    /// - Throws: `.unsupportedDType` for integer/bool tensors (use `integers(_:)`), `.missingTensor`.
    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        guard e.dtype.isFloat else {
            throw FormatError.unsupportedDType(path: path, tensor: name, dtype: e.dtype.rawValue,
                                               hint: "integer tensors are read with integers(\"\(name)\")")
        }
        let raw = try rawBytes(name)
        guard let p = raw.baseAddress else { return Tensor(zeros: e.shape) }
        return makeFloatTensor(p, dtype: e.dtype, shape: e.shape, owner: file)
    }

    /// An integer or bool tensor's values, flattened row-major (e.g. `position_ids`).
    public func integers(_ name: String) throws -> [Int] {
        let e = try entry(name)
        guard !e.dtype.isFloat else {
            throw FormatError.unsupportedDType(path: path, tensor: name, dtype: e.dtype.rawValue,
                                               hint: "floating-point tensors are read with tensor(\"\(name)\")")
        }
        let raw = try rawBytes(name)
        guard let p = raw.baseAddress else { return [] }
        return (0..<e.count).map { loadInt(p, e.dtype, $0) }
    }

    /// Every floating-point tensor as Float32, in header order; integer tensors are skipped on
    /// purpose and listed in `skipped`.
    /// With `keepHalf`, BF16/F16 tensors are not converted but handed out as `HalfTensor`s in the map.
    public func weights(keepHalf: Bool = false) throws -> WeightSet {
        var names: [String] = [], tensors: [String: Tensor] = [:], skipped: [WeightSet.Skipped] = []
        var half: [String: HalfTensor] = [:]
        for e in entries {
            if keepHalf, e.dtype == .bf16 || e.dtype == .f16, e.count > 0, let p = try rawBytes(e.name).baseAddress {
                names.append(e.name)
                half[e.name] = HalfTensor(dtype: e.dtype, shape: e.shape, base: p, owner: file)
            } else if e.dtype.isFloat {
                names.append(e.name)
                tensors[e.name] = try tensor(e.name)
            } else {
                skipped.append(.init(name: e.name, dtype: e.dtype.rawValue, shape: e.shape,
                                     reason: "integer tensor; read it with SafeTensorsFile.integers"))
            }
        }
        return WeightSet(path: path, format: .safetensors, names: names, tensors: tensors, skipped: skipped,
                         metadata: metadata, half: half)
    }
}

// MARK: writing

public enum SafeTensors {
    /// An integer tensor to write (stored as I64).
    public struct IntegerTensor: Sendable {
        public let name: String
        public let shape: [Int]
        public let values: [Int]
        public init(name: String, shape: [Int], values: [Int]) { self.name = name; self.shape = shape; self.values = values }
    }

    /// Writes `tensors` (Float32, stored as `dtype` = .f32, .f16 or .bf16) and optional integer
    /// tensors to `path`, atomically. Keys are sorted byte-wise, data follows in the same order,
    /// the header is padded with spaces so the data section starts on an 8-byte boundary.
    /// F32 output is bit-identical to the input (NaN payloads and -0 included).
    /// - Throws: `FormatError.io`, or `.malformed` for duplicate names or a shape/value mismatch.
    /// - Returns: the number of bytes written.
    @discardableResult
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to path: String, dtype: DType = .f32,
                             metadata: [String: String] = [:], integers: [IntegerTensor] = []) throws -> Int {
        guard dtype == .f32 || dtype == .f16 || dtype == .bf16 else {
            throw FormatError.unsupportedDType(path: path, tensor: "*", dtype: dtype.rawValue, hint: "write F32, F16 or BF16")
        }
        enum Payload { case float(Tensor), int([Int]) }
        var items: [(name: String, dtype: DType, shape: [Int], payload: Payload)] = []
        for (n, t) in tensors { items.append((n, dtype, t.shape, .float(t))) }
        for it in integers {
            guard it.shape.reduce(1, *) == it.values.count else {
                throw FormatError.malformed(path: path, offset: nil, what: "integer tensor '\(it.name)' has shape \(it.shape) but \(it.values.count) values", hint: "")
            }
            items.append((it.name, .i64, it.shape, .int(it.values)))
        }
        items.sort { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        for k in items.indices.dropFirst() where items[k].name == items[k - 1].name {
            throw FormatError.malformed(path: path, offset: nil, what: "tensor name '\(items[k].name)' given twice", hint: "names must be unique")
        }
        if items.contains(where: { $0.name == "__metadata__" }) {
            throw FormatError.malformed(path: path, offset: nil, what: "'__metadata__' is reserved", hint: "rename the tensor")
        }

        var pairs: [(key: String, value: JSONValue)] = []
        var offset = 0
        for it in items {
            let bytes = it.shape.reduce(1, *) * it.dtype.itemSize
            pairs.append((it.name, .object([("dtype", .string(it.dtype.rawValue)),
                                            ("shape", .array(it.shape.map { .number(Double($0)) })),
                                            ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + bytes))]))])))
            offset += bytes
        }
        if !metadata.isEmpty {
            pairs.append(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        var header = Array(JSONValue.object(pairs).serialized(sortKeys: true).utf8)
        // Pad with spaces so 8 + N is a multiple of 8: the data section is then 8-byte aligned.
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        let total = 8 + header.count + offset

        try AtomicWrite.write(to: path) { sink in
            var len = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &len) { try sink.write($0) }
            try sink.write(header)
            var buf: [UInt8] = []
            for it in items {
                switch it.payload {
                case let .float(t):
                    if it.dtype == .f32 {
                        try t.withUnsafeBufferPointer { try sink.write(UnsafeRawBufferPointer($0)) }
                    } else {
                        let v = t.values
                        buf.removeAll(keepingCapacity: true)
                        buf.reserveCapacity(2 * v.count)
                        for x in v {
                            let h = it.dtype == .f16 ? floatToHalf(x) : floatToBFloat16(x)
                            buf.append(UInt8(h & 0xFF)); buf.append(UInt8(h >> 8))
                        }
                        try sink.write(buf)
                    }
                case let .int(v):
                    let le = v.map { Int64($0).littleEndian }
                    try le.withUnsafeBytes { try sink.write($0) }
                }
            }
        }
        return total
    }

    /// Writes a whole `WeightSet` (names in its order are sorted on disk) with its metadata.
    @discardableResult
    public static func write(_ weights: WeightSet, to path: String, dtype: DType = .f32,
                             metadata: [String: String]? = nil) throws -> Int {
        let list = weights.names.compactMap { n in weights[n].map { (name: n, tensor: $0) } }
        return try write(list, to: path, dtype: dtype, metadata: metadata ?? weights.metadata)
    }
}
