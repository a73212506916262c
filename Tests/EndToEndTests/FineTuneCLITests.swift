// Issue 19 through the binary: `train --init` refuses bad requests clearly, and a fine-tuning run
// killed with SIGKILL and resumed ends with the same bytes as a run never interrupted.

import Foundation
import Testing

@Suite(.serialized) struct FineTuneCLITests {
    static let glue = Harness.packageRoot.appendingPathComponent("Sources/spikescope/Resources/default/spikebert-sst2/train.tsv").path

    static func args(session: String, extra: [String] = []) -> [String] {
        ["train", "--init", HostileCLI.bert, "--glue", glue, "--session", session, "--steps", "24", "--context", "16", "--batch", "8",
         "--lr", "1e-3", "--checkpoint-every", "4", "--eval-every", "100", "--eval-batches", "1", "--distill", "--target-rate", "0.2",
         "--dropout", "0.1"] + extra
    }

    @Test func initRefusesWhatItCannotDo() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        HostileCLI.expectRefused(try HostileCLI.run(["train", "--init", HostileCLI.bert, "--arch", "spikegpt", "--glue", Self.glue,
                                                     "--session", dir + "/a", "--steps", "1", "--context", "16", "--batch", "2"]),
                                 mentioning: ["spikebert-sst2", "is a SpikeBERT checkpoint (spikebert)", "leave --arch out"])
        HostileCLI.expectRefused(try HostileCLI.run(["train", "--init", HostileCLI.bert, "--layers", "2", "--glue", Self.glue,
                                                     "--session", dir + "/b", "--steps", "1", "--context", "16", "--batch", "2"]),
                                 mentioning: ["--layers, --width and --heads come from the checkpoint"])
        HostileCLI.expectRefused(try HostileCLI.run(["train", "--distill", "--glue", Self.glue, "--session", dir + "/c", "--steps", "1",
                                                     "--layers", "1", "--width", "16", "--context", "16", "--batch", "2"]),
                                 mentioning: ["--init PATH"])
        // A checkpoint without its tokenizer: the error names the folder and what was looked for.
        let bare = dir + "/bare"
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors"] { try FileManager.default.copyItem(atPath: HostileCLI.bert + "/" + f, toPath: bare + "/" + f) }
        HostileCLI.expectRefused(try HostileCLI.run(["train", "--init", bare, "--glue", Self.glue, "--session", dir + "/d", "--steps", "1",
                                                     "--context", "16", "--batch", "2"]),
                                 mentioning: [bare, "no tokenizer beside it", "vocab.txt"])
        HostileCLI.expectRefused(try HostileCLI.run(["train", "--init", HostileCLI.tiny, "--corpus", Self.glue, "--session", dir + "/e",
                                                     "--steps", "1", "--context", "16", "--batch", "2", "--timesteps", "4"]),
                                 mentioning: ["runs one step per token"])
    }

    @Test func aKilledFineTuneResumesToTheSameBytes() throws {
        let bin = try #require(Harness.binary, "spikescope binary not found and could not be built")
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let straight = try HostileCLI.run(Self.args(session: dir + "/straight"), timeout: 300)
        #expect(straight.status == 0, "\(straight.err)")

        // The same run, killed (SIGKILL: no cleanup) once a checkpoint past step 8 is complete.
        let session = dir + "/killed"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = Self.args(session: session)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let latest = session + "/checkpoints/latest"
        let deadline = Date().addingTimeInterval(240)
        var killedAt: String?
        while Date() < deadline && p.isRunning {
            if let name = try? String(contentsOfFile: latest, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
               let step = Int(name.filter(\.isNumber)), step >= 8, step < 24 {
                _ = Foundation.kill(p.processIdentifier, SIGKILL)
                killedAt = name
                break
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        p.waitUntilExit()
        let at = try #require(killedAt, "the run ended before it could be killed mid-way")
        #expect(!FileManager.default.fileExists(atPath: session + "/model.safetensors"), "killed at \(at) but the run had finished")
        let resumed = try HostileCLI.run(Self.args(session: session, extra: ["--resume"]), timeout: 300)
        #expect(resumed.status == 0, "\(resumed.err)")
        #expect(resumed.err.contains("resuming from step-"), "\(resumed.err)")
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/straight/model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: session + "/model.safetensors"))
        #expect(a == b, "the resumed run (killed at \(at)) ends with other weights")
    }

    /// `bench bert --text` times a real sentence: its length is the tokenized text's, and the
    /// firing rate is that of the sentence (the same as `inspect` reports for it).
    @Test func benchBertTimesARealSentence() throws {
        let r = try CLI.run(["bench", "bert", "--model", HostileCLI.bert, "--text", "a truly wonderful film .", "--runs", "1",
                             "--batch", "0", "--seq", "16", "--json"], timeout: 120)
        #expect(r.0 == 0, "\(r.2)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.1.utf8)) as? [String: Any])
        #expect(o["input"] as? String == "text")
        let ins = try CLI.run(["inspect", "--model", HostileCLI.bert, "--prompt", "a truly wonderful film ."])
        let rep = try #require(try JSONSerialization.jsonObject(with: Data(ins.1.utf8)) as? [String: Any])
        let ids = try #require((rep["input"] as? [String: Any])?["tokens"] as? [Int])
        #expect(o["tokens"] as? Int == ids.count)
        let sites = try #require(rep["sites"] as? [[String: Any]])
        let mean = sites.compactMap { $0["firing_rate"] as? Double }.reduce(0, +) / Double(sites.count)
        #expect(abs((o["firing_rate"] as? Double ?? -1) - mean) < 1e-3, "bench rate \(o["firing_rate"] ?? "nil") vs inspect \(mean)")
    }
}
