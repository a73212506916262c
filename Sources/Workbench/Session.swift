// Session: what `s` saves and `spikescope --session DIR` reopens — model, tokenizer, input,
// controls, view — as `DIR/session.json`, written atomically (temp file + rename).
// What it is not: the checkpoints (the trainer writes DIR/checkpoints/) or traces (DIR/traces/).

import Foundation
import Formats
import Neurons
import Models

public struct SessionFile: Codable, Sendable, Equatable {
    public var version = 1
    public var model: String?
    public var tokenizer: String?
    public var input: InputSource
    public var glueFile: String?
    public var neuron: NeuronKind
    public var timesteps: Int?
    /// k per site name.
    public var k: [String: Float]
    /// Threshold multiplier per site name (from `<`/`>`).
    public var thresholdScale: [String: Float]
    public var allSites: Bool
    public var cursor: Cursor
    public var notes: String = ""
    /// SpikeLLM's controls (abits, addbit, lowP, wbits) when the model runs that neuron; absent in
    /// older sessions.
    public var spikeLLM: SpikeLLMSettings?
    /// The pinned baseline, as the controls that make it again (absent when none was pinned).
    public var baseline: BaselineRecipe?

    public init(state s: WorkbenchState, tokenizer: String?, glueFile: String?, notes: String = "") {
        model = s.modelPath
        self.tokenizer = tokenizer
        input = s.input
        self.glueFile = glueFile
        neuron = s.neuron
        timesteps = s.timesteps
        k = Dictionary(uniqueKeysWithValues: zip(s.siteNames, s.k))
        thresholdScale = Dictionary(uniqueKeysWithValues: zip(s.siteNames, s.thresholdScale))
        allSites = s.allSites
        cursor = s.cursor
        self.notes = notes
        spikeLLM = s.spikeLLM
        baseline = s.baseline?.recipe
    }

    public static func path(in dir: String) -> String { URL(fileURLWithPath: dir).appendingPathComponent("session.json").path }

    /// Writes `DIR/session.json` atomically, creating DIR. Paths are stored so the session moves
    /// with its folder: inside DIR relative to it, the embedded defaults as "embedded:NAME" (the
    /// build folder they sit in differs between machines), anything else absolute.
    public func save(in dir: String) throws -> String {
        try Folder.create(dir)
        AtomicWrite.removeStaleTemporaries(in: dir)
        var portable = self
        portable.mapPaths { SessionFile.portable($0, sessionDir: dir) }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(portable)
        let p = SessionFile.path(in: dir)
        try AtomicWrite.write(to: p) { try $0.write([UInt8](data)) }
        return p
    }

    /// Reads `DIR/session.json` and checks every field (a session file is user input).
    /// - Throws: `ModelError.badInput` naming the file and the field that is wrong.
    public static func load(from dir: String) throws -> SessionFile {
        let p = path(in: dir)
        let data: Data
        do { data = try RegularFile.read(p, maxBytes: 64 << 20, what: "a session file") } catch let e as FormatError {
            throw ModelError.badInput(reason: "cannot read the session \(p): \(e.ioReason)",
                                      hint: "save one with `s` in the workbench, or start without --session")
        }
        let file: SessionFile
        do { file = try JSONDecoder().decode(SessionFile.self, from: data) } catch {
            throw ModelError.badInput(reason: "\(p) is not a valid session file: \(JSONDecodeErrors.describe(error, data: data, path: p))",
                                      hint: "fix or delete it; a new one is written by `s`")
        }
        if let problem = file.problem() {
            throw ModelError.badInput(reason: "\(p): \(problem)", hint: "fix or delete it; a new one is written by `s`")
        }
        var opened = file
        opened.mapPaths { SessionFile.resolved($0, sessionDir: dir) }
        return opened
    }

    static let embeddedPrefix = "embedded:"

    /// `path` as stored in a session in `sessionDir`.
    static func portable(_ path: String, sessionDir: String) -> String {
        let p = URL(fileURLWithPath: path).standardizedFileURL.path
        let dir = URL(fileURLWithPath: sessionDir).standardizedFileURL.path + "/"
        if p.hasPrefix(dir) { return String(p.dropFirst(dir.count)) }
        for folder in DefaultModels.searchFolders {
            let f = folder.standardizedFileURL.path + "/"
            if p.hasPrefix(f) { return embeddedPrefix + String(p.dropFirst(f.count)) }
        }
        return p
    }

