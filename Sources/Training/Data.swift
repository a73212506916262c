// Training data: a char vocabulary, language-model windows from a token array, and
// classification rows — each sampled from a seeded generator whose state is the data position.
//
// What it is: `CharVocabulary` (built from a corpus; its JSON is SpikeGPT's id → char layout,
// which `Formats.CharVocab` loads for inference), `LMData` (train/validation token
// arrays and [B, context+1] windows), `ClassificationData` (encoded rows and labels).
// What it is not: streaming; the corpus is read into memory (a few MB at most here).
//
// Shape legend: B batch, N context (tokens per training window).

import Foundation
import Engine
import Formats

/// One batch in whatever form the model trains on.
public enum TrainingBatch {
    /// inputs[b] = window[0..<N], targets[b] = window[1...N].
    case lm(inputs: [[Int]], targets: [[Int]])
    /// Token ids (padded/cropped to one length) and the class index of each row.
    case classification(inputs: [[Int]], labels: [Int])

    /// Tokens processed by one forward pass (for tokens/s).
    public var tokenCount: Int {
        switch self {
        case let .lm(inputs, _): return inputs.reduce(0) { $0 + $1.count }
        case let .classification(inputs, _): return inputs.reduce(0) { $0 + $1.count }
        }
    }
}

/// Characters ↔ ids, ids in order of the sorted distinct Unicode scalars of the corpus.
/// JSON layout (SpikeGPT's char vocab): an object id → char, e.g. {"0": "\n", "1": " "}.
public struct CharVocabulary: Sendable, Equatable {
    public let chars: [String]
    private let index: [String: Int]

    public init(chars: [String]) {
        self.chars = chars
        var idx: [String: Int] = [:]
        for (i, c) in chars.enumerated() { idx[c] = i }
        self.index = idx
    }

    /// The vocabulary of `text`: its distinct scalars, sorted.
    public init(building text: String) {
        self.init(chars: Set(text.unicodeScalars.map { String($0) }).sorted())
    }

    public var count: Int { chars.count }

    public func encode(_ text: String, source: String = "text") throws -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.utf8.count)
        for (i, s) in text.unicodeScalars.enumerated() {
            guard let id = index[String(s)] else {
                throw TrainingError.badData(path: source, reason: "character \(String(reflecting: String(s))) at offset \(i) is not in the vocabulary of \(count) chars",
                                            hint: "train a vocabulary that covers this text, or remove the character")
            }
            out.append(id)
        }
        return out
    }

    public func decode(_ ids: [Int]) -> String {
        ids.map { $0 >= 0 && $0 < chars.count ? chars[$0] : "\u{FFFD}" }.joined()
    }

    public func jsonData() throws -> Data {
        var obj: [String: String] = [:]
        for (i, c) in chars.enumerated() { obj[String(i)] = c }
        return try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    }

    public static func read(_ url: URL) throws -> CharVocabulary {
        guard let data = try? Data(contentsOf: url),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: String] else {
            throw TrainingError.badData(path: url.path, reason: "not a JSON object of id → char", hint: "the vocabulary is written by 'spikescope train'")
        }
        var chars = [String](repeating: "", count: obj.count)
        for (k, c) in obj {
            guard let i = Int(k), i >= 0, i < obj.count else {
                throw TrainingError.badData(path: url.path, reason: "key '\(k)' is not an id in 0..<\(obj.count)", hint: "ids must be 0…V−1")
            }
            chars[i] = c
        }
        return CharVocabulary(chars: chars)
    }
}

/// Train and validation tokens of a language-model corpus.
public struct LMData: Sendable {
    public var train: [Int]
    public var validation: [Int]
    public var vocabSize: Int

    /// Splits `tokens` into the first (1 − valFraction) for training and the rest for validation.
    public init(tokens: [Int], vocabSize: Int, valFraction: Double = 0.1) {
        let cut = tokens.count - Int(Double(tokens.count) * valFraction)
        train = Array(tokens[..<cut]); validation = Array(tokens[cut...])
        self.vocabSize = vocabSize
    }

