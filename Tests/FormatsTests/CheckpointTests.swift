// Tests of the unified entry point: format detection by magic bytes, folders, WeightSet.require
// messages, ModelFiles and JSONValue. Also holds the fixture helpers the other checkpoint tests use.

import Engine
import Foundation
import Testing
import TestSupport
@testable import Formats

/// Committed fixtures (written by Tests/Reference/make_checkpoint_fixtures.py).
enum Fixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static func path(_ name: String) -> String { folder + "/" + name }
    static func bytes(_ name: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path(name)) ?? Data()) }

    /// Expected values: name -> (shape, float32 bit patterns or integers), read with Foundation's
    /// JSONSerialization (not our parser) so the reference is independent of the code under test.
    struct Expected { let shape: [Int]; let bits: [UInt32]?; let ints: [Int]? }
    static func expected(_ stem: String) throws -> [String: Expected] {
        let data = try #require(FileManager.default.contents(atPath: path(stem + ".expected.json")))
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        var out: [String: Expected] = [:]
        for (k, v) in obj {
            let shape = (v["shape"] as? [NSNumber] ?? []).map(\.intValue)
            let bits = (v["bits"] as? [NSNumber])?.map(\.uint32Value)
            let ints = (v["ints"] as? [NSNumber])?.map(\.intValue)
            out[k] = Expected(shape: shape, bits: bits, ints: ints)
        }
        return out
    }
}

/// A fresh temporary folder for one test.
func makeTempFolder(_ tag: String) throws -> String {
    let p = FileManager.default.temporaryDirectory.appendingPathComponent("spikescope-\(tag)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
    return p
}

/// The error thrown by `body`, as a FormatError (fails the test when none or another type is thrown).
func formatError(_ body: () throws -> Void) -> FormatError? {
    do { try body() } catch let e as FormatError { return e } catch { Issue.record("not a FormatError: \(error)"); return nil }
    Issue.record("no error thrown")
    return nil
}

func bitsOf(_ t: Tensor) -> [UInt32] { t.values.map(\.bitPattern) }

@Suite struct CheckpointTests {
    @Test func detectsFormatByMagicNotExtension() throws {
        let dir = try makeTempFolder("detect")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A safetensors file named .pth and a zip named .safetensors.
        try FileManager.default.copyItem(atPath: Fixture.path("small.pth"), toPath: dir + "/weights.safetensors")
        try FileManager.default.copyItem(atPath: Fixture.path("nested.safetensors"), toPath: dir + "/weights.pth")
        #expect(try Checkpoint.load(dir + "/weights.safetensors").format == .pytorchZip)
        #expect(try Checkpoint.load(dir + "/weights.pth").format == .safetensors)
    }

    @Test func folderResolvesToWeightsFile() throws {
        let dir = try makeTempFolder("folder")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: Fixture.path("spikegpt_tiny.pth"), toPath: dir + "/spikegpt.pth")
        try Data("{\"hidden_size\": 8, \"n_layer\": 2}".utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/20B_tokenizer.json"))
        try Data("[PAD]\n".utf8).write(to: URL(fileURLWithPath: dir + "/vocab.txt"))
        let w = try Checkpoint.load(dir)
        #expect(w.path == dir + "/spikegpt.pth")
        #expect(w.shape(of: "emb.weight") == [11, 8])
        let files = try ModelFiles.locate(dir)
        #expect(files.weights == dir + "/spikegpt.pth")
        #expect(files.config == dir + "/config.json")
        #expect(files.tokenizerJSON == dir + "/20B_tokenizer.json")
        #expect(files.vocabTxt == dir + "/vocab.txt")
        #expect(files.charVocab == nil)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/vocab_book.json"))
        #expect(try ModelFiles.locate(dir).charVocab == dir + "/vocab_book.json")
        #expect(try files.loadConfig()?["hidden_size"]?.int == 8)
        // Given the weights file itself, the same neighbours are found.
        #expect(try ModelFiles.locate(dir + "/spikegpt.pth").config == dir + "/config.json")
        // Two candidate weight files and no standard name: refused with both names.
        try FileManager.default.copyItem(atPath: Fixture.path("small.pth"), toPath: dir + "/other.pth")
        let e = formatError { _ = try Checkpoint.load(dir) }
        #expect(e?.description.contains("other.pth") == true)
    }

    // Messages pinned as in STYLE.md ("Errors").
    @Test(arguments: [
        (FormatError.tensorShape(tensor: "blocks.3.att.key.weight", found: [768, 512], expected: [768, 768],
                                 why: "C from config.json", hint: "a SpikeBERT checkpoint?"),
         "tensor 'blocks.3.att.key.weight' is [768, 512], expected [768, 768] (C from config.json). Hint: a SpikeBERT checkpoint?"),
        (FormatError.legacyTorchFormat(path: "m.pth"),
         "m.pth: legacy pre-1.6 torch format; re-save with torch.save(..., _use_new_zipfile_serialization=True)."),
        (FormatError.tensorOverlap(path: "x.safetensors", tensor: "b", other: "a", offset: 8),
         "x.safetensors: tensor 'b' overlaps tensor 'a' at data offset 8. Hint: the header is corrupt or was written by hand."),
    ])
    func messages(_ e: FormatError, _ text: String) {
        #expect(e.description == text)
        #expect(!e.description.contains("\n"))
    }

    @Test func requireChecksNameAndShape() throws {
        let w = try Checkpoint.load(Fixture.path("spikegpt_tiny.safetensors"))
        #expect(try w.require("blocks.1.ffn.key.weight", shape: [32, 8]).shape == [32, 8])
        let e = formatError { _ = try w.require("blocks.1.ffn.key.weight", shape: [8, 8], why: "C from config.json", hint: "n_embd?") }
        #expect(e?.description == "tensor 'blocks.1.ffn.key.weight' is [32, 8], expected [8, 8] (C from config.json). Hint: n_embd?")
        let m = formatError { _ = try w.require("blocks.9.att.key.weight", shape: [8, 8]) }
        #expect(m?.description.contains("blocks.9.att.key.weight") == true)
        #expect(m?.description.contains("spikegpt_tiny.safetensors") == true)
    }

    @Test func jsonValueParsesLikeFoundation() throws {
        let text = #"{"z": 1, "a": [true, false, null, -2.5e3, "é\u00e9\ud83d\ude00\n"], "hidden_size": 384, "nested": {"k": []}}"#
        let v = try Array(text.utf8).withUnsafeBytes { try JSONValue.parse($0, path: "t.json") }
        #expect(v.object?.map(\.key) == ["z", "a", "hidden_size", "nested"])  // order kept
        #expect(v["hidden_size"]?.int == 384)
        #expect(v["a"]?[3]?.double == -2500)
        #expect(v["a"]?[3]?.int == -2500)
        #expect(v["a"]?[2]?.isNull == true)
        let ref = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(v["a"]?[4]?.string == (ref?["a"] as? [Any])?[4] as? String)
        // Round trip through our writer and Foundation.
        let back = try JSONSerialization.jsonObject(with: Data(v.serialized().utf8)) as? NSDictionary
        #expect(back == (ref as NSDictionary?))
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,]", "\"\\x\"", "01", "{\"a\" 1}", "\"\\ud800\"", "nul", "[1] 2"])
    func jsonValueRejects(_ text: String) {
        let e = formatError { _ = try Array(text.utf8).withUnsafeBytes { try JSONValue.parse($0, path: "bad.json") } }
        #expect(e?.description.hasPrefix("bad.json: invalid JSON at offset") == true)
    }

    @Test func jsonDepthIsCapped() {
        let deep = String(repeating: "[", count: 100_000)
        let e = formatError { _ = try Array(deep.utf8).withUnsafeBytes { try JSONValue.parse($0, path: "deep.json") } }
        #expect(e?.description.contains("nested deeper") == true)
    }
}

