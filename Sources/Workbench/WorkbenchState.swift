// WorkbenchState and its parts: the values a view reads (input, cursor, trace, statistics, the
// training panel's status) and the commands a view sends. Plain values, Sendable, no behaviour
// beyond derived counts; the `Workbench` object (Workbench.swift) owns and changes them.

import Foundation
import Engine
import Neurons
import Models

/// How text becomes ids and back, for whichever tokenizer the model came with.
public struct TextCodec: Sendable {
    public var encode: @Sendable (_ text: String, _ pair: String?) throws -> (ids: [Int], typeIds: [Int], tokens: [String])
    public var decode: @Sendable (_ ids: [Int]) -> String
    public var name: String
    public init(name: String,
                encode: @escaping @Sendable (String, String?) throws -> (ids: [Int], typeIds: [Int], tokens: [String]),
                decode: @escaping @Sendable ([Int]) -> String) {
        self.name = name; self.encode = encode; self.decode = decode
    }
}

/// A GLUE-style example (sentence or pair, gold label as written).
public struct ExampleRow: Sendable, Equatable, Codable {
    public var text: String
    public var textPair: String?
    public var label: String?
    public init(text: String, textPair: String? = nil, label: String? = nil) {
        self.text = text; self.textPair = textPair; self.label = label
    }
}

public enum InputSource: Sendable, Equatable, Codable {
    case prompt(String)
    case example(file: String?, row: Int, ExampleRow)

    // JSON with plain keys: {"prompt": "text"} or {"example": {"file", "row", "text", "textPair",
    // "label"}}. Sessions written before (Swift's synthesized {"prompt": {"_0": …}} and
    // {"example": {"file", "row", "_2": {…}}}) still load.
    enum CodingKeys: String, CodingKey { case prompt, example }
    enum ExampleKeys: String, CodingKey { case file, row, text, textPair, label, legacyRow = "_2" }
    enum LegacyPromptKeys: String, CodingKey { case value = "_0" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.prompt) {
            if let text = try? c.decode(String.self, forKey: .prompt) { self = .prompt(text); return }
            let legacy = try c.nestedContainer(keyedBy: LegacyPromptKeys.self, forKey: .prompt)
            self = .prompt(try legacy.decode(String.self, forKey: .value))
            return
        }
        let e = try c.nestedContainer(keyedBy: ExampleKeys.self, forKey: .example)
        let file = try e.decodeIfPresent(String.self, forKey: .file)
        let row = try e.decode(Int.self, forKey: .row)
        if e.contains(.legacyRow) {
            self = .example(file: file, row: row, try e.decode(ExampleRow.self, forKey: .legacyRow))
        } else {
            self = .example(file: file, row: row, ExampleRow(text: try e.decode(String.self, forKey: .text),
                                                               textPair: try e.decodeIfPresent(String.self, forKey: .textPair),
                                                               label: try e.decodeIfPresent(String.self, forKey: .label)))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .prompt(let text): try c.encode(text, forKey: .prompt)
        case let .example(file, row, ex):
            var e = c.nestedContainer(keyedBy: ExampleKeys.self, forKey: .example)
            try e.encodeIfPresent(file, forKey: .file)
            try e.encode(row, forKey: .row)
            try e.encode(ex.text, forKey: .text)
            try e.encodeIfPresent(ex.textPair, forKey: .textPair)
            try e.encodeIfPresent(ex.label, forKey: .label)
        }
    }
}

public enum Pane: String, Sendable, Codable, CaseIterable {
    case sites, raster, membrane, stats, outliers, output
}

public struct Cursor: Sendable, Equatable, Codable {
    public var site = 0
    /// Step within the trace: token (SpikeGPT) or timestep (SpikeBERT).
    public var step = 0
    /// Token position (SpikeBERT; equals `step` for SpikeGPT).
    public var token = 0
    /// First neuron (channel) shown in the raster/heatmap.
    public var neuronOffset = 0
    /// Selected neuron (channel) for the line plot.
    public var neuron = 0
    public var focus: Pane = .sites
    public init() {}
}

