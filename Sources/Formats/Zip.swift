// Zip: a read-only zip directory over a memory-mapped file, for torch.save checkpoints.
//
// Layout (PKWARE APPNOTE.TXT 6.3.x, sections 4.3.6-4.3.16):
//   [local header 0x04034b50, name, extra, data]... [central directory 0x02014b50 ...]
//   [ZIP64 end record 0x06064b50][ZIP64 locator 0x07064b50][end record 0x06054b50, comment]
// torch.save writes stored (method 0) entries, 64-byte aligned, with ZIP64 records.
// What it is: the central directory parsed (ZIP64 included), every entry's data range checked
// against the file, and stored entries handed out as slices of the mapping (no copy).
// What it is not: a decompressor (a deflated entry is a clear error), a writer, or a CRC checker
// (CRC would read every byte of a 500 MB checkpoint; torch does not check it either).

import Foundation

public struct ZipEntry: Sendable, Equatable {
    public let name: String
    /// 0 = stored, 8 = deflate, …
    public let method: Int
    public let compressedSize: Int
    public let uncompressedSize: Int
    /// Offset of the local file header.
    public let localHeaderOffset: Int
}

public struct ZipArchive: @unchecked Sendable {
    public let file: MappedFile
    public let entries: [ZipEntry]
    private let index: [String: Int]

