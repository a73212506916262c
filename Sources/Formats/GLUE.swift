// GLUE: the TSV files of the nine GLUE tasks (CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE,
// WNLI) as GLUE's download script lays them out, read into rows of (sentence, pair, gold
// label). Also the `FILE:ROW` syntax and recognising the task from the folder name. It does
// not tokenize and does not compute GLUE metrics.
//
// Reading rules (as transformers' glue processors read the files, csv with QUOTE_NONE):
//   - fields are separated by tabs; a '"' is data, never a quote;
//   - the first line is a header, except in CoLA's train/dev files;
//   - "\r\n" line ends and a UTF-8 BOM (MRPC has one) are accepted; blank lines are skipped;
//   - rows count from 0 over data lines (a header is not a row).
//
// Column layouts (0-based; train/dev files, then test files that have no label):
//   CoLA   4: source, label, original mark, sentence            a=3 label=1 | test 2: index, sentence
//   SST-2  2: sentence, label                                     a=0 label=1 | test 2: index, sentence
//   MRPC   5: Quality, #1 ID, #2 ID, #1 String, #2 String         a=3 b=4 label=0 | test: index instead of Quality
//   STS-B 10: index, genre, filename, year, old_index, source1, source2, sentence1, sentence2, score
//                                                                 a=7 b=8 score=9 | test 9 (no score)
//   QQP    6: id, qid1, qid2, question1, question2, is_duplicate a=3 b=4 label=5 | test 3: id, question1, question2
//   MNLI  16 (dev_matched/dev_mismatched): index, promptID, pairID, genre, sentence1_binary_parse,
//            sentence2_binary_parse, sentence1_parse, sentence2_parse, sentence1, sentence2,
//            label1, label2, label3, label4, label5, gold_label  a=8 b=9 label=15
//         12 (train): … sentence1, sentence2, label1, gold_label   a=8 b=9 label=11 | test 10
//   QNLI   4: index, question, sentence, label                    a=1 b=2 label=3 | test 3
//   RTE    4: index, sentence1, sentence2, label                  a=1 b=2 label=3 | test 3
//   WNLI   4: index, sentence1, sentence2, label                  a=1 b=2 label=3 | test 3

import Foundation

/// One of the nine GLUE tasks.
public enum GLUETask: String, CaseIterable, Sendable {
    case cola = "CoLA", sst2 = "SST-2", mrpc = "MRPC", stsb = "STS-B", qqp = "QQP"
    case mnli = "MNLI", qnli = "QNLI", rte = "RTE", wnli = "WNLI"

    /// A task from its name, ignoring case and the dash: "sst2", "SST-2", "sts-b", "mnli".
    public init?(name: String) {
        let key = name.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "_", with: "")
        guard let t = GLUETask.allCases.first(where: { $0.rawValue.lowercased().replacingOccurrences(of: "-", with: "") == key }) else {
            return nil
        }
        self = t
    }

    /// The task named by a GLUE path: the nearest folder called like a task
    /// (`…/MRPC/dev.tsv`, `glue_data/sst-2/train.tsv`), or an MNLI file name (`dev_matched.tsv`).
    public static func recognise(path: String) -> GLUETask? {
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent.lowercased()
        for folder in url.deletingLastPathComponent().pathComponents.reversed() {
            if let t = GLUETask(name: folder) { return t }
        }
        if name.hasPrefix("dev_matched") || name.hasPrefix("dev_mismatched") || name.hasPrefix("test_matched") || name.hasPrefix("test_mismatched") {
            return .mnli
        }
        return nil
    }

    /// Gold labels as written in the files, in label-index order (the order of the HF `glue`
    /// dataset's ClassLabel features). Empty for STS-B, whose label is a score in [0, 5].
    public var labels: [String] {
        switch self {
        case .cola, .sst2, .mrpc, .qqp, .wnli: return ["0", "1"]
        case .mnli: return ["entailment", "neutral", "contradiction"]
        case .qnli, .rte: return ["entailment", "not_entailment"]
        case .stsb: return []
        }
    }

    /// Readable names of `labels` (HF `glue` dataset feature names).
    public var labelNames: [String] {
        switch self {
        case .cola: return ["unacceptable", "acceptable"]
        case .sst2: return ["negative", "positive"]
        case .mrpc: return ["not_equivalent", "equivalent"]
        case .qqp: return ["not_duplicate", "duplicate"]
        case .wnli: return ["not_entailment", "entailment"]
        case .mnli, .qnli, .rte: return labels
        case .stsb: return []
        }
    }

    /// True for the tasks whose rows are sentence pairs.
    public var isPair: Bool { !(self == .cola || self == .sst2) }

    /// STS-B: the label is a similarity score, not a class.
    public var isRegression: Bool { self == .stsb }

    /// The usual dev file name of the task's folder.
    public var devFileName: String { self == .mnli ? "dev_matched.tsv" : "dev.tsv" }
}