    /// A stored path as a path to open: relative ones against the session folder, "embedded:"
    /// ones in this build's defaults (left as they are when this build has none).
    static func resolved(_ stored: String, sessionDir: String) -> String {
        if stored.hasPrefix(embeddedPrefix) {
            return DefaultModels.find(String(stored.dropFirst(embeddedPrefix.count))) ?? stored
        }
        if stored.hasPrefix("/") { return stored }
        return URL(fileURLWithPath: sessionDir).appendingPathComponent(stored).standardizedFileURL.path
    }

    /// Applies `f` to every path the session holds.
    mutating func mapPaths(_ f: (String) -> String) {
        model = model.map(f)
        tokenizer = tokenizer.map(f)
        glueFile = glueFile.map(f)
        if case let .example(file, row, ex) = input { input = .example(file: file.map(f), row: row, ex) }
    }

    /// The first field that no session written by `s` could hold, or nil.
    func problem() -> String? {
        if version != 1 { return "field 'version' is \(version); this spikescope reads version 1" }
        if let t = timesteps, !(1...BERTConfig.maxTimesteps).contains(t) {
            return "field 'timesteps' is \(t), expected 1…\(BERTConfig.maxTimesteps)"
        }
        for (field, table) in [("k", k), ("thresholdScale", thresholdScale)] {
            for (site, v) in table.sorted(by: { $0.key < $1.key }) where !(v.isFinite && v > 0 && v <= 1e6) {
                return "field '\(field).\(site)' is \(v), expected a number in (0, 1e6]"
            }
        }
        let c = cursor
        for (name, v) in [("site", c.site), ("step", c.step), ("token", c.token), ("neuronOffset", c.neuronOffset), ("neuron", c.neuron)] where v < 0 {
            return "field 'cursor.\(name)' is \(v), expected 0 or more"
        }
        if case .example(_, let row, _) = input, row < 0 { return "field 'input.example.row' is \(row), expected 0 or more" }
        if let q = spikeLLM {
            do { try q.validate() } catch { return "field 'spikeLLM': \(error)" }
        }
        if let b = baseline {
            for (field, table) in [("baseline.k", b.k), ("baseline.thresholdScale", b.thresholdScale)] {
                for (site, v) in table.sorted(by: { $0.key < $1.key }) where !(v.isFinite && v > 0 && v <= 1e6) {
                    return "field '\(field).\(site)' is \(v), expected a number in (0, 1e6]"
                }
            }
            if let t = b.timesteps, !(1...BERTConfig.maxTimesteps).contains(t) {
                return "field 'baseline.timesteps' is \(t), expected 1…\(BERTConfig.maxTimesteps)"
            }
            if let q = b.spikeLLM {
                do { try q.validate() } catch { return "field 'baseline.spikeLLM': \(error)" }
            }
        }
        return nil
    }

    /// Applies the saved controls and view to a workbench whose model is already loaded.
    public func apply(to wb: Workbench) {
        wb.restore(neuron: neuron, timesteps: timesteps, k: k, thresholdScale: thresholdScale, allSites: allSites,
                   input: input, cursor: cursor, spikeLLM: spikeLLM)
        if let baseline { wb.pin(baseline) }
    }
}

extension Workbench {
    /// Sets controls, input and cursor at once (session restore), then recomputes.
    public func restore(neuron: NeuronKind, timesteps: Int?, k: [String: Float], thresholdScale: [String: Float],
                        allSites: Bool, input: InputSource, cursor: Cursor, spikeLLM: SpikeLLMSettings? = nil) {
        mutate { model, state in
            if let spikeLLM, model.spikeLLM != nil {  // before the neuron: GIF then calibrates with them
                model.spikeLLM = spikeLLM
                state.spikeLLM = model.spikeLLM
            }
            if model.neuronChoices.contains(neuron) {
                model.neuron = neuron
            } else {
                // Refused, not silently replaced: say what the family runs.
                state.notice = "the session's neuron '\(neuron.rawValue)' is not one \(model.summary.family.displayName) runs "
                    + "(\(model.neuronChoices.map(\.rawValue).joined(separator: ", "))); kept \(model.neuron.rawValue)"
            }
            state.neuron = model.neuron
            state.gifOutlierFraction = model.gifOutlierFraction
            if let t = timesteps, (1...BERTConfig.maxTimesteps).contains(t) { model.timesteps = t; state.timesteps = model.timesteps }
            for (i, name) in state.siteNames.enumerated() {
                if let kv = k[name] { model.setFrequency(kv, site: name); state.k[i] = kv }
                if let ts = thresholdScale[name], ts != 1 {
                    model.scaleThreshold(by: ts / state.thresholdScale[i], site: name)
                    state.thresholdScale[i] = ts
                }
            }
            state.allSites = allSites
            state.input = input
            // Indices from a file never reach an array unchecked: clamp to this model (steps and
            // tokens are clamped again to the trace once it is computed).
            var c = cursor
            c.site = clamp(c.site, 0, max(state.siteNames.count - 1, 0))
            c.neuron = clamp(c.neuron, 0, max(state.summary.width - 1, 0))
            c.neuronOffset = clamp(c.neuronOffset, 0, max(state.summary.width - 1, 0))
            c.step = clamp(c.step, 0, 1 << 20)
            c.token = clamp(c.token, 0, 1 << 20)
            state.cursor = c
        }
        schedule()
    }
}

