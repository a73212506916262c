// AtomicWrite: write a file so that readers see either the old file or the complete new one.
//
// What it is: write to a temporary file in the destination folder (same filesystem, so rename is
// atomic), fsync it, rename it over the destination, then fsync the folder so the rename itself
// survives a crash. On any error the temporary file is removed and the destination is untouched.
// What it is not: a lock; two writers racing on one path both succeed and the last rename wins.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sink for bytes; `AtomicWrite.write` hands one to its body.
public final class FileSink {
    let fd: Int32
    let path: String
    /// Bytes written so far.
    public private(set) var written = 0

    init(fd: Int32, path: String) { self.fd = fd; self.path = path }

    /// Writes all of `bytes` (retrying short writes and EINTR).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = posixWrite(fd, p, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError.io(path: path, reason: "write failed: " + String(cString: strerror(errno)))
            }
            p += n
            left -= n
            written += n
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

@inline(__always) private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

public enum AtomicWrite {
    /// Creates `path` atomically with the bytes `body` writes. Throws `FormatError.io`.
    /// Cost: one fsync of the file and one of its folder.
    public static func write(to path: String, _ body: (FileSink) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let tmp = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FormatError.io(path: path, reason: "cannot create a temporary file in \(folder): " + String(cString: strerror(errno)))
        }
        var closed = false
        do {
            try body(FileSink(fd: fd, path: path))
            guard fsync(fd) == 0 else { throw FormatError.io(path: path, reason: "fsync failed: " + String(cString: strerror(errno))) }
            closed = true
            guard close(fd) == 0 else { throw FormatError.io(path: path, reason: "close failed: " + String(cString: strerror(errno))) }
            guard rename(tmp, path) == 0 else {
                throw FormatError.io(path: path, reason: "rename failed: " + String(cString: strerror(errno)))
            }
        } catch {
            if !closed { close(fd) }
            unlink(tmp)
            throw error
        }
        // Make the rename durable; failure here leaves a complete file, so it is not an error.
        let dfd = open(folder, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// The writer's PID in a temporary name of ours (".<name>.tmp-<pid>-<random>"), or nil.
    static func writerPID(ofTemporary name: String) -> pid_t? {
        guard name.hasPrefix("."), let r = name.range(of: ".tmp-", options: .backwards) else { return nil }
        let parts = name[r.upperBound...].split(separator: "-")
        guard parts.count == 2, UInt32(parts[1]) != nil, let pid = Int32(parts[0]), pid > 0 else { return nil }
        return pid
    }

    /// Removes the temporary files that writers killed mid-write (kill -9, power loss) left in
    /// `folder`: those whose writer process no longer exists. Files of live writers stay.
    /// - Returns: the names removed.
    @discardableResult
    public static func removeStaleTemporaries(in folder: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = writerPID(ofTemporary: name), pid != getpid() else { continue }
            // kill(pid, 0): ESRCH means no such process; EPERM means it exists (another user's).
            if kill(pid, 0) != 0 && errno == ESRCH {
                if unlink(folder + "/" + name) == 0 { removed.append(name) }
            }
        }
        return removed
    }
}
