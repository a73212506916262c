// Checkpoint: the one entry point that turns a weights file (or a model folder) into named tensors.
//
// What it is: format detection by magic bytes (never by extension), `WeightSet` (ordered
// name -> Float32 Tensor, with shape checks that produce model-level error messages), and `DType`
// with the exact conversions F16/BF16/F64 -> Float32 shared by the safetensors and PyTorch readers.
// What it is not: architecture inference from names (Models does that) or a writer (SafeTensors).

import Engine
import Foundation

// MARK: dtypes

/// Element types found in checkpoints. Raw values are the safetensors header names.
public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    public var itemSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
    /// True for the types loaded as Float32 weights.
    public var isFloat: Bool { self == .f32 || self == .f16 || self == .bf16 || self == .f64 }
}

/// Largest element count accepted for one tensor (2^40; zero sizes count as 1 so that strides,
/// computed as products of the other sizes, cannot overflow either).
public let maxTensorElements = 1 << 40

/// Element count of `shape`, or nil when a size is negative or too large (see `maxTensorElements`).
public func checkedElementCount(_ shape: [Int]) -> Int? {
    var count = 1, bound = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (b, o) = bound.multipliedReportingOverflow(by: max(d, 1))
        guard !o, b <= maxTensorElements else { return nil }
        bound = b
        count *= d  // count <= bound, so no overflow
    }
    return count
}

/// IEEE binary16 bits -> Float32, exact (every half value is a float value; NaN payloads kept).
@inline(__always) public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let e = UInt32(h >> 10) & 0x1F, m = UInt32(h & 0x3FF)
    if e == 0 {
        // zero or subnormal: value = m * 2^-24 (exact in Float32)
        let mag = Float(m) * 0x1p-24
        return Float(bitPattern: sign | mag.bitPattern)
    }
    if e == 31 { return Float(bitPattern: sign | 0x7F80_0000 | m << 13) }  // inf / NaN
    // normal: rebias exponent 15 -> 127 (+112), widen mantissa 10 -> 23 bits
    return Float(bitPattern: sign | (e + 112) << 23 | m << 13)
}

/// Float32 -> IEEE binary16 bits, round to nearest even; overflow -> inf; NaN stays NaN (quiet).
@inline(__always) public func floatToHalf(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    let sign = UInt16((x >> 16) & 0x8000)
    let exp = Int((x >> 23) & 0xFF), man = x & 0x7F_FFFF
    if exp == 0xFF { return sign | 0x7C00 | (man != 0 ? UInt16(0x200 | (man >> 13)) : 0) }
    let e = exp - 127 + 15
    if e >= 31 { return sign | 0x7C00 }
    if e <= 0 {
        // half subnormal: count of 2^-24 units = m * 2^(e - 14), m with the implicit bit
        if e < -10 { return sign }
        let m = man | 0x80_0000
        let shift = UInt32(14 - e)
        var h = m >> shift
        let rem = m & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
        if rem > halfway || (rem == halfway && h & 1 == 1) { h += 1 }
        return sign | UInt16(h)
    }
    var h = UInt32(e) << 10 | (man >> 13)
    let rem = man & 0x1FFF
    if rem > 0x1000 || (rem == 0x1000 && h & 1 == 1) { h += 1 }  // a carry rolls into the exponent
    return sign | UInt16(h)
}

/// bfloat16 bits -> Float32, exact (bf16 is the top half of a float32).
@inline(__always) public func bfloat16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

/// Float32 -> bfloat16 bits, round to nearest even; NaN stays NaN (quiet bit set).
@inline(__always) public func floatToBFloat16(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    if f.isNaN { return UInt16(x >> 16) | 0x40 }
    let lsb = (x >> 16) & 1
    return UInt16((x &+ 0x7FFF &+ lsb) >> 16)
}

/// Reads element `i` of little-endian `dtype` data at `p` as Float32 (floats only).
@inline(__always) func loadFloat(_ p: UnsafeRawPointer, _ dtype: DType, _ i: Int) -> Float {
    switch dtype {
    case .f32: return Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
    case .f16: return halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
    case .bf16: return bfloat16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
    case .f64: return Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
    default: return .nan
    }
}