/// Trace export: the inspect JSON report and one CSV per site (step, neuron, membrane, spike).
public enum TraceExport {
    public static func write(_ s: WorkbenchState, model: any InspectableModel, to dir: String) throws -> String {
        guard var run = s.run else { throw ModelError.badInput(reason: "nothing to export yet", hint: "run an input first (Enter)") }
        if run.logits.isEmpty && model.summary.family.generates {
            // A staged run keeps no per-row logits (the head ran only where it sampled): the
            // prompt's, as `inspect` reports them, are computed for the export.
            let full = try model.run(ModelInput(ids: s.ids, typeIds: s.typeIds), probe: nil)
            run.logits = full.logits
        }
        try Folder.create(dir)
        let stamp = Int(Date().timeIntervalSince1970)
        let text: String? = { if case .prompt(let p) = s.input { return p }; if case .example(_, _, let r) = s.input { return r.text }; return nil }()
        let report = InspectReport(model: model, path: s.modelPath,
                                   input: .init(text: text, textPair: nil, label: nil, tokens: s.ids, typeIds: s.typeIds),
                                   run: run, trace: s.trace, traces: true)
        let jsonPath = URL(fileURLWithPath: dir).appendingPathComponent("trace-\(stamp).json").path
        let data = try report.json(pretty: false)
        try AtomicWrite.write(to: jsonPath) { try $0.write([UInt8](data)) }
        for site in s.trace.sites {
            var csv = "step,neuron,membrane,spike\n"
            for t in 0..<site.steps {
                for c in 0..<site.width {
                    csv += "\(t),\(c),\(site.membrane[t * site.width + c]),\(site.spikes[t * site.width + c])\n"
                }
            }
            let p = URL(fileURLWithPath: dir).appendingPathComponent("trace-\(stamp)-\(site.name).csv").path
            try AtomicWrite.write(to: p) { try $0.write(Array(csv.utf8)) }
        }
        return jsonPath
    }
}

extension Workbench {
    /// The controls given on the command line (`--neuron`, `--timesteps`, `--k` for every site,
    /// SpikeLLM's `--abits/--addbit/--low-p/--wbits` as settings checked by the caller),
    /// applied over a restored session, then recomputed.
    /// - Throws: `ModelError` for a neuron kind the family does not run, or timesteps on a family
    ///   whose steps are its tokens (nothing is changed then).
    public func applyControls(neuron: NeuronKind?, timesteps: Int?, k: Float?, spikeLLM: SpikeLLMSettings? = nil) throws {
        let m = currentModel()
        if let neuron { try m.checkNeuron(neuron) }
        if let timesteps { try m.checkTimesteps(timesteps) }
        if let k, !(k > 0 && k.isFinite) { throw ModelError.invalidInput(field: "--k", reason: "is \(k)", hint: "k must be positive, e.g. 2") }
        mutate { model, state in
            if let neuron {
                model.neuron = neuron
                state.neuron = model.neuron
                state.siteNames = model.siteNames
                state.thresholdScale = model.siteNames.map { _ in 1 }
                state.cursor.site = min(state.cursor.site, max(state.siteNames.count - 1, 0))
                state.gifOutlierFraction = model.gifOutlierFraction
            }
            if let timesteps { model.timesteps = timesteps; state.timesteps = model.timesteps }
            if let k { model.setFrequency(k, site: nil) }
            if let spikeLLM, model.spikeLLM != nil {
                model.spikeLLM = spikeLLM
                state.spikeLLM = model.spikeLLM
                state.gifOutlierFraction = model.gifOutlierFraction
            }
            state.k = model.siteNames.map { model.frequency(site: $0) }
        }
        schedule()
    }
}