/// Where the columns of one file layout are.
struct GLUELayout: Sendable {
    var name: String
    var columns: Int
    var a: Int
    var b: Int?
    var label: Int?
}

extension GLUETask {
    /// Labelled layouts first, then test layouts.
    var layouts: [GLUELayout] {
        switch self {
        case .cola: return [GLUELayout(name: "train/dev", columns: 4, a: 3, label: 1), GLUELayout(name: "test", columns: 2, a: 1)]
        case .sst2: return [GLUELayout(name: "train/dev", columns: 2, a: 0, label: 1), GLUELayout(name: "test", columns: 2, a: 1)]
        case .mrpc: return [GLUELayout(name: "train/dev", columns: 5, a: 3, b: 4, label: 0), GLUELayout(name: "test", columns: 5, a: 3, b: 4)]
        case .stsb: return [GLUELayout(name: "train/dev", columns: 10, a: 7, b: 8, label: 9), GLUELayout(name: "test", columns: 9, a: 7, b: 8)]
        case .qqp: return [GLUELayout(name: "train/dev", columns: 6, a: 3, b: 4, label: 5), GLUELayout(name: "test", columns: 3, a: 1, b: 2)]
        case .mnli: return [GLUELayout(name: "dev", columns: 16, a: 8, b: 9, label: 15), GLUELayout(name: "train", columns: 12, a: 8, b: 9, label: 11),
                            GLUELayout(name: "test", columns: 10, a: 8, b: 9)]
        case .qnli, .rte, .wnli: return [GLUELayout(name: "train/dev", columns: 4, a: 1, b: 2, label: 3), GLUELayout(name: "test", columns: 3, a: 1, b: 2)]
        }
    }
}

/// One example of a GLUE file.
public struct GLUERow: Equatable, Sendable {
    /// Data row number, from 0 (the header is not a row).
    public var row: Int
    /// 1-based line number in the file.
    public var line: Int
    /// The sentence (first sentence of a pair).
    public var text: String
    /// The second sentence of a pair task.
    public var textPair: String?
    /// The gold label exactly as written ("entailment", "1", "3.800"); nil in test files.
    public var label: String?
    /// Position of `label` in `GLUETask.labels`; nil for STS-B and test files.
    public var labelIndex: Int?
    /// STS-B's similarity score.
    public var score: Double?
}

