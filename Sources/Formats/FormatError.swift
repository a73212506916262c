// FormatError: every way a file on disk can be wrong, for the Formats layer.
//
// What it is: one enum whose cases carry the file, the byte offset or tensor name, and the value
// found against the value expected. `description` is a single line: what, where, then a hint.
// What it is not: tokenizer errors (TokenizerError lives beside the tokenizers) or I/O retries.

import Foundation

public enum FormatError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file cannot be opened, read or written (errno text in `reason`).
    case io(path: String, reason: String)
    /// The file ends before `needed` bytes at `offset` could be read.
    case truncated(path: String, offset: Int, needed: Int, size: Int, what: String)
    /// Structurally wrong bytes at `offset` (nil when no single offset applies).
    case malformed(path: String, offset: Int?, what: String, hint: String)
    /// JSON text that does not parse (`offset` counts from the start of the file).
    case json(path: String, offset: Int, reason: String)
    /// A dtype name this reader does not know.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// A tensor whose dtype is known but cannot be used where it was asked for.
    case unsupportedDType(path: String, tensor: String, dtype: String, hint: String)
    /// A byte range whose length disagrees with product(shape) * itemsize.
    case tensorBytes(path: String, tensor: String, shape: [Int], dtype: String, expected: Int, found: Int)
    /// A byte range outside the data section (or with begin > end).
    case tensorRange(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    /// Two tensors whose byte ranges overlap.
    case tensorOverlap(path: String, tensor: String, other: String, offset: Int)
    /// A tensor with the wrong shape for the model being built.
    case tensorShape(tensor: String, found: [Int], expected: [Int], why: String, hint: String)
    /// A tensor (or file entry) that should be there and is not.
    case missingTensor(path: String, tensor: String, hint: String)
    /// A pickle names a global outside the allow-list; nothing was called.
    case forbiddenGlobal(path: String, offset: Int, name: String)
    /// A pickle opcode this reader does not implement.
    case unknownOpcode(path: String, offset: Int, opcode: UInt8)
    /// A pickle that is well-formed opcode by opcode but wrong as a program.
    case pickle(path: String, offset: Int, reason: String)
    /// A zip entry stored with a compression method other than "stored".
    case compressedEntry(path: String, entry: String, method: Int)
    /// The pre-1.6 (non-zip) torch.save format.
    case legacyTorchFormat(path: String)
    /// Neither a safetensors file nor a zip checkpoint.
    case unknownFormat(path: String, magic: String)
    /// A file looked for beside a model and not found.
    case notFound(path: String, what: String, hint: String)

    public var description: String {
        switch self {
        case let .io(path, reason):
            return "\(path): \(reason). Hint: check the path and its permissions."
        case let .truncated(path, offset, needed, size, what):
            return "\(path): truncated: \(what) needs \(needed) bytes at offset \(offset), the file has \(size). "
                + "Hint: the download or copy was cut short; fetch the file again."
        case let .malformed(path, offset, what, hint):
            let at = offset.map { " at offset \($0)" } ?? ""
            return "\(path): \(what)\(at)." + (hint.isEmpty ? "" : " Hint: \(hint)")
        case let .json(path, offset, reason):
            return "\(path): invalid JSON at offset \(offset): \(reason). Hint: the header or file is corrupt."
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has unknown dtype '\(dtype)'. "
                + "Hint: known dtypes are F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL."
        case let .unsupportedDType(path, tensor, dtype, hint):
            return "\(path): tensor '\(tensor)' has dtype \(dtype), which cannot be used here. Hint: \(hint)"
        case let .tensorBytes(path, tensor, shape, dtype, expected, found):
            return "\(path): tensor '\(tensor)' is \(shape) \(dtype) = \(expected) bytes, but its byte range holds \(found). "
                + "Hint: the header's shape or data_offsets is wrong."
        case let .tensorRange(path, tensor, begin, end, dataSize):
            return "\(path): tensor '\(tensor)' has data_offsets [\(begin), \(end)] outside the data section of \(dataSize) bytes. "
                + "Hint: the file is truncated or its header is corrupt."
        case let .tensorOverlap(path, tensor, other, offset):
            return "\(path): tensor '\(tensor)' overlaps tensor '\(other)' at data offset \(offset). "
                + "Hint: the header is corrupt or was written by hand."
        case let .tensorShape(tensor, found, expected, why, hint):
            return "tensor '\(tensor)' is \(found), expected \(expected)" + (why.isEmpty ? "" : " (\(why))") + "."
                + (hint.isEmpty ? "" : " Hint: \(hint)")
        case let .missingTensor(path, tensor, hint):
            return "\(path): no tensor or entry '\(tensor)'." + (hint.isEmpty ? "" : " Hint: \(hint)")
        case let .forbiddenGlobal(path, offset, name):
            return "\(path): the pickle references '\(name)' at offset \(offset), which a state dict never needs; "
                + "refused, nothing was run. Hint: only load checkpoints you trust, or export them with safetensors."
        case let .unknownOpcode(path, offset, opcode):
            return "\(path): unsupported pickle opcode 0x\(String(opcode, radix: 16)) at offset \(offset). "
                + "Hint: this reader understands state dicts saved by torch.save (protocol 2-5) only."
        case let .pickle(path, offset, reason):
            return "\(path): bad pickle at offset \(offset): \(reason). "
                + "Hint: the data.pkl entry is corrupt or not a state dict."
        case let .compressedEntry(path, entry, method):
            return "\(path): zip entry '\(entry)' is compressed (method \(method)); only stored entries are read. "
                + "Hint: re-save with torch.save (it stores entries uncompressed) or re-zip with `zip -0`."
        case let .legacyTorchFormat(path):
            return "\(path): legacy pre-1.6 torch format; "
                + "re-save with torch.save(..., _use_new_zipfile_serialization=True)."
        case let .unknownFormat(path, magic):
            return "\(path): not a safetensors file or a PyTorch zip checkpoint (first bytes \(magic)). "
                + "Hint: spikescope reads .safetensors and torch.save .pth/.bin/.pt files."
        case let .notFound(path, what, hint):
            return "\(path): \(what) not found." + (hint.isEmpty ? "" : " Hint: \(hint)")
        }
    }
}
