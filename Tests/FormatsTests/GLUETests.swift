// GLUE reader tests: the example file of every task (Examples/glue, written for spikescope) gives
// the sentence, pair and gold label of chosen rows; FILE:ROW parsing; task recognition; and the
// error messages for broken files. Expected values are the sentences as written in the examples.

import Foundation
import Testing
@testable import Formats

enum GLUEExamples {
    static let root = TokenizerFixtures.packageRoot.appendingPathComponent("Examples/glue")
    static func path(_ task: String, _ file: String = "dev.tsv") -> String {
        root.appendingPathComponent(task).appendingPathComponent(file).path
    }
}

struct GLUEExpectation: CustomStringConvertible, Sendable {
    var folder: String, file: String, row: Int
    var text: String, pair: String?, label: String, labelIndex: Int?, score: Double?
    var description: String { "\(folder)/\(file):\(row)" }
}

@Suite("GLUE TSV")
struct GLUETests {
    static let expectations: [GLUEExpectation] = [
        .init(folder: "CoLA", file: "dev.tsv", row: 0, text: "The cat slept on the warm windowsill.", pair: nil, label: "1", labelIndex: 1, score: nil),
        .init(folder: "CoLA", file: "dev.tsv", row: 3, text: "Which book did you say that Maria borrowed it?", pair: nil, label: "0", labelIndex: 0, score: nil),
        .init(folder: "CoLA", file: "dev.tsv", row: 10, text: "He said \"good morning\" to nobody in particular.", pair: nil, label: "1", labelIndex: 1, score: nil),
        .init(folder: "SST-2", file: "dev.tsv", row: 0, text: "overall the animation seemed warm to me .", pair: nil, label: "1", labelIndex: 1, score: nil),
        .init(folder: "SST-2", file: "dev.tsv", row: 3, text: "my friends resented the sequel , and so did i .", pair: nil, label: "0", labelIndex: 0, score: nil),
        .init(folder: "MRPC", file: "dev.tsv", row: 1, text: "The bridge will close for repairs in March.", pair: "The bridge was opened to traffic for the first time in March.", label: "0", labelIndex: 0, score: nil),
        .init(folder: "MRPC", file: "dev.tsv", row: 2, text: "Shares of the company rose 4 percent after the report.", pair: "After the report, the company's stock climbed 4 percent.", label: "1", labelIndex: 1, score: nil),
        .init(folder: "STS-B", file: "dev.tsv", row: 4, text: "The stock market fell sharply today.", pair: "Markets dropped steeply on Monday.", label: "3.250", labelIndex: nil, score: 3.25),
        .init(folder: "STS-B", file: "dev.tsv", row: 2, text: "A dog runs across the field.", pair: "A child is reading a book indoors.", label: "0.000", labelIndex: nil, score: 0),
        .init(folder: "QQP", file: "dev.tsv", row: 6, text: "Who wrote \"War and Peace\"?", pair: "Who painted the Mona Lisa?", label: "0", labelIndex: 0, score: nil),
        .init(folder: "QQP", file: "dev.tsv", row: 0, text: "How do I learn to cook rice properly?", pair: "What is the right way to cook rice?", label: "1", labelIndex: 1, score: nil),
        .init(folder: "MNLI", file: "dev_matched.tsv", row: 1, text: "The agency will publish its annual report in May.", pair: "The agency has stopped publishing reports.", label: "contradiction", labelIndex: 2, score: nil),
        .init(folder: "MNLI", file: "dev_matched.tsv", row: 5, text: "She closed the window because of the noise.", pair: "The street outside was busy.", label: "neutral", labelIndex: 1, score: nil),
        .init(folder: "MNLI", file: "dev_matched.tsv", row: 6, text: "Ferries leave the harbour every two hours.", pair: "There is a ferry service from the harbour.", label: "entailment", labelIndex: 0, score: nil),
        .init(folder: "QNLI", file: "dev.tsv", row: 3, text: "Who founded the library?", pair: "The library holds more than a million books.", label: "not_entailment", labelIndex: 1, score: nil),
        .init(folder: "RTE", file: "dev.tsv", row: 2, text: "Anna, a nurse from Oslo, won the marathon on Sunday.", pair: "A nurse won the marathon.", label: "entailment", labelIndex: 0, score: nil),
        .init(folder: "RTE", file: "dev.tsv", row: 5, text: "The mayor announced plans for a new park.", pair: "The new park has already opened.", label: "not_entailment", labelIndex: 1, score: nil),
        .init(folder: "WNLI", file: "dev.tsv", row: 1, text: "The trophy did not fit in the case because it was too small.", pair: "The trophy was too small.", label: "0", labelIndex: 0, score: nil),
        .init(folder: "WNLI", file: "dev.tsv", row: 6, text: "Lena lent her umbrella to Ana because it was raining and she had none.", pair: "Ana had no umbrella.", label: "1", labelIndex: 1, score: nil),
    ]