    /// Reads a UTF-8 text file (or a folder of .txt files, via `Formats.TextCorpus`) and makes
    /// its char vocabulary (or uses `vocabulary`).
    public static func charCorpus(_ url: URL, vocabulary: CharVocabulary? = nil, valFraction: Double = 0.1) throws -> (LMData, CharVocabulary) {
        // Throws Formats' `CorpusError` (file, offset and hint) for unreadable or non-UTF-8 input.
        let text = try TextCorpus.load(path: url.path).text
        let vocab = vocabulary ?? CharVocabulary(building: text)
        let ids = try vocab.encode(text, source: url.path)
        guard ids.count >= 64 else {
            throw TrainingError.badData(path: url.path, reason: "only \(ids.count) characters", hint: "a corpus needs at least a few thousand characters")
        }
        return (LMData(tokens: ids, vocabSize: vocab.count, valFraction: valFraction), vocab)
    }

    /// B windows of N+1 tokens at uniformly drawn positions of the training split.
    public func sample(batch B: Int, context N: Int, rng: inout SeededRNG) throws -> TrainingBatch {
        guard train.count > N + 1 else {
            throw TrainingError.badConfig(field: "context", value: "\(N)", reason: "the training split has only \(train.count) tokens",
                                          hint: "use a smaller --context or a bigger corpus")
        }
        var xs: [[Int]] = [], ys: [[Int]] = []
        for _ in 0..<B {
            let start = Int(rng.next() % UInt64(train.count - N - 1))
            xs.append(Array(train[start..<(start + N)]))
            ys.append(Array(train[(start + 1)...(start + N)]))
        }
        return .lm(inputs: xs, targets: ys)
    }

    /// Consecutive validation windows (deterministic), at most `maxBatches` batches of B.
    public func validationBatches(batch B: Int, context N: Int, maxBatches: Int) -> [TrainingBatch] {
        var out: [TrainingBatch] = []
        var start = 0
        while out.count < maxBatches {
            var xs: [[Int]] = [], ys: [[Int]] = []
            while xs.count < B && start + N + 1 <= validation.count {
                xs.append(Array(validation[start..<(start + N)]))
                ys.append(Array(validation[(start + 1)...(start + N)]))
                start += N
            }
            if xs.isEmpty { break }
            out.append(.lm(inputs: xs, targets: ys))
            if xs.count < B { break }
        }
        return out
    }
}

/// Encoded classification rows: ids padded with `pad` or cropped to `length`.
public struct ClassificationData: Sendable {
    public var train: [(ids: [Int], label: Int)]
    public var validation: [(ids: [Int], label: Int)]
    public var labels: [String]
    public var length: Int

    /// Rows (text, label) of a GLUE-style TSV with a header naming `sentence` and `label`
    /// columns (SST-2 layout). Labels are sorted to give class indices.
    public static func glue(_ url: URL, encode: (String) throws -> [Int], pad: Int, length: Int,
                            valFraction: Double = 0.1) throws -> ClassificationData {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw TrainingError.badData(path: url.path, reason: "cannot read as UTF-8 text", hint: "give a GLUE TSV file (SST-2 columns: sentence, label)")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard !lines.isEmpty else { throw TrainingError.badData(path: url.path, reason: "empty file", hint: "the first line names the columns") }
        let header = lines.removeFirst().split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard let si = header.firstIndex(of: "sentence"), let li = header.firstIndex(of: "label") else {
            throw TrainingError.badData(path: url.path, reason: "header \(header) has no 'sentence' and 'label' columns", hint: "use the SST-2 layout: sentence<TAB>label")
        }
        var rows: [(String, String)] = []
        for (n, line) in lines.enumerated() {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard cols.count > max(si, li) else {
                throw TrainingError.badData(path: "\(url.path):\(n + 2)", reason: "\(cols.count) columns, header has \(header.count)", hint: "fields are separated by tabs")
            }
            rows.append((cols[si], cols[li]))
        }
        let labels = Set(rows.map { $0.1 }).sorted()
        var encoded: [(ids: [Int], label: Int)] = []
        for (s, l) in rows {
            var ids = Array(try encode(s).prefix(length))
            while ids.count < length { ids.append(pad) }
            encoded.append((ids, labels.firstIndex(of: l)!))
        }
        let cut = encoded.count - max(1, Int(Double(encoded.count) * valFraction))
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
