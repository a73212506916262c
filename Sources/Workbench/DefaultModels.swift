// DefaultModels: where the embedded default models live, and how a command opens "the model the
// user named, or the default". The defaults ship as SwiftPM resources of this executable
// (Sources/spikescope/Resources/default/), found beside the binary (or under $SPIKESCOPE_DEFAULTS),
// never through the source tree: the binary works wherever it is copied with its bundle.

import Foundation
import Models

public enum DefaultModels {
    public static let defaultPrompt = "The spiking neuron"
    public static let gptFile = "spikegpt-char.safetensors"
    public static let bertFolder = "spikebert-sst2"

    /// Folders that may hold the defaults, most specific first.
    public static var searchFolders: [URL] {
        var out: [URL] = []
        if let env = ProcessInfo.processInfo.environment["SPIKESCOPE_DEFAULTS"] { out.append(URL(fileURLWithPath: env)) }
        // The running binary itself (also when started by name from $PATH), symlinks resolved.
        let binary = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        let exe = binary.resolvingSymlinksInPath().deletingLastPathComponent()
        out.append(exe.appendingPathComponent("spikescope_spikescope.resources/Resources/default"))
        out.append(exe.appendingPathComponent("spikescope_spikescope.resources/default"))
        return out
    }

    public static func find(_ name: String) -> String? {
        for f in searchFolders {
            let p = f.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        return nil
    }

    /// The embedded SpikeBERT classifier's folder and its held-out SST-2-format examples.
    public static var bertPath: String? { find(bertFolder) }
    public static var bertExamples: String? { find(bertFolder + "/dev.tsv") }
    /// What the defaults were trained on, shipped with them, for background training (`b`): the
    /// generated corpus and the SST-2-format training rows.
    public static var corpus: String? { find("corpus/tiny-english.txt") }
    public static var glueTrain: String? { find(bertFolder + "/train.tsv") }

    /// Opens `model` (or the embedded SpikeGPT when nil; the embedded SpikeBERT when `classifier`).
    public static func open(model: String?, tokenizer: String?, classifier: Bool = false) throws -> OpenedModel {
        if let model { return try Opener.open(model: model, tokenizer: tokenizer) }
        if classifier {
            guard let p = bertPath else {
                throw ModelError.badInput(reason: "the embedded classifier (\(bertFolder)) is missing from this build", hint: "give --model PATH")
            }
            return try Opener.open(model: p, tokenizer: tokenizer)
        }
        guard let p = find(gptFile) else {
            throw ModelError.badInput(reason: "the embedded default model (\(gptFile)) is missing from this build; looked in: "
                                      + searchFolders.map(\.path).joined(separator: ", "), hint: "give --model PATH")
        }
        return try Opener.open(model: p, tokenizer: tokenizer)
    }
}
