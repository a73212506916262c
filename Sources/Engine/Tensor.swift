// Tensor: an n-dimensional Float32 array with shape, strides and shared storage.
//
// What it is: a value type. Copies share storage until one of them is written (copy on write).
// Views (reshape of a contiguous tensor, transpose, slice along the first axes) share storage and
// only change shape/strides/offset. Most ops call `contiguous()` first and then run a flat loop.
// What it is not: an autograd node (see `Variable`), or a device abstraction (CPU only).
//
// Shape legend used across Engine: B batch, T steps, C width, V vocabulary, N/M/K GEMM sizes.

import Foundation

/// Errors of the Engine layer. Messages say what, where, both shapes, and a hint.
public enum EngineError: Error, CustomStringConvertible, Equatable, Sendable {
    case shapeMismatch(op: String, lhs: [Int], rhs: [Int], hint: String = "")
    case invalidShape(op: String, shape: [Int], reason: String)
    case invalidArgument(op: String, reason: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, lhs, rhs, hint):
            return "\(op): shapes \(lhs) and \(rhs) do not match" + (hint.isEmpty ? "" : ". Hint: \(hint)")
        case let .invalidShape(op, shape, reason):
            return "\(op): shape \(shape) is invalid: \(reason)"
        case let .invalidArgument(op, reason):
            return "\(op): \(reason)"
        }
    }
}

/// Contiguous Float32 memory. Either owned (allocated here, freed on deinit) or borrowed from an
/// owner object (e.g. a memory-mapped file) that is kept alive as long as the storage is.
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int
    private let owner: AnyObject?

    /// Allocates `count` floats, zero-filled, 64-byte aligned (AVX loads never straddle lines).
    public init(count: Int) {
        let n = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: n)
        self.base = raw.assumingMemoryBound(to: Float.self)
        self.count = count
        self.owner = nil
    }

    /// Borrows memory that `owner` keeps alive (no copy). The memory must hold `count` floats.
    public init(borrowing base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owner = owner
    }

    deinit {
        if owner == nil { UnsafeMutableRawPointer(base).deallocate() }
    }
}

