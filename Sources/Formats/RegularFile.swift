// RegularFile: the one way Formats, Models, Training and Workbench open a file they read whole.
// It opens without blocking (a FIFO or a device given as a model must not hang `open()`), refuses
// anything that is not a regular file with what it is instead (folder, named pipe, socket,
// device), names errno plainly ("permission denied", "no such file"), and refuses files larger
// than the caller's limit before reading a byte (a 10 GB "config.json" is not read into memory).
// It is not: the memory map of weight files (MappedFile, which uses `open` below too).

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum RegularFile {
    /// What a non-regular file is, in words.
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a folder, not a file"
        case S_IFIFO: return "a named pipe (FIFO), not a regular file"
        case S_IFSOCK: return "a socket, not a regular file"
        case S_IFCHR: return "a character device, not a regular file"
        case S_IFBLK: return "a block device, not a regular file"
        default: return "not a regular file"
        }
    }

    /// errno as a short phrase.
    static func reason(_ e: Int32) -> String {
        switch e {
        case ENOENT: return "no such file"
        case EACCES, EPERM: return "permission denied"
        case ENOTDIR: return "a part of the path is not a folder"
        case ELOOP: return "too many symbolic links"
        case ENAMETOOLONG: return "the path is too long"
        default: return String(cString: strerror(e))
        }
    }

    /// Opens `path` read-only without blocking and checks it is a regular file.
    /// - Returns: the descriptor (caller closes) and the size in bytes.
    /// - Throws: `FormatError.io` saying what is wrong with the path.
    public static func open(_ path: String) throws -> (fd: Int32, size: Int) {
        #if canImport(Glibc)
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        #else
        let fd = Darwin.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        #endif
        guard fd >= 0 else { throw FormatError.io(path: path, reason: reason(errno)) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw FormatError.io(path: path, reason: reason(e))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FormatError.io(path: path, reason: "is \(kind(st.st_mode))")
        }
        // Regular files never block; clear the flag so reads behave as usual.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return (fd, Int(st.st_size))
    }

    /// Throws unless `path` is a regular file that can be opened for reading.
    public static func check(_ path: String) throws {
        let (fd, _) = try open(path)
        close(fd)
    }

    /// The whole file, at most `maxBytes` long.
    /// - Parameter what: what the file is, for the size error ("a config.json").
    /// - Throws: `FormatError.io` for a path that is not a readable regular file or is too big.
    public static func read(_ path: String, maxBytes: Int = 256 << 20, what: String = "this file") throws -> Data {
        let (fd, size) = try open(path)
        defer { close(fd) }
        guard size <= maxBytes else {
            throw FormatError.io(path: path, reason: "is \(size) bytes, more than the \(maxBytes >> 20) MiB expected of \(what)")
        }
        var data = Data(count: size)
        var done = 0
        let failure: Int32? = data.withUnsafeMutableBytes { (buf: UnsafeMutableRawBufferPointer) -> Int32? in
            while done < size {
                let n = Glibc_read(fd, buf.baseAddress! + done, size - done)
                if n < 0 { if errno == EINTR { continue }; return errno }
                if n == 0 { break }  // shrank while reading
                done += n
            }
            return nil
        }
        if let e = failure { throw FormatError.io(path: path, reason: "read failed: " + reason(e)) }
        if done < size { data.removeSubrange(done...) }
        return data
    }
}

extension FormatError {
    /// The bare reason of an `.io` error ("no such file", "is a folder, not a file"); the whole
    /// description for other cases. For readers that wrap it in their own error type.
    public var ioReason: String {
        if case let .io(_, reason) = self { return reason }
        return description
    }
}

@inline(__always) private func Glibc_read(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, p, n)
    #else
    return Darwin.read(fd, p, n)
    #endif
}

/// Creating folders with errors that say why ("permission denied", "exists and is not a folder")
/// instead of Foundation's NSCocoaErrorDomain codes.
public enum Folder {
    /// `mkdir -p path`. Throws `FormatError.io` naming the part that could not be made.
    public static func create(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw FormatError.io(path: path, reason: "exists and is not a folder")
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try create(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw FormatError.io(path: path, reason: "cannot create the folder: " + RegularFile.reason(errno))
        }
    }
}