    @Test("every task's example file: sentence, pair and gold label of a row", arguments: expectations)
    func exampleRow(_ x: GLUEExpectation) throws {
        let (file, row) = try GLUEFile.row(GLUEExamples.path(x.folder, x.file) + ":\(x.row)")
        #expect(file.task == GLUETask(name: x.folder))
        #expect(row.row == x.row)
        #expect(row.text == x.text)
        #expect(row.textPair == x.pair)
        #expect(row.label == x.label)
        #expect(row.labelIndex == x.labelIndex)
        #expect(row.score == x.score)
    }

    @Test("all nine tasks have an example dev file with 6-20 rows")
    func allNineTasks() throws {
        for task in GLUETask.allCases {
            let f = try GLUEFile.load(path: GLUEExamples.path(task.rawValue, task.devFileName))
            #expect(f.task == task)
            #expect((6...20).contains(f.rows.count) || task == .sst2, "\(task): \(f.rows.count) rows")
            #expect(f.rows.allSatisfy { ($0.textPair != nil) == task.isPair }, "\(task): pair presence")
            #expect(f.rows.allSatisfy { task.isRegression ? $0.score != nil : $0.labelIndex != nil }, "\(task): labels")
        }
    }

    @Test("CoLA has no header: the first line is row 0; MNLI dev has 16 columns")
    func headers() throws {
        let cola = try GLUEFile.load(path: GLUEExamples.path("CoLA"))
        #expect(cola.header == nil)
        #expect(cola.rows[0].line == 1)
        let mnli = try GLUEFile.load(path: GLUEExamples.path("MNLI", "dev_matched.tsv"))
        #expect(mnli.header?.count == 16)
        #expect(mnli.header?.last == "gold_label")
        #expect(mnli.rows[0].line == 2)
    }

    @Test("SST-2 training examples: 600 rows, balanced, disjoint from dev")
    func sst2Train() throws {
        let train = try GLUEFile.load(path: GLUEExamples.path("SST-2", "train.tsv"))
        let dev = try GLUEFile.load(path: GLUEExamples.path("SST-2", "dev.tsv"))
        #expect(train.rows.count == 600)
        #expect(train.rows.filter { $0.labelIndex == 1 }.count == 300)
        #expect(Set(train.rows.map(\.text)).isDisjoint(with: dev.rows.map(\.text)))
    }

    @Test("task recognised from the folder or MNLI file name", arguments: [
        ("glue_data/MRPC/dev.tsv", GLUETask.mrpc), ("x/sst-2/train.tsv", .sst2), ("x/SST2/dev.tsv", .sst2),
        ("/data/STS-B/dev.tsv", .stsb), ("MNLI/dev_mismatched.tsv", .mnli), ("somewhere/dev_matched.tsv", .mnli),
        ("CoLA/original/raw/in_domain_dev.tsv", .cola), ("rte/dev.tsv", .rte),
    ])
    func recognise(_ path: String, _ task: GLUETask) {
        #expect(GLUETask.recognise(path: path) == task)
    }

    @Test("an unrecognisable path is an error that suggests --task")
    func unknownTask() throws {
        #expect(GLUETask.recognise(path: "data/dev.tsv") == nil)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ss-glue-\(UUID().uuidString)/data")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let file = dir.appendingPathComponent("dev.tsv").path
        try "sentence\tlabel\ngood\t1\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: GLUEError.unknownTask(file: file)) { try GLUEFile.load(path: file) }
        #expect(GLUEError.unknownTask(file: "data/dev.tsv").description.contains("--task"))
        // A missing file is reported as missing, before its folder's task is even looked at.
        #expect(throws: GLUEError.unreadable(file: "data/missing.tsv", reason: "no such file")) { try GLUEFile.load(path: "data/missing.tsv") }
    }

    @Test("FILE:ROW takes the row after the last colon", arguments: [
        ("MRPC/dev.tsv:3", "MRPC/dev.tsv", 3 as Int?), ("MRPC/dev.tsv", "MRPC/dev.tsv", nil),
        ("C:/glue/RTE/dev.tsv:12", "C:/glue/RTE/dev.tsv", 12), ("/data/a:b/QNLI/dev.tsv", "/data/a:b/QNLI/dev.tsv", nil),
        ("dev.tsv:x1", "dev.tsv:x1", nil), ("dev.tsv:0", "dev.tsv", 0), (":7", ":7", nil),
    ])
    func rowSpec(_ s: String, _ path: String, _ row: Int?) {
        #expect(GLUERowSpec.parse(s) == GLUERowSpec(path: path, row: row))
    }

