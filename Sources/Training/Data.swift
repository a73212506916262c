// Training data: language-model windows from a token array, and classification rows — each
// sampled from a seeded generator whose state is the data position.
//
// What it is: `LMData` (train/validation token arrays and [B, context+1] windows, encoded with a
// `Formats.CharVocab` built from the corpus), `ClassificationData` (encoded rows and labels).
// What it is not: streaming; the corpus is read into memory (a few MB at most here).
//
// Shape legend: B batch, N context (tokens per training window).

import Foundation
import Engine
import Formats
import Models

/// Train and validation tokens of a language-model corpus, held as 16-bit ids in one array (a
/// char vocabulary never needs more): 2 bytes per character, so a 200 MB corpus takes ~400 MB
/// (the file itself is memory-mapped while it is encoded, never copied into a String).
public struct LMData: Sendable {
    /// Every token; the first `cut` are the training split, the rest validation.
    public let tokens: [UInt16]
    public let cut: Int
    public var vocabSize: Int

    public var train: ArraySlice<UInt16> { tokens[..<cut] }
    public var validation: ArraySlice<UInt16> { tokens[cut...] }

    /// Splits `tokens` into the first (1 − valFraction) for training and the rest for validation.
    public init(tokens: [UInt16], vocabSize: Int, valFraction: Double = 0.1) {
        self.tokens = tokens
        cut = tokens.count - Int(Double(tokens.count) * valFraction)
        self.vocabSize = vocabSize
    }

    /// Same, from ids as Ints (each must fit in 16 bits).
    public init(tokens: [Int], vocabSize: Int, valFraction: Double = 0.1) {
        self.init(tokens: tokens.map { UInt16(truncatingIfNeeded: $0) }, vocabSize: vocabSize, valFraction: valFraction)
    }

    /// Reads a UTF-8 text file and tokenizes it with a checkpoint's own tokenizer (no special
    /// tokens): language modelling in the vocabulary the model was trained with.
    /// - Throws: `TrainingError.badData` for an unreadable file, a text shorter than two windows,
    ///   or a vocabulary too large for 16-bit ids.
    public static func tokenizedCorpus(_ url: URL, tokenizer: any Tokenizer, valFraction: Double = 0.1) throws -> LMData {
        guard tokenizer.vocabSize <= 65536 else {
            throw TrainingError.badData(path: url.path, reason: "the tokenizer has \(tokenizer.vocabSize) ids; training data holds 16-bit ids",
                                        hint: "fine-tune with a tokenizer of at most 65536 ids")
        }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw TrainingError.badData(path: url.path, reason: "cannot be read as UTF-8 text", hint: "give a plain-text corpus file")
        }
        let ids = try tokenizer.encode(text, pair: nil, addSpecialTokens: false).ids
        guard ids.count >= 16 else {
            throw TrainingError.badData(path: url.path, reason: "holds \(ids.count) tokens", hint: "give a longer corpus")
        }
        return LMData(tokens: ids, vocabSize: tokenizer.vocabSize, valFraction: valFraction)
    }

    /// Reads a UTF-8 text file (or a folder of .txt files, via `Formats.TextCorpus.scan`) and makes
    /// its char vocabulary (or uses `vocabulary`). Two streaming passes over the mapped files: the
    /// distinct characters, then the ids.
    public static func charCorpus(_ url: URL, vocabulary: CharVocab? = nil, valFraction: Double = 0.1) throws -> (LMData, CharVocab) {
        let path = url.path
        // Throws Formats' `CorpusError` (file, offset and hint) for unreadable or non-UTF-8 input.
        let vocab: CharVocab
        if let vocabulary { vocab = vocabulary } else {
            var seen = Set<UInt32>()
            var ascii = [Bool](repeating: false, count: 128)
            try TextCorpus.scan(path: path) { s, _, _ in if s < 128 { ascii[Int(s)] = true } else { seen.insert(s) } }
            for (i, on) in ascii.enumerated() where on { seen.insert(UInt32(i)) }
            vocab = CharVocab(characters: seen.compactMap { Unicode.Scalar($0).map { String($0) } }.sorted())
        }
        guard vocab.count <= 65536 else {
            throw TrainingError.badData(path: path, reason: "\(vocab.count) distinct characters; a char vocabulary holds at most 65536",
                                        hint: "this corpus is not character text a char-level model can learn; clean it or use a smaller corpus")
        }
        // scalar → id: a flat table for the BMP, a dictionary above it.
        var bmp = [UInt16](repeating: 0, count: 65536), bmpKnown = [Bool](repeating: false, count: 65536)
        var astral: [UInt32: UInt16] = [:]
        for (i, c) in vocab.chars.enumerated() {
            let scalars = Array(c.unicodeScalars)
            guard scalars.count == 1 else { continue }  // not a single character: never matched
            let v = scalars[0].value
            if v < 65536 { bmp[Int(v)] = UInt16(i); bmpKnown[Int(v)] = true } else { astral[v] = UInt16(i) }
        }
        var ids: [UInt16] = []
        ids.reserveCapacity(try FileSize.total(of: path))
        try TextCorpus.scan(path: path) { s, file, offset in
            if s < 65536, bmpKnown[Int(s)] { ids.append(bmp[Int(s)]); return }
            if let id = astral[s] { ids.append(id); return }
            throw TrainingError.badData(path: file, reason: "character \(String(reflecting: String(Unicode.Scalar(s) ?? "?"))) at byte offset \(offset) is not in the vocabulary of \(vocab.count) chars",
                                        hint: "train a vocabulary that covers this text, or remove the character")
        }
        guard ids.count >= 64 else {
            throw TrainingError.badData(path: path, reason: "only \(ids.count) characters", hint: "a corpus needs at least a few thousand characters")
        }
        return (LMData(tokens: ids, vocabSize: vocab.count, valFraction: valFraction), vocab)
    }

    /// B windows of N+1 tokens at uniformly drawn positions of the training split.
    public func sample(batch B: Int, context N: Int, rng: inout SeededRNG) throws -> TrainingBatch {
        let train = self.train
        guard train.count > N + 1 else {
            throw TrainingError.badConfig(field: "context", value: "\(N)", reason: "the training split has only \(train.count) tokens",
                                          hint: "use a smaller --context or a bigger corpus")
        }
        var xs: [[Int]] = [], ys: [[Int]] = []
        for _ in 0..<B {
            let start = Int(rng.next() % UInt64(train.count - N - 1))
            xs.append(tokens[start..<(start + N)].map(Int.init))
            ys.append(tokens[(start + 1)...(start + N)].map(Int.init))
        }
        return .lm(inputs: xs, targets: ys)
    }

    /// Consecutive validation windows (deterministic), at most `maxBatches` batches of B.
    public func validationBatches(batch B: Int, context N: Int, maxBatches: Int) -> [TrainingBatch] {
        var out: [TrainingBatch] = []
        var start = cut
        let end = tokens.count
        while out.count < maxBatches {
            var xs: [[Int]] = [], ys: [[Int]] = []
            while xs.count < B && start + N + 1 <= end {
                xs.append(tokens[start..<(start + N)].map(Int.init))
                ys.append(tokens[(start + 1)...(start + N)].map(Int.init))
                start += N
            }
            if xs.isEmpty { break }
            out.append(.lm(inputs: xs, targets: ys))
            if xs.count < B { break }
        }
        return out
    }
}