/// Everything a view needs, as one value.
public struct WorkbenchState: Sendable {
    /// A message for the user that computed statuses carry until the next command.
    public var notice: String?
    public var summary: ModelSummary
    public var modelPath: String?
    public var siteNames: [String]
    public var input: InputSource
    public var ids: [Int] = []
    public var typeIds: [Int] = []
    public var tokenStrings: [String] = []
    /// Tokens generated after the prompt (SpikeGPT), included in the trace.
    public var generatedCount = 0
    public var generatedText = ""
    /// The continuation's token ids (`generatedCount` of them).
    public var generatedIDs: [Int] = []
    /// How long the last recompute took to put the prompt's trace on screen (the first stage of
    /// a staged run; the whole run otherwise).
    public var firstPublishMillis: Double?
    /// The trace on screen is a stage of a run still going (its continuation is coming).
    public var partial = false
    public var run: ModelRun?
    public var trace = Trace()
    public var stats: [SiteStatistics] = []
    public var energy = EnergyEstimate()
    public var cursor = Cursor()
    public var neuron: NeuronKind
    public var timesteps: Int?
    /// k per site, in site order.
    public var k: [Float]
    /// GIF allocation in force (fraction of salient channels with more steps; 0 = uniform), or nil.
    public var gifOutlierFraction: Double?
    /// SpikeLLM's controls when the model runs that neuron (abits, addbit, low_p, wbits), else nil.
    public var spikeLLM: SpikeLLMSettings?
    /// The T the checkpoint's amplitudes α were trained for; nil when it carries none (α is then
    /// calibrated on the input being run).
    public var trainedTimesteps: Int?
    /// Threshold multiplier per site from `<`/`>` (1 = the model's own).
    public var thresholdScale: [Float]
    /// When on, `+`/`-` and `<`/`>` apply to every site.
    public var allSites = false
    /// Firing rate of the selected site for k around the current value (computed after a run).
    public var frequencyCurve: [(k: Float, rate: Double)] = []
    public var busy = false
    /// The frequency curve of the newest result is still being computed.
    public var curvePending = false
    public var computeMillis: Double = 0
    public var status = ""
    public var error: String?
    /// Newest result's sequence number (tests wait on it).
    public var revision = 0
    public var training: TrainingStatus?
    public var generateCount: Int
    /// The pinned baseline B (`c`: this run, `f`: the float twin); nil when nothing is pinned.
    public var baseline: Baseline?
    /// The run on screen (A) against the baseline, recomputed with every complete result.
    public var comparison: RunComparison?
    /// The logit lens at one token (`t`): per layer, the top next tokens read from the residual
    /// stream after it, for this run and the baseline; nil until asked (cleared by a recompute).
    public var lens: LogitLens?
    /// The last sweep (`w`): a control over a grid, each value against the float twin.
    public var sweep: SweepResult?

    public var selectedSite: String? { cursor.site < siteNames.count ? siteNames[cursor.site] : nil }
    public var selectedTrace: SiteTrace? { selectedSite.flatMap { trace[$0] } }
    public var selectedStats: SiteStatistics? { cursor.site < stats.count ? stats[cursor.site] : nil }
    /// Steps in the trace (tokens or timesteps) and tokens per step (1 or L).
    public var stepCount: Int { summary.family.steps == .timesteps ? (timesteps ?? 1) : ids.count + generatedCount }
    public var tokenCount: Int { summary.family.steps == .timesteps ? ids.count : ids.count + generatedCount }
}

/// Progress of the background trainer, as the training panel shows it.
public struct TrainingStatus: Sendable, Equatable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Double
    public var losses: [Double]
    public var tokensPerSecond: Double
    public var etaSeconds: Double
    public var lastCheckpoint: String?
    public var state: String
    /// Parts of the newest loss ("task", "kd", "hidden", "rate_penalty") and the batch's
    /// "firing_rate"; empty for a plain loss.
    public var parts: [String: Double] = [:]
    public init(step: Int, totalSteps: Int, loss: Double, losses: [Double], tokensPerSecond: Double,
                etaSeconds: Double, lastCheckpoint: String?, state: String) {
        self.step = step; self.totalSteps = totalSteps; self.loss = loss; self.losses = losses
        self.tokensPerSecond = tokensPerSecond; self.etaSeconds = etaSeconds
        self.lastCheckpoint = lastCheckpoint; self.state = state
    }
}