    @Test("a --task name overrides the folder; a bad name is refused")
    func explicitTask() throws {
        // RTE and WNLI share a layout; WNLI labels are 0/1, so RTE rows are refused as WNLI.
        #expect(throws: GLUEError.unknownLabel(file: GLUEExamples.path("RTE"), line: 2, label: "entailment", expected: ["0", "1"])) {
            try GLUEFile.row(GLUEExamples.path("RTE") + ":1", task: "wnli")
        }
        let (f, r) = try GLUEFile.row(GLUEExamples.path("WNLI") + ":1", task: "WNLI")
        #expect(f.task == .wnli && r.labelIndex == 0)
        #expect(throws: GLUEError.badTaskName("glue")) { try GLUEFile.row(GLUEExamples.path("RTE"), task: "glue") }
    }

    @Test("error messages", arguments: [
        (GLUEError.columnCount(file: "MRPC/dev.tsv", line: 7, expected: 5, found: 4),
         "GLUE file 'MRPC/dev.tsv' line 7: expected 5 tab-separated columns, found 4. Hint: a tab inside a sentence, or a line cut short?"),
        (GLUEError.rowOutOfRange(file: "RTE/dev.tsv", row: 9, count: 7),
         "row 9 does not exist in 'RTE/dev.tsv', which has 7 data rows (0-6). Hint: rows count from 0 and the header is not a row."),
        (GLUEError.badLayout(file: "MNLI/dev_matched.tsv", task: "MNLI", found: 4, expected: [16, 12, 10]),
         "GLUE file 'MNLI/dev_matched.tsv': the first line has 4 columns, but MNLI files have 16 or 12 or 10. Hint: is this a MNLI file? Pass --task if the folder name is misleading."),
    ])
    func messages(_ e: GLUEError, _ text: String) {
        #expect(e.description == text)
    }

    @Test("a row with a missing column names the file, line and counts")
    func wrongColumnCount() {
        let tsv = "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\tonly one\tnot_entailment\n"
        #expect(throws: GLUEError.columnCount(file: "RTE/dev.tsv", line: 3, expected: 4, found: 3)) {
            try GLUEFile.parse(Data(tsv.utf8), path: "RTE/dev.tsv", task: .rte)
        }
    }

    @Test("labels outside the task's set and non-numeric scores are refused")
    func badLabels() {
        let rte = "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tmaybe\n"
        #expect(throws: GLUEError.unknownLabel(file: "f", line: 2, label: "maybe", expected: ["entailment", "not_entailment"])) {
            try GLUEFile.parse(Data(rte.utf8), path: "f", task: .rte)
        }
        let sts = "h\th\th\th\th\th\th\th\th\th\n0\tg\tf\ty\to\ts\ts\ta\tb\thigh\n"
        #expect(throws: GLUEError.badScore(file: "f", line: 2, value: "high")) {
            try GLUEFile.parse(Data(sts.utf8), path: "f", task: .stsb)
        }
    }

    @Test("quotes are data, CRLF and a BOM are accepted, blank lines skipped, row out of range")
    func reading() throws {
        let tsv = "\u{FEFF}Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n1\t1\t2\t\"Quoted\" start\tend \"quote\r\n\r\n0\t3\t4\ta\"b\tc\r\n"
        let f = try GLUEFile.parse(Data(tsv.utf8), path: "MRPC/dev.tsv", task: .mrpc)
        #expect(f.header?.first == "Quality")
        #expect(f.rows.count == 2)
        #expect(f.rows[0].text == "\"Quoted\" start")
        #expect(f.rows[0].textPair == "end \"quote")
        #expect(f.rows[1].text == "a\"b" && f.rows[1].line == 4)
        #expect(throws: GLUEError.rowOutOfRange(file: "MRPC/dev.tsv", row: 2, count: 2)) { try f.row(2) }
        #expect(throws: GLUEError.invalidUTF8(file: "x", offset: 5)) {
            try GLUEFile.parse(Data([0x61, 0x09, 0x62, 0x09, 0x63, 0xFF]), path: "x", task: .cola)
        }
    }

    @Test("test files without labels (SST-2 index/sentence, QNLI 3 columns)")
    func testFiles() throws {
        let sst = try GLUEFile.parse(Data("index\tsentence\n0\tfine film .\n".utf8), path: "t", task: .sst2)
        #expect(sst.rows[0].text == "fine film ." && sst.rows[0].label == nil)
        let qnli = try GLUEFile.parse(Data("index\tquestion\tsentence\n0\tq?\ts.\n".utf8), path: "t", task: .qnli)
        #expect(qnli.rows[0].text == "q?" && qnli.rows[0].textPair == "s." && qnli.rows[0].labelIndex == nil)
    }
}
