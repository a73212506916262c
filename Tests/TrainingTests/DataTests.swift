// Data pipeline: the char vocabulary's JSON is what Formats' CharVocab (the inference loader)
// reads; LM windows are shifted by one; sampling repeats from a seed; GLUE rows become classes.
import Foundation
import Testing
import Engine
import Formats
@testable import Training

@Suite struct DataTests {
    @Test func aBuiltVocabularyRoundTripsThroughItsJSON() throws {
        let text = "Once, Ada saw \"an owl\".\nIt is 42!"
        let mine = CharVocab(building: text)
        #expect(mine.chars == Set(text.unicodeScalars.map { String($0) }).sorted())
        let theirs = try CharVocab(data: try mine.jsonData(), file: "vocab.json", unknownCharacter: nil)
        #expect(theirs.vocabSize == mine.count && theirs.chars == mine.chars)
        #expect(try theirs.encode(text).ids == (try mine.ids(text)))
        #expect(theirs.decode(try mine.ids(text)) == text)
    }

    @Test func unknownCharacterIsATypedError() {
        let v = CharVocab(building: "abc")
        #expect(throws: TokenizerError.unknownCharacter(character: "z", offset: 2, file: "x.txt")) { try v.ids("abz", source: "x.txt") }
    }

    @Test func lmWindowsAreShiftedAndSeeded() throws {
        let data = LMData(tokens: Array(0..<1000).map { $0 % 50 }, vocabSize: 50)
        #expect(data.train.count == 900 && data.validation.count == 100)
        var r1 = SeededRNG(seed: 3), r2 = SeededRNG(seed: 3)
        guard case let .lm(x, y) = try data.sample(batch: 4, context: 16, rng: &r1),
              case let .lm(x2, _) = try data.sample(batch: 4, context: 16, rng: &r2) else { Issue.record("not LM"); return }
        #expect(x == x2)
        for (a, b) in zip(x, y) { #expect(Array(a.dropFirst()) == Array(b.dropLast())); #expect(a.count == 16) }
        let val = data.validationBatches(batch: 2, context: 16, maxBatches: 100)
        #expect(val.count == 3)  // 100 tokens → 6 windows of 16 (+1 target) → batches of 2
        var tiny = SeededRNG(seed: 0)
        #expect(throws: TrainingError.self) { try data.sample(batch: 1, context: 2000, rng: &tiny) }
    }

    @Test func glueRowsBecomePaddedClassBatches() throws {
        let dir = Fixture.tempDir("glue")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("train.tsv")
        var rows = "sentence\tlabel\n"
        for i in 0..<20 { rows += (i % 2 == 0 ? "a good day\t1\n" : "bad\t0\n") }
        try rows.write(to: url, atomically: true, encoding: .utf8)
        let v = CharVocab(building: rows)
        let d = try ClassificationData.glue(url, encode: { try v.ids($0) }, pad: 0, length: 6)
        #expect(d.labels == ["0", "1"])
        #expect(d.train.count == 18 && d.validation.count == 2)
        #expect(d.train.allSatisfy { $0.ids.count == 6 })
        #expect(d.train[1].ids == (try v.ids("bad")) + [0, 0, 0])
        try "sentence\tlabel\nx\tmaybe\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: GLUEError.self) { try ClassificationData.glue(url, encode: { try v.ids($0) }, pad: 0, length: 6) }
    }

    /// Hostile GLUE files given to `train`: header only, one data row (both crashed: an empty
    /// training split, then a division by zero), CRLF line ends (refused before; `inspect` reads
    /// them), a test file without labels.
    @Test func glueEdgeFilesAreClearErrorsOrRead() throws {
        let dir = Fixture.tempDir("glue-edge")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("train.tsv")
        let v = CharVocab(building: "abcdefghijklmnopqrstuvwxyz ")
        func load() throws -> ClassificationData { try ClassificationData.glue(url, encode: { try v.ids($0) }, pad: 0, length: 6) }
        try "sentence\tlabel\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: GLUEError.empty(file: url.path)) { try load() }
        try "sentence\tlabel\nabc\t1\n".write(to: url, atomically: true, encoding: .utf8)
        let one = try #require(throws: TrainingError.self) { try load() }
        #expect(one.description.contains("only 1 labelled row"))
        try "sentence\tlabel\r\nabc\t1\r\nde\t0\r\n".write(to: url, atomically: true, encoding: .utf8)
        let crlf = try load()
        #expect(crlf.train.count == 1 && crlf.validation.count == 1)
        #expect(crlf.train[0].ids == (try v.ids("abc")) + [0, 0, 0])
        var rng = SeededRNG(seed: 1)
        if case let .classification(xs, ys) = crlf.sample(batch: 3, rng: &rng) { #expect(xs.count == 3 && ys == [1, 1, 1]) }
        try "index\tsentence\n0\tabc\n1\tde\n".write(to: url, atomically: true, encoding: .utf8)
        let test = try #require(throws: TrainingError.self) { try load() }
        #expect(test.description.contains("no label"))
    }
}