/// The SpikeLLM controls the workbench turns.
public enum SpikeLLMKnob: String, Sendable, Equatable, CaseIterable {
    case abits, addbit, lowP = "low_p"

    /// `s` with this knob one step up or down, kept in range (abits 2…8, addbit 0…4 with
    /// abits + addbit ≤ 16, low_p 0…1 in steps of 0.05).
    public func stepped(_ s: SpikeLLMSettings, up: Bool) -> SpikeLLMSettings {
        var s = s
        switch self {
        case .abits: s.abits = min(max(s.abits + (up ? 1 : -1), 2), 8)
        case .addbit: s.addbit = min(max(s.addbit + (up ? 1 : -1), 0), min(4, 16 - s.abits))
        case .lowP: s.lowP = min(max(((s.lowP + (up ? 0.05 : -0.05)) * 20).rounded() / 20, 0), 1)
        }
        return s
    }
}

public struct LogitLens: Sendable, Equatable {
    /// The token (row) the lens reads.
    public var token: Int
    /// layers[i]: the top-5 next tokens after layer i (decoded), this run's and B's (empty without B).
    public var layers: [(a: [String], b: [String])]
    public init(token: Int, layers: [(a: [String], b: [String])]) { self.token = token; self.layers = layers }
    public static func == (l: LogitLens, r: LogitLens) -> Bool {
        l.token == r.token && l.layers.map(\.a) == r.layers.map(\.a) && l.layers.map(\.b) == r.layers.map(\.b)
    }
}

/// How to make a baseline again (sessions save this, not the traces): the float twin, or the
/// model with these controls.
public struct BaselineRecipe: Codable, Sendable, Equatable {
    public var float: Bool
    public var label: String
    public var neuron: NeuronKind
    public var timesteps: Int?
    public var k: [String: Float]
    public var thresholdScale: [String: Float]
    public var spikeLLM: SpikeLLMSettings?
    public init(float: Bool, label: String, neuron: NeuronKind, timesteps: Int?, k: [String: Float],
                thresholdScale: [String: Float], spikeLLM: SpikeLLMSettings?) {
        self.float = float; self.label = label; self.neuron = neuron; self.timesteps = timesteps; self.k = k
        self.thresholdScale = thresholdScale; self.spikeLLM = spikeLLM
    }
}

/// A pinned run the current one is compared with.
public struct Baseline: Sendable {
    /// What it is, for the screen: "k 2.00 · lif", "float twin".
    public var label: String
    public var tokens: [Int]
    public var run: ComparableRun
    /// How to make it again (saved in sessions).
    public var recipe: BaselineRecipe?
    public init(label: String, tokens: [Int], run: ComparableRun, recipe: BaselineRecipe? = nil) {
        self.label = label; self.tokens = tokens; self.run = run; self.recipe = recipe
    }
}

public enum WorkbenchCommand: Sendable, Equatable {
    case step(Int)              // ←/→
    case token(Int)             // [/]
    case site(Int)              // ↑/↓
    case selectSite(Int)
    case scrollNeurons(Int)     // PgUp/PgDn
    case selectNeuron(Int)
    case focusNext
    case frequency(up: Bool)    // +/-
    case toggleAllSites         // a
    case threshold(up: Bool)    // </>
    case timesteps(Int)         // 1-8
    case neuron(NeuronKind)
    case cycleNeuron            // i
    case toggleAllocation       // o: GIF uniform ↔ saliency
    case spikeLLM(SpikeLLMKnob, up: Bool)  // m/M abits, x/X addbit, l/L low_p
    case prompt(String)
    case example(file: String?, row: Int, ExampleRow)
    case run
    case pinBaseline            // c: pin this run as B (again: unpin)
    case pinFloat               // f: pin the float twin (neuron none) as B
    case logitLens              // t: the logit lens at the cursor token
    case sweep                  // w: sweep k (or abits for GIF) against the float twin
}