/// The real all-MiniLM-L6-v2 (fetched on first use into <package root>/.downloads/minilm).
/// Expected values were read with the Python `safetensors` package (numpy backend):
/// 104 tensors, one of them I64 (position_ids); word_embeddings [30522, 384], first four bit
/// patterns 0xbca3c000 0xbb5f0000 0xbc708000 0x3c3fc000, float64 sum 138.05072214923618.
@Suite struct RealModelTests {
    @Test func miniLMLoadsFromItsFolder() throws {
        // Never skipped: a missing checkpoint is fetched, and a failed fetch fails the test.
        let dir = try TestData.minilm().path
        let files = try ModelFiles.locate(dir)
        let config = try #require(try files.loadConfig())
        let c = try #require(config["hidden_size"]?.int), v = try #require(config["vocab_size"]?.int)
        let w = try Checkpoint.load(dir)
        #expect(w.count + w.skipped.count == 104)
        #expect(w.skipped.map(\.name) == ["embeddings.position_ids"])
        let emb = try w.require("embeddings.word_embeddings.weight", shape: [v, c], why: "V, C from config.json")
        #expect(emb.values.prefix(4).map(\.bitPattern) == [0xBCA3_C000, 0xBB5F_0000, 0xBC70_8000, 0x3C3F_C000])
        let sum = emb.values.reduce(0.0) { $0 + Double($1) }
        // numpy sums pairwise, this sums in order, both in float64 over 11.7M values whose
        // absolute sum is about 3e5: rounding differences stay far below 1e-6 (a wrong value,
        // byte order or offset changes the sum by orders of magnitude more).
        #expect(abs(sum - 138.05072214923618) < 1e-6, "sum \(sum)")
        let layers = try #require(config["num_hidden_layers"]?.int)
        _ = try w.require("encoder.layer.\(layers - 1).output.dense.weight", shape: [c, try #require(config["intermediate_size"]?.int)])
    }
}