/// Bytes in a corpus path (a file, or a folder's .txt files): an upper bound on its characters.
enum FileSize {
    static func total(of path: String) throws -> Int {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return 0 }
        let files = isDir.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.lowercased().hasSuffix(".txt") }.map { path + "/" + $0 }
            : [path]
        return files.reduce(0) { $0 + (((try? FileManager.default.attributesOfItem(atPath: $1))?[.size] as? Int) ?? 0) + 1 }
    }
}

/// Encoded classification rows: ids padded with `pad` or cropped to `length`.
public struct ClassificationData: Sendable {
    public var train: [(ids: [Int], label: Int)]
    public var validation: [(ids: [Int], label: Int)]
    public var labels: [String]
    public var length: Int

    /// Labelled rows of a GLUE TSV file, read by `Formats.GLUEFile` (the one GLUE reader: CRLF,
    /// BOM, every task's layout, line numbers in errors). The task comes from `task`, else the
    /// folder name, else SST-2's layout (sentence, label). Classes are the file's distinct labels,
    /// sorted. The last 10% of rows (at least one) are the validation split.
    /// - Throws: `GLUEError` for a file GLUE cannot read; `TrainingError.badData` for a test
    ///   file (no labels), a regression task, or fewer than 2 rows (one to train, one to validate).
    public static func glue(_ url: URL, task: GLUETask? = nil, encode: (String) throws -> [Int], pad: Int, length: Int,
                            valFraction: Double = 0.1) throws -> ClassificationData {
        let file = try GLUEFile.load(path: url.path, task: task ?? GLUETask.recognise(path: url.path) ?? .sst2)
        guard !file.task.isRegression else {
            throw TrainingError.badData(path: url.path, reason: "\(file.task.rawValue) is a regression task (similarity scores)",
                                        hint: "train a classifier on a labelled classification task such as SST-2")
        }
        var rows: [(String, String)] = []
        for r in file.rows {
            guard let label = r.label else {
                throw TrainingError.badData(path: "\(url.path):\(r.line)", reason: "the row has no label (a GLUE test file?)",
                                            hint: "train on train.tsv, whose rows carry labels")
            }
            rows.append((r.textPair.map { r.text + " " + $0 } ?? r.text, label))
        }
        guard rows.count >= 2 else {
            throw TrainingError.badData(path: url.path, reason: "only \(rows.count) labelled row",
                                        hint: "training needs at least 2 rows: one to train on and one to validate")
        }
        let labels = Set(rows.map { $0.1 }).sorted()
        var encoded: [(ids: [Int], label: Int)] = []
        for (s, l) in rows {
            var ids = Array(try encode(s).prefix(length))
            while ids.count < length { ids.append(pad) }
            encoded.append((ids, labels.firstIndex(of: l)!))
        }
        let cut = encoded.count - min(encoded.count - 1, max(1, Int(Double(encoded.count) * valFraction)))
        return ClassificationData(train: Array(encoded[..<cut]), validation: Array(encoded[cut...]), labels: labels, length: length)
    }

    public func sample(batch B: Int, rng: inout SeededRNG) -> TrainingBatch {
        var xs: [[Int]] = [], ys: [Int] = []
        for _ in 0..<B {
            let r = train[Int(rng.next() % UInt64(train.count))]
            xs.append(r.ids); ys.append(r.label)
        }
        return .classification(inputs: xs, labels: ys)
    }

    public func validationBatches(batch B: Int, maxBatches: Int) -> [TrainingBatch] {
        var out: [TrainingBatch] = []
        var i = 0
        while i < validation.count && out.count < maxBatches {
            let rows = validation[i..<min(i + B, validation.count)]
            out.append(.classification(inputs: rows.map { $0.ids }, labels: rows.map { $0.label }))
            i += B
        }
        return out
    }
}
