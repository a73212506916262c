// `spikescope` (no subcommand) / `spikescope tui`: open the workbench TUI on a model.

import ArgumentParser
import Experiments
import Foundation
import Neurons
import Formats
import Models
import Workbench
import TUI
import TerminalBackend

struct WorkbenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tui", abstract: "Open the workbench (the default command).")

    @Option(help: "Model weights (.safetensors, .pth/.bin, or a folder). Default: the embedded SpikeGPT.")
    var model: String?
    @Option(help: "Tokenizer file (default: found beside the model).")
    var tokenizer: String?
    @Option(help: "Prompt to run first.")
    var prompt: String?
    @Option(help: "GLUE file and row FILE[:ROW]; g/n/N step through its rows.")
    var glue: String?
    @Option(help: "GLUE task when the folder does not name it.")
    var task: String?
    @Option(help: "Session folder: reopen it (session.json), and save/export/train into it.")
    var session: String?
    @Option(help: "Tokens to generate after a SpikeGPT prompt (shown in the output panel).")
    var generate: Int = 24
    @Option(help: "Text corpus for background training (b). Default: the generated corpus in the source tree.")
    var corpus: String?
    @Flag(help: "Open the embedded SpikeBERT sentiment classifier with its SST-2-format examples (g/n/N).")
    var classifier = false
    @OptionGroup var controls: ControlOptions

    func run() throws {
        do { try execute() } catch let e as ExitCode { throw e } catch {
            FileHandle.standardError.write(Data("spikescope: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    func execute() throws {
        let saved = try session.flatMap { dir -> SessionFile? in
            FileManager.default.fileExists(atPath: SessionFile.path(in: dir)) ? try SessionFile.load(from: dir) : nil
        }
        // --glue without --model: a GLUE row wants a classifier, so open the embedded SpikeBERT.
        let wantsClassifier = classifier || (model == nil && saved?.model == nil && glue != nil)
        let opened: OpenedModel
        do {
            opened = try DefaultModels.open(model: model ?? saved?.model, tokenizer: tokenizer ?? saved?.tokenizer,
                                            classifier: wantsClassifier)
        } catch where model == nil && (saved?.model != nil || (tokenizer == nil && saved?.tokenizer != nil)) {
            // The path came from the session file: say so, or the user hunts for a flag they never gave.
            throw CLIError("the model or tokenizer named in \(SessionFile.path(in: session ?? ".")) cannot be opened: \(error) "
                           + "Give --model (and --tokenizer) to override it, or fix the session file")
        }
        var ui = WorkbenchUI()
        ui.sessionPath = session
        var input: InputSource = .prompt(prompt ?? DefaultModels.defaultPrompt)
        let glueRef = glue ?? saved?.glueFile ?? (wantsClassifier ? DefaultModels.bertExamples : nil)
        let glueTask = task ?? (glueRef == DefaultModels.bertExamples ? "SST-2" : nil)
        if let glueRef {
            let spec = GLUERowSpec.parse(glueRef)
            let file = try GLUEFile.load(path: spec.path, task: glueTask.flatMap(GLUETask.init(name:)))
            ui.examples = file.rows.map { ExampleRow(text: $0.text, textPair: $0.textPair, label: $0.label) }
            ui.exampleFile = spec.path
            ui.exampleIndex = min(spec.row ?? 0, max(file.rows.count - 1, 0))
            if (glue != nil || wantsClassifier) && prompt == nil && !ui.examples.isEmpty {
                input = .example(file: spec.path, row: ui.exampleIndex, ui.examples[ui.exampleIndex])
            }
        }
        let gen = opened.loaded.family.traits.generates ? generate : 0
        let wb = Workbench(model: opened.loaded.model, codec: opened.codec, input: input,
                           modelPath: opened.loaded.weightsPath, generate: gen)
        if let saved { saved.apply(to: wb) }
        // Flags over the session: what the user typed now wins.
        var spikeLLM: SpikeLLMSettings? = nil
        if controls.setsSpikeLLM {
            guard controls.calibration == nil else {
                throw ValidationError("--calibration applies to inspect and eval; the workbench calibrates SpikeLLM's channels on its current input")
            }
            var m = wb.currentModel()
            try controls.applySpikeLLM(to: &m)  // refuses them on a family without SpikeLLM's neuron
            spikeLLM = m.spikeLLM
        }
        try wb.applyControls(neuron: controls.neuronKind, timesteps: controls.timesteps, k: controls.k, spikeLLM: spikeLLM)
        let sessionDir = session ?? "sessions/default"
        let tokPath = opened.tokenizerPath
        let glueFile = ui.exampleFile
        let hooks = WorkbenchHooks(
            save: { state, _ in
                let p = try SessionFile(state: state, tokenizer: tokPath, glueFile: glueFile).save(in: sessionDir)
                return "saved \(p)"
            },
            export: { state in
                let p = try TraceExport.write(state, model: wb.currentModel(), to: sessionDir + "/traces")
                return "exported \(p) (+ CSV per site)"
            },
            toggleTraining: BackgroundTraining.toggle(workbench: wb, sessionDir: sessionDir, corpus: corpus ?? DefaultModels.corpus,
                                                      vocabPath: tokPath,
                                                      glueTrain: glueFile.flatMap(BackgroundTraining.trainFile(besideExamples:)) ?? DefaultModels.glueTrain),
            trainingStatus: BackgroundTraining.status,
            reloadCheckpoint: { wb in BackgroundTraining.reload(workbench: wb, sessionDir: sessionDir) })
        var app = WorkbenchApp(workbench: wb, ui: ui, hooks: hooks)
        try TerminalApp.run(&app)
    }
}