/// Reads element `i` of little-endian integer (or bool) `dtype` data at `p` as Int.
@inline(__always) func loadInt(_ p: UnsafeRawPointer, _ dtype: DType, _ i: Int) -> Int {
    switch dtype {
    case .i64: return Int(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
    case .i32: return Int(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
    case .i16: return Int(Int16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
    case .i8: return Int(p.load(fromByteOffset: i, as: Int8.self))
    case .u8, .bool: return Int(p.load(fromByteOffset: i, as: UInt8.self))
    default: return 0
    }
}

/// Float32 tensor from `count` contiguous elements of `dtype` at `p`. When the data is F32,
/// 4-byte aligned and `borrow` is set, the tensor borrows the memory (kept alive by `owner`);
/// otherwise it converts/copies. Callers clear `borrow` when another tensor may borrow the same
/// bytes: an in-place write to one would otherwise show through the other.
func makeFloatTensor(_ p: UnsafeRawPointer, dtype: DType, shape: [Int], owner: AnyObject, borrow: Bool = true) -> Tensor {
    let n = shape.reduce(1, *)
    if n == 0 { return Tensor(zeros: shape) }
    if borrow, dtype == .f32, Int(bitPattern: p) % MemoryLayout<Float>.alignment == 0 {
        return Tensor(borrowing: p.assumingMemoryBound(to: Float.self), shape: shape, owner: owner)
    }
    return Tensor(shape: shape) { dst in
        switch dtype {
        case .f32: UnsafeMutableRawPointer(dst).copyMemory(from: p, byteCount: 4 * n)
        default: for i in 0..<n { dst[i] = loadFloat(p, dtype, i) }
        }
    }
}

// MARK: HalfTensor

/// A BF16 or F16 tensor left in its memory map: row-major little-endian 16-bit elements, kept alive
/// by `owner`. Families that compute from bf16 directly read it without a Float32 copy.
public struct HalfTensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    /// The first element; 2-byte aligned is not guaranteed (safetensors offsets are arbitrary).
    public let base: UnsafeRawPointer
    /// What keeps `base` valid (the mapped file).
    public let owner: AnyObject
    public var count: Int { shape.reduce(1, *) }
    public init(dtype: DType, shape: [Int], base: UnsafeRawPointer, owner: AnyObject) {
        self.dtype = dtype; self.shape = shape; self.base = base; self.owner = owner
    }
    /// Whether `base` is 2-byte aligned (the bf16 kernels read UInt16 directly).
    public var isAligned: Bool { Int(bitPattern: base) % 2 == 0 }
    /// Exact Float32 copy.
    public func float32() -> Tensor { makeFloatTensor(base, dtype: dtype, shape: shape, owner: owner, borrow: false) }
    /// Exact Float32 copy of rows `r0..<r1` of a 2-D tensor (or of the flat range for 1-D).
    public func float32(rows r: Range<Int>) -> [Float] {
        let width = shape.count >= 2 ? shape.dropFirst().reduce(1, *) : 1
        let start = r.lowerBound * width, n = r.count * width
        return [Float](unsafeUninitializedCapacity: n) { out, count in
            if dtype == .bf16 {
                // bf16 is the top half of a float32: one shift per element (unaligned-safe loads).
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * (start + i), as: UInt16.self))) << 16) }
            } else {
                for i in 0..<n { out[i] = loadFloat(base, dtype, start + i) }
            }
            count = n
        }
    }
}

// MARK: WeightSet

/// Named Float32 tensors loaded from one checkpoint, in file order.
public struct WeightSet: Sendable {
    public enum Format: String, Sendable { case safetensors, pytorchZip = "pytorch-zip" }

    /// A tensor that was present but not loaded as a weight (integer tensors such as
    /// `position_ids`, by design), with the reason.
    public struct Skipped: Sendable, Equatable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        public let reason: String
    }

    /// The file the tensors came from (after resolving a folder).
    public let path: String
    public let format: Format
    /// Tensor names in file order.
    public private(set) var names: [String]
    public private(set) var tensors: [String: Tensor]
    public let skipped: [Skipped]
    /// safetensors `__metadata__` (empty for PyTorch files).
    public let metadata: [String: String]
    /// BF16/F16 tensors left in the memory map unconverted (`Checkpoint.load(_:keepHalf:)`);
    /// their names are in `names` but not in `tensors` until `convertHalf()`.
    public private(set) var half: [String: HalfTensor] = [:]

    public init(path: String, format: Format, names: [String], tensors: [String: Tensor],
                skipped: [Skipped] = [], metadata: [String: String] = [:], half: [String: HalfTensor] = [:]) {
        self.path = path; self.format = format; self.names = names; self.tensors = tensors
        self.skipped = skipped; self.metadata = metadata; self.half = half
    }

    /// Converts every half-precision tensor kept in the map to Float32 (for families that compute
    /// in f32 only).
    public mutating func convertHalf() {
        for (n, h) in half { tensors[n] = h.float32() }
        half = [:]
    }

    /// The shape of `name`, whether converted or kept as half precision.
    public func anyShape(of name: String) -> [Int]? { tensors[name]?.shape ?? half[name]?.shape }

    public var count: Int { names.count }
    public subscript(name: String) -> Tensor? { tensors[name] }
    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }
    /// Total elements (Float32 and half precision).
    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } + half.values.reduce(0) { $0 + $1.count } }

    /// The tensor `name`, checked to have `shape`.
    /// - Parameters:
    ///   - why: where the expected shape comes from, e.g. "C from config.json".
    ///   - hint: what the user might have got wrong, e.g. "a SpikeBERT checkpoint?".
    /// - Throws: `FormatError.missingTensor` (with the closest names as a hint) or `.tensorShape`.
    public func require(_ name: String, shape: [Int], why: String = "", hint: String = "") throws -> Tensor {
        guard let t = tensors[name] else {
            let near = names.filter { $0.hasSuffix(name.split(separator: ".").last.map(String.init) ?? name) }.prefix(3)
            let h = near.isEmpty ? "the file has \(names.count) tensors, first: \(names.prefix(3).joined(separator: ", "))"
                                 : "similar names: \(near.joined(separator: ", "))"
            throw FormatError.missingTensor(path: path, tensor: name, hint: hint.isEmpty ? h : hint)
        }
        guard t.shape == shape else {
            throw FormatError.tensorShape(tensor: name, found: t.shape, expected: shape, why: why, hint: hint)
        }
        return t
    }

    /// Adds or replaces a tensor (used by converters and tests).
    public mutating func set(_ name: String, _ t: Tensor) {
        if tensors[name] == nil { names.append(name) }
        tensors[name] = t
    }
}

