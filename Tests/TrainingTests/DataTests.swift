// Data pipeline: the char vocabulary's JSON is what Formats' CharVocab (the inference loader)
// reads; LM windows are shifted by one; sampling repeats from a seed; GLUE rows become classes.
import Foundation
import Testing
import Engine
import Formats
@testable import Training

@Suite struct DataTests {
    @Test func charVocabularyRoundTripsThroughFormatsCharVocab() throws {
        let text = "Once, Ada saw \"an owl\".\nIt is 42!"
        let mine = CharVocabulary(building: text)
        let theirs = try CharVocab(data: try mine.jsonData(), file: "vocab.json", unknownCharacter: nil)
        #expect(theirs.vocabSize == mine.count)
        #expect(try theirs.encode(text).ids == (try mine.encode(text)))
        #expect(theirs.decode(try mine.encode(text)) == text)
    }

    @Test func unknownCharacterIsATypedError() {
        let v = CharVocabulary(building: "abc")
        #expect(throws: TrainingError.self) { try v.encode("abz", source: "x.txt") }
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
        let v = CharVocabulary(building: rows)
        let d = try ClassificationData.glue(url, encode: { try v.encode($0) }, pad: 0, length: 6)
        #expect(d.labels == ["0", "1"])
        #expect(d.train.count == 18 && d.validation.count == 2)
        #expect(d.train.allSatisfy { $0.ids.count == 6 })
        #expect(d.train[1].ids == (try v.encode("bad")) + [0, 0, 0])
        try "text\tscore\nx\t1\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: TrainingError.self) { try ClassificationData.glue(url, encode: { try v.encode($0) }, pad: 0, length: 6) }
    }
}