/// An error reading a GLUE file or a FILE:ROW reference.
public enum GLUEError: Error, Equatable, CustomStringConvertible, Sendable {
    case unreadable(file: String, reason: String)
    case invalidUTF8(file: String, offset: Int)
    case unknownTask(file: String)
    case badTaskName(String)
    case empty(file: String)
    /// The header (or CoLA's first line) fits none of the task's layouts.
    case badLayout(file: String, task: String, found: Int, expected: [Int])
    case columnCount(file: String, line: Int, expected: Int, found: Int)
    case unknownLabel(file: String, line: Int, label: String, expected: [String])
    case badScore(file: String, line: Int, value: String)
    case rowOutOfRange(file: String, row: Int, count: Int)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "cannot read GLUE file '\(file)': \(reason). Hint: check the path; FILE:ROW takes the row after the last ':'."
        case let .invalidUTF8(file, offset):
            return "GLUE file '\(file)' is not valid UTF-8 at byte offset \(offset). Hint: GLUE files are UTF-8; was it re-saved in another encoding?"
        case let .unknownTask(file):
            return "cannot tell the GLUE task of '\(file)' from its folder. Hint: put it in a folder named after the task (e.g. MRPC/dev.tsv) or pass --task (\(GLUETask.allCases.map(\.rawValue).joined(separator: ", ")))."
        case let .badTaskName(name):
            return "'\(name)' is not a GLUE task. Hint: one of \(GLUETask.allCases.map(\.rawValue).joined(separator: ", "))."
        case let .empty(file):
            return "GLUE file '\(file)' has no data rows. Hint: is it the right file?"
        case let .badLayout(file, task, found, expected):
            return "GLUE file '\(file)': the first line has \(found) columns, but \(task) files have \(expected.map(String.init).joined(separator: " or ")). Hint: is this a \(task) file? Pass --task if the folder name is misleading."
        case let .columnCount(file, line, expected, found):
            return "GLUE file '\(file)' line \(line): expected \(expected) tab-separated columns, found \(found). Hint: a tab inside a sentence, or a line cut short?"
        case let .unknownLabel(file, line, label, expected):
            return "GLUE file '\(file)' line \(line): label '\(label)' is not one of \(expected.joined(separator: ", ")). Hint: wrong --task?"
        case let .badScore(file, line, value):
            return "GLUE file '\(file)' line \(line): score '\(value)' is not a number. Hint: STS-B's last column is a similarity score such as 3.800."
        case let .rowOutOfRange(file, row, count):
            return "row \(row) does not exist in '\(file)', which has \(count) data rows (0-\(max(count - 1, 0))). Hint: rows count from 0 and the header is not a row."
        }
    }
}

/// A `FILE[:ROW]` reference. The row is the part after the LAST ':' when it is all digits, so
/// paths with ':' in them still work.
public struct GLUERowSpec: Equatable, Sendable {
    public var path: String
    public var row: Int?

    public init(path: String, row: Int? = nil) {
        self.path = path
        self.row = row
    }

    public static func parse(_ s: String) -> GLUERowSpec {
        if let colon = s.lastIndex(of: ":") {
            let tail = s[s.index(after: colon)...]
            if !tail.isEmpty, tail.allSatisfy({ $0.isASCII && $0.isNumber }), let row = Int(tail), colon != s.startIndex {
                return GLUERowSpec(path: String(s[..<colon]), row: row)
            }
        }
        return GLUERowSpec(path: s, row: nil)
    }
}

/// A whole GLUE TSV file.
public struct GLUEFile: Sendable {
    public let path: String
    public let task: GLUETask
    /// The header's columns (CoLA train/dev: none).
    public let header: [String]?
    public let rows: [GLUERow]

    /// Reads a GLUE file.
    /// - Parameter task: the task; nil = recognised from the path (`GLUETask.recognise`).
    /// - Throws: `GLUEError` for unreadable files, unknown tasks, wrong column counts (with the
    ///   line number), labels outside the task's label set and STS-B scores that are not numbers.
    public static func load(path: String, task: GLUETask? = nil) throws -> GLUEFile {
        // The file first: a missing file is the problem to report, not the task of its folder.
        let data: Data
        do { data = try RegularFile.read(path, maxBytes: 4 << 30, what: "a GLUE file") } catch let e as FormatError {
            throw GLUEError.unreadable(file: path, reason: e.ioReason)
        }
        guard let task = task ?? GLUETask.recognise(path: path) else { throw GLUEError.unknownTask(file: path) }
        return try parse(data, path: path, task: task)
    }