// MARK: Checkpoint

public enum Checkpoint {
    public enum Kind: Sendable, Equatable { case safetensors, pytorchZip }

    /// File names tried, in order, when `load` is given a folder.
    public static let weightFileNames = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"]

    /// The weights file for `path`: the path itself for a file; for a folder, model.safetensors,
    /// pytorch_model.bin, or the single *.pth / *.safetensors / *.bin / *.pt inside.
    public static func resolve(_ path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FormatError.io(path: path, reason: "no such file or folder")
        }
        guard isDir.boolValue else { return path }
        for n in weightFileNames where FileManager.default.fileExists(atPath: path + "/" + n) { return path + "/" + n }
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
        let exts = ["safetensors", "pth", "bin", "pt"]
        let cands = all.filter { exts.contains(URL(fileURLWithPath: $0).pathExtension) }
        if cands.count == 1 { return path + "/" + cands[0] }
        throw FormatError.notFound(path: path, what: cands.isEmpty ? "a weights file" : "a single weights file (found \(cands.joined(separator: ", ")))",
                                   hint: "give the file itself, or put model.safetensors / pytorch_model.bin / one .pth in the folder")
    }

    /// The format of `path`, from its first bytes.
    /// - Throws: `.legacyTorchFormat` for pre-1.6 torch files, `.unknownFormat` otherwise.
    public static func detect(_ file: MappedFile) throws -> Kind {
        let b = file.all
        if b.count >= 4, b[0] == 0x50, b[1] == 0x4B, (b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6) { return .pytorchZip }
        // safetensors: u64 header length that fits in the file, then '{'.
        if b.count >= 9, b[8] == UInt8(ascii: "{"), b.le64u(0) <= UInt64(b.count - 8) { return .safetensors }
        // Legacy torch: a pickle (PROTO 2..5 = 0x80 0x0N) of the magic number, or an old tar archive.
        if b.count >= 2, b[0] == 0x80, (2...5).contains(b[1]) { throw FormatError.legacyTorchFormat(path: file.path) }
        if b.count >= 262, b[257] == UInt8(ascii: "u"), b[258] == UInt8(ascii: "s"), b[259] == UInt8(ascii: "t") {
            throw FormatError.legacyTorchFormat(path: file.path)
        }
        // A '{' after 8 bytes with a length that does not fit: let the reader report the bad length.
        if b.count >= 9, b[8] == UInt8(ascii: "{") { return .safetensors }
        let magic = b.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        if b.count == 0 { throw FormatError.malformed(path: file.path, offset: 0, what: "the file is empty", hint: "the download or save did not complete") }
        throw FormatError.unknownFormat(path: file.path, magic: magic.isEmpty ? "(none)" : magic)
    }

    /// Loads every floating-point tensor of a safetensors file, PyTorch zip checkpoint, or model
    /// folder as Float32. F32 data is borrowed from the memory map (no copy) when aligned;
    /// F16/BF16/F64 are converted. Integer tensors (e.g. `position_ids`) are skipped on purpose
    /// and listed in `WeightSet.skipped`; read them with `SafeTensorsFile.integers(_:)`.
    /// - Throws: `FormatError` naming the file, offset or tensor and what is wrong.
    /// - Cost: O(header) + O(bytes of non-F32 tensors); untouched F32 pages stay on disk.
    /// With `keepHalf`, BF16/F16 tensors of safetensors files stay in the map (`WeightSet.half`)
    /// instead of being converted. A `model.safetensors.index.json` (sharded checkpoint) loads
    /// every shard it names.
    public static func load(_ path: String, keepHalf: Bool = false) throws -> WeightSet {
        let file = try resolve(path)
        if file.hasSuffix(".index.json") { return try ShardedSafeTensors.load(index: file, keepHalf: keepHalf) }
        let mapped = try MappedFile(path: file)
        switch try detect(mapped) {
        case .safetensors: return try SafeTensorsFile(mapped).weights(keepHalf: keepHalf)
        case .pytorchZip: return try PyTorchCheckpoint(mapped).weights()
        }
    }
}
