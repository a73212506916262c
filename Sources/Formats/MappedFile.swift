// MappedFile: a whole file mapped into memory, unmapped when the object goes away.
//
// What it is: mmap(MAP_PRIVATE, PROT_READ|PROT_WRITE). Pages are read from disk only when touched,
// so opening a 500 MB checkpoint costs no resident memory until tensors are read. Writes through
// the mapping land in private copy-on-write pages: they never reach the file. Tensors may borrow
// memory from it (`TensorStorage(borrowing:count:owner:)` keeps the MappedFile alive).
// What it is not: a writer, or safe against another process truncating the file while it is
// mapped (that is SIGBUS on every platform; we do not guard against it).

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// File size in bytes.
    public let size: Int
    /// Start of the mapping (nil for an empty file, which cannot be mapped).
    public let base: UnsafeMutableRawPointer?

    /// Maps `path`. Throws `FormatError.io` when it cannot be opened or mapped (a folder, a FIFO, …).
    /// Cost: one open/fstat/mmap; no bytes are read.
    public init(path: String) throws {
        self.path = path
        // Opened without blocking and checked to be a regular file (a FIFO must not hang).
        let (fd, fileSize) = try RegularFile.open(path)
        defer { close(fd) }
        size = fileSize
        if size == 0 { base = nil; return }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw FormatError.io(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
        }
        base = p
    }

    /// An anonymous mapping holding a copy of `bytes`, reported under the name `path` in errors.
    /// Used by tests and fuzzing to parse bytes without touching the disk.
    public init(copying bytes: [UInt8], path: String) throws {
        self.path = path
        size = bytes.count
        if size == 0 { base = nil; return }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            throw FormatError.io(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
        }
        let n = bytes.count
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: n) }
        base = p
    }

    deinit {
        if let base { munmap(base, size) }
    }

    /// The bytes `offset ..< offset+count`, or `FormatError.truncated` naming `what`.
    public func bytes(at offset: Int, count: Int, what: String) throws -> UnsafeRawBufferPointer {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw FormatError.truncated(path: path, offset: offset, needed: count, size: size, what: what)
        }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: count)
    }

    /// All bytes of the file.
    public var all: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: base == nil ? 0 : size) }
}

/// Little-endian integer reads from raw bytes (no alignment needed). Callers check bounds.
extension UnsafeRawBufferPointer {
    @inline(__always) func le16(_ o: Int) -> Int { Int(self[o]) | Int(self[o + 1]) << 8 }
    @inline(__always) func le32(_ o: Int) -> Int { le16(o) | le16(o + 2) << 16 }
    @inline(__always) func le64u(_ o: Int) -> UInt64 { UInt64(le32(o)) | UInt64(le32(o + 4)) << 32 }
}

/// This process's memory as the OS reports it: used to check that mapping a checkpoint does not
/// read it in (tests, `bench load`).
public enum ProcessMemory {
    /// VmRSS of this process in kB (Linux /proc; 0 elsewhere).
    public static func residentKB() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