    /// Parses GLUE TSV content; `path` is used in messages.
    public static func parse(_ data: Data, path: String, task: GLUETask) throws -> GLUEFile {
        var bytes = [UInt8](data)
        let bom = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        if bom > 0 { bytes.removeFirst(3) }
        if let bad = firstInvalidUTF8(bytes) { throw GLUEError.invalidUTF8(file: path, offset: bad + bom) }
        // (line number, fields) of every non-blank line. Split on the bytes "\n" and "\t", not on
        // Characters: Swift treats "\r\n" as one Character.
        var lines: [(Int, [String])] = []
        for (i, raw) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            var line = raw
            if line.last == 0x0D { line = line.dropLast() }
            if line.isEmpty { continue }
            lines.append((i + 1, line.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }))
        }
        guard let first = lines.first else { throw GLUEError.empty(file: path) }

        // Pick the layout from the first line: CoLA train/dev have no header.
        let layouts = task.layouts
        var header: [String]? = first.1
        var layout: GLUELayout
        if task == .cola && !(first.1.count == 2 && first.1[0].lowercased() == "index") {
            header = nil
            layout = layouts[0]
        } else {
            let fitting = layouts.filter { $0.columns == first.1.count }
            guard !fitting.isEmpty else {
                throw GLUEError.badLayout(file: path, task: task.rawValue, found: first.1.count, expected: Array(Set(layouts.map(\.columns))).sorted(by: >))
            }
            // SST-2 and MRPC test files have as many columns as train/dev; they start with "index".
            let isTest = first.1.first?.lowercased() == "index" && (task == .sst2 || task == .mrpc)
            layout = fitting.first { isTest ? $0.label == nil : true } ?? fitting[0]
        }
        let dataLines = header == nil ? lines[...] : lines.dropFirst()
        var rows: [GLUERow] = []
        rows.reserveCapacity(dataLines.count)
        for (lineNumber, f) in dataLines {
            guard f.count == layout.columns else {
                throw GLUEError.columnCount(file: path, line: lineNumber, expected: layout.columns, found: f.count)
            }
            var row = GLUERow(row: rows.count, line: lineNumber, text: f[layout.a], textPair: layout.b.map { f[$0] })
            if let li = layout.label {
                let label = f[li]
                row.label = label
                if task.isRegression {
                    guard let s = Double(label.trimmingCharacters(in: .whitespaces)), s.isFinite else {
                        throw GLUEError.badScore(file: path, line: lineNumber, value: label)
                    }
                    row.score = s
                } else {
                    guard let k = task.labels.firstIndex(of: label) else {
                        throw GLUEError.unknownLabel(file: path, line: lineNumber, label: label, expected: task.labels)
                    }
                    row.labelIndex = k
                }
            }
            rows.append(row)
        }
        if rows.isEmpty { throw GLUEError.empty(file: path) }
        return GLUEFile(path: path, task: task, header: header, rows: rows)
    }

    /// The row numbered `row` (from 0).
    /// - Throws: `GLUEError.rowOutOfRange` naming the number of rows.
    public func row(_ row: Int) throws -> GLUERow {
        guard row >= 0 && row < rows.count else { throw GLUEError.rowOutOfRange(file: path, row: row, count: rows.count) }
        return rows[row]
    }

    /// Reads the row a `FILE[:ROW]` reference names (row 0 when none is given).
    /// - Parameter task: a task name (e.g. from `--task`); nil = recognised from the path.
    public static func row(_ reference: String, task: String? = nil) throws -> (GLUEFile, GLUERow) {
        let spec = GLUERowSpec.parse(reference)
        var t: GLUETask? = nil
        if let task {
            guard let named = GLUETask(name: task) else { throw GLUEError.badTaskName(task) }
            t = named
        }
        let file = try load(path: spec.path, task: t)
        return (file, try file.row(spec.row ?? 0))
    }
}