    /// Parses the central directory of `file`.
    /// - Throws: `FormatError.malformed`/`.truncated` with the offset of the bad record.
    public init(_ file: MappedFile) throws {
        self.file = file
        let b = file.all, path = file.path, size = file.size
        // End of central directory: 22 bytes + comment (≤ 65535), searched backwards.
        guard size >= 22 else {
            throw FormatError.truncated(path: path, offset: 0, needed: 22, size: size, what: "the zip end-of-directory record")
        }
        var eocd = -1
        var o = size - 22
        let lowest = max(0, size - 22 - 65535)
        while o >= lowest {
            if b[o] == 0x50, b[o + 1] == 0x4B, b[o + 2] == 5, b[o + 3] == 6 { eocd = o; break }
            o -= 1
        }
        guard eocd >= 0 else {
            throw FormatError.malformed(path: path, offset: nil, what: "no zip end-of-directory record",
                                        hint: "the file is truncated (an interrupted torch.save or download)")
        }
        var count = b.le16(eocd + 10)
        var cdSize = b.le32(eocd + 12)
        var cdOffset = b.le32(eocd + 16)
        // ZIP64: any field saturated, or a locator right before the end record.
        if eocd >= 20, b.le32(eocd - 20) == 0x0706_4B50 {
            let z64 = b.le64u(eocd - 20 + 8)
            // The record is 56 bytes; a file shorter than that cannot hold it (and size - 56 would
            // go negative).
            guard size >= 56, z64 <= UInt64(size - 56) else {
                throw FormatError.malformed(path: path, offset: eocd - 20, what: "ZIP64 locator points past the end (\(z64))", hint: "the file is truncated")
            }
            let r = Int(z64)
            guard b.le32(r) == 0x0606_4B50 else {
                throw FormatError.malformed(path: path, offset: r, what: "missing ZIP64 end-of-directory record", hint: "the file is corrupt")
            }
            let c64 = b.le64u(r + 32), s64 = b.le64u(r + 40), o64 = b.le64u(r + 48)
            guard c64 <= UInt64(size), s64 <= UInt64(size), o64 <= UInt64(size) else {
                throw FormatError.malformed(path: path, offset: r, what: "ZIP64 directory fields exceed the file size", hint: "the file is corrupt")
            }
            count = Int(c64); cdSize = Int(s64); cdOffset = Int(o64)
        } else if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw FormatError.malformed(path: path, offset: eocd, what: "ZIP64 fields without a ZIP64 locator", hint: "the file is corrupt")
        }
        guard cdOffset <= size, cdSize <= size - cdOffset else {
            throw FormatError.truncated(path: path, offset: cdOffset, needed: cdSize, size: size, what: "the zip central directory")
        }
        var entries: [ZipEntry] = []
        var index: [String: Int] = [:]
        var p = cdOffset
        let end = cdOffset + cdSize
        for _ in 0..<count {
            guard p + 46 <= end else {
                throw FormatError.truncated(path: path, offset: p, needed: 46, size: size, what: "a zip central directory record")
            }
            guard b.le32(p) == 0x0201_4B50 else {
                throw FormatError.malformed(path: path, offset: p, what: "bad central directory signature", hint: "the file is corrupt")
            }
            let method = b.le16(p + 10)
            var csize = b.le32(p + 20), usize = b.le32(p + 24)
            let nlen = b.le16(p + 28), xlen = b.le16(p + 30), clen = b.le16(p + 32)
            var local = b.le32(p + 42)
            guard p + 46 + nlen + xlen + clen <= end else {
                throw FormatError.truncated(path: path, offset: p, needed: 46 + nlen + xlen + clen, size: size, what: "a zip central directory record")
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: b[(p + 46)..<(p + 46 + nlen)]), as: UTF8.self)
            // ZIP64 extended information (tag 0x0001): the saturated fields, in this order.
            var x = p + 46 + nlen
            let xend = x + xlen
            while x + 4 <= xend {
                let tag = b.le16(x), len = b.le16(x + 2)
                guard x + 4 + len <= xend else { break }
                if tag == 0x0001 {
                    var f = x + 4
                    func next() throws -> Int {
                        guard f + 8 <= x + 4 + len else {
                            throw FormatError.malformed(path: path, offset: f, what: "short ZIP64 extra field for '\(name)'", hint: "the file is corrupt")
                        }
                        let v = b.le64u(f); f += 8
                        guard v <= UInt64(size) else {
                            throw FormatError.malformed(path: path, offset: f - 8, what: "ZIP64 size of '\(name)' exceeds the file", hint: "the file is corrupt")
                        }
                        return Int(v)
                    }
                    if usize == 0xFFFF_FFFF { usize = try next() }
                    if csize == 0xFFFF_FFFF { csize = try next() }
                    if local == 0xFFFF_FFFF { local = try next() }
                }
                x += 4 + len
            }
            if index[name] == nil { index[name] = entries.count }
            entries.append(ZipEntry(name: name, method: method, compressedSize: csize, uncompressedSize: usize, localHeaderOffset: local))
            p += 46 + nlen + xlen + clen
        }
        self.entries = entries
        self.index = index
    }

    public func entry(_ name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    /// The bytes of a stored entry, as a slice of the mapping.
    /// - Throws: `.compressedEntry` for deflated entries, `.truncated`/`.malformed` for bad ranges.
    public func data(_ e: ZipEntry) throws -> UnsafeRawBufferPointer {
        let path = file.path
        guard e.method == 0 else { throw FormatError.compressedEntry(path: path, entry: e.name, method: e.method) }
        guard e.compressedSize == e.uncompressedSize else {
            throw FormatError.malformed(path: path, offset: e.localHeaderOffset,
                                        what: "stored entry '\(e.name)' has sizes \(e.compressedSize) != \(e.uncompressedSize)", hint: "the file is corrupt")
        }
        let lh = try file.bytes(at: e.localHeaderOffset, count: 30, what: "the local header of '\(e.name)'")
        guard lh.le32(0) == 0x0403_4B50 else {
            throw FormatError.malformed(path: path, offset: e.localHeaderOffset, what: "bad local header signature for '\(e.name)'", hint: "the file is corrupt")
        }
        let start = e.localHeaderOffset + 30 + lh.le16(26) + lh.le16(28)
        return try file.bytes(at: start, count: e.uncompressedSize, what: "zip entry '\(e.name)'")
    }
}