public struct Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    public private(set) var strides: [Int]
    public private(set) var offset: Int
    private(set) var storage: TensorStorage

    // MARK: construction

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.strides = Tensor.contiguousStrides(shape)
        self.offset = 0
        self.storage = TensorStorage(count: shape.reduce(1, *))
    }

    /// A tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(zeros: shape)
        if value != 0 { storage.base.update(repeating: value, count: count) }
    }

    /// A tensor from flat row-major values. Throws when `values.count` is not the shape's size.
    public init(shape: [Int], values: [Float]) throws {
        let n = shape.reduce(1, *)
        guard n == values.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw EngineError.invalidShape(op: "Tensor(shape:values:)", shape: shape,
                                           reason: "needs \(n) values, got \(values.count)")
        }
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { src in
            if n > 0 { storage.base.update(from: src.baseAddress!, count: n) }
        }
    }

    /// A 1-D tensor.
    public init(_ values: [Float]) {
        try! self.init(shape: [values.count], values: values)
    }

    /// A scalar (shape []).
    public init(scalar: Float) {
        self.init(zeros: [])
        storage.base[0] = scalar
    }

    /// Wraps existing storage (no copy).
    public init(storage: TensorStorage, shape: [Int], strides: [Int]? = nil, offset: Int = 0) {
        self.storage = storage
        self.shape = shape
        self.strides = strides ?? Tensor.contiguousStrides(shape)
        self.offset = offset
    }

    /// Fills `shape` with values from `body(flatIndex)`.
    public init(shape: [Int], generator body: (Int) -> Float) {
        self.init(zeros: shape)
        let p = storage.base
        for i in 0..<count { p[i] = body(i) }
    }

    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= max(shape[i], 1)
        }
        return s
    }

    // MARK: properties

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }
    public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) }

    /// The flat values in row-major order (copies).
    public var values: [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.storage.base + c.offset, count: c.count))
    }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
        return storage.base[offset]
    }

    public subscript(indices: Int...) -> Float {
        get { storage.base[flatOffset(indices)] }
        set {
            makeUnique()
            storage.base[flatOffset(indices)] = newValue
        }
    }

    @inline(__always) func flatOffset(_ idx: [Int]) -> Int {
        precondition(idx.count == shape.count, "index rank \(idx.count) != tensor rank \(shape.count)")
        var o = offset
        for d in 0..<idx.count {
            precondition(idx[d] >= 0 && idx[d] < shape[d], "index \(idx) out of range for shape \(shape)")
            o += idx[d] * strides[d]
        }
        return o
    }

    // MARK: memory access

    /// Makes storage exclusively owned and contiguous, so it can be written in place.
    public mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) || !isContiguous || offset != 0 {
            let c = materialize()
            self = c
        }
    }

    /// A contiguous copy (or self when already contiguous).
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return materialize()
    }

    private func materialize() -> Tensor {
        var out = Tensor(zeros: shape)
        let dst = out.storage.base
        let src = storage.base
        let n = count
        if n == 0 { return out }
        if isContiguous {
            dst.update(from: src + offset, count: n)
            return out
        }
        // Generic strided copy: odometer over all but the last axis, inner loop on the last.
        let r = shape.count
        let inner = shape[r - 1], innerStride = strides[r - 1]
        var idx = [Int](repeating: 0, count: r)
        var o = 0
        var srcOff = offset
        while o < n {
            var s = srcOff
            for j in 0..<inner { dst[o + j] = src[s]; s += innerStride }
            o += inner
            var d = r - 2
            while d >= 0 {
                idx[d] += 1
                srcOff += strides[d]
                if idx[d] < shape[d] { break }
                srcOff -= strides[d] * shape[d]
                idx[d] = 0
                d -= 1
            }
            if d < 0 { break }
        }
        out.shape = shape
        return out
    }

    /// Read-only pointer to contiguous values (materialises when needed).
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let c = contiguous()
        return try withExtendedLifetime(c.storage) {
            try body(UnsafeBufferPointer(start: c.storage.base + c.offset, count: c.count))
        }
    }

    /// Mutable pointer to this tensor's own contiguous values (copies first when shared).
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        makeUnique()
        return try withExtendedLifetime(storage) {
            try body(UnsafeMutableBufferPointer(start: storage.base, count: count))
        }
    }

    // MARK: views

    /// Same values, new shape (one dimension may be -1). A view when contiguous, else a copy.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var ns = newShape
        let known = ns.filter { $0 != -1 }.reduce(1, *)
        let inferred = ns.filter { $0 == -1 }.count
        if inferred > 1 || (inferred == 1 && (known == 0 || count % known != 0)) {
            throw EngineError.shapeMismatch(op: "reshape", lhs: shape, rhs: newShape)
        }
        if inferred == 1, let i = ns.firstIndex(of: -1) { ns[i] = count / known }
        guard ns.reduce(1, *) == count else {
            throw EngineError.shapeMismatch(op: "reshape", lhs: shape, rhs: newShape,
                                            hint: "element counts \(count) and \(ns.reduce(1, *)) differ")
        }
        let c = contiguous()
        return Tensor(storage: c.storage, shape: ns, strides: nil, offset: c.offset)
    }

    /// Swaps two axes (a view).
    public func transposed(_ a: Int = -2, _ b: Int = -1) throws -> Tensor {
        let r = rank
        let i = a < 0 ? a + r : a, j = b < 0 ? b + r : b
        guard i >= 0, i < r, j >= 0, j < r else {
            throw EngineError.invalidArgument(op: "transpose", reason: "axes (\(a), \(b)) out of range for rank \(r)")
        }
        var t = self
        t.shape.swapAt(i, j)
        t.strides.swapAt(i, j)
        return t
    }

    /// Reorders axes (a view).
    public func permuted(_ order: [Int]) throws -> Tensor {
        guard order.sorted() == Array(0..<rank) else {
            throw EngineError.invalidArgument(op: "permute", reason: "order \(order) is not a permutation of 0..<\(rank)")
        }
        var t = self
        t.shape = order.map { shape[$0] }
        t.strides = order.map { strides[$0] }
        return t
    }

    /// Elements `range` along `axis` (a view).
    public func slice(axis: Int = 0, _ range: Range<Int>) throws -> Tensor {
        let ax = axis < 0 ? axis + rank : axis
        guard ax >= 0, ax < rank, range.lowerBound >= 0, range.upperBound <= shape[ax] else {
            throw EngineError.invalidArgument(op: "slice", reason: "range \(range) on axis \(axis) out of bounds for shape \(shape)")
        }
        var t = self
        t.offset += range.lowerBound * strides[ax]
        t.shape[ax] = range.count
        return t
    }

    /// Row `i` of the first axis (a view with rank - 1).
    public func row(_ i: Int) throws -> Tensor {
        var t = try slice(axis: 0, i..<(i + 1))
        t.shape.removeFirst()
        t.strides.removeFirst()
        return t
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let v = values
        let head = v.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape)) [\(head)\(v.count > 8 ? ", …" : "")]"
    }
}

extension Tensor {
    /// Maximum absolute difference; throws on shape mismatch.
    public func maxAbsDifference(_ other: Tensor) throws -> Float {
        guard shape == other.shape else { throw EngineError.shapeMismatch(op: "maxAbsDifference", lhs: shape, rhs: other.shape) }
        let a = values, b = other.values
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
        return m
    }
}

// MARK: raw access for the layers above (their only way in: no arithmetic on storage outside Engine)

extension Tensor {
    /// The address of the first element (storage base + offset). Valid while this tensor, or one
    /// sharing its storage, is alive; the elements are row-major only when `isContiguous`.
    public var elementPointer: UnsafePointer<Float> { UnsafePointer(storage.base + offset) }

    /// A new contiguous tensor of `shape` (zero-filled) whose elements `fill` writes, row-major.
    public init(shape: [Int], filling fill: (UnsafeMutablePointer<Float>) throws -> Void) rethrows {
        self.init(zeros: shape)
        try fill(storage.base)
    }

    /// A contiguous tensor over `count(shape)` floats at `base` that `owner` keeps alive (no copy).
    public init(borrowing base: UnsafePointer<Float>, shape: [Int], owner: AnyObject) {
        self.init(storage: TensorStorage(borrowing: UnsafeMutablePointer(mutating: base), count: shape.reduce(1, *), owner: owner),
                  shape: shape)
    }
}
