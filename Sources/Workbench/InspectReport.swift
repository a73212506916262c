// InspectReport: the headless JSON contract of `spikescope inspect` (DESIGN.md), also what the
// workbench exports with `e`. Keys are fixed: scripts and CI depend on them.
// What it is not: a loader — it only describes a run that already happened.

import Foundation
import Neurons
import Models

public struct InspectReport: Encodable, Sendable {
    public struct ModelInfo: Encodable, Sendable {
        public var arch: String
        public var layers: Int
        public var width: Int
        public var vocab: Int
        public var classes: Int?
        public var timesteps: Int?
        public var labels: [String]?
        public var neuron: String
    }
    public struct InputInfo: Encodable, Sendable {
        public var text: String?
        public var textPair: String?
        public var label: String?
        public var tokens: [Int]
        public var typeIds: [Int]
        enum CodingKeys: String, CodingKey { case text, textPair = "text_pair", label, tokens, typeIds = "type_ids" }
        public init(text: String?, textPair: String?, label: String?, tokens: [Int], typeIds: [Int]) {
            self.text = text; self.textPair = textPair; self.label = label; self.tokens = tokens; self.typeIds = typeIds
        }
    }
    public struct OutlierInfo: Encodable, Sendable {
        public var channel: Int
        public var value: Float
        public var zScore: Float
        enum CodingKeys: String, CodingKey { case channel, value, zScore = "z_score" }
    }
    public struct SalientInfo: Encodable, Sendable {
        public var channel: Int
        public var saliency: Float
        public var timesteps: Int
        public var outlier: Bool
    }
    public struct SiteInfo: Encodable, Sendable {
        public var name: String
        public var neuron: String
        public var firingRate: Double
        public var positiveFraction: Double
        public var negativeFraction: Double
        public var k: Float
        public var threshold: Float
        public var layout: [Int]?
        public var membrane: [[Float]]?
        public var spikes: [[Float]]?
        public var amplitude: [Float]?
        public var levels: Int?
        public var bitsPerActivation: Double?
        public var outliers: [OutlierInfo]
        /// GIF: the saliency ranking with the T each channel got, and the coding error vs float.
        public var salientChannels: [SalientInfo]?
        public var codingError: Double?
        /// SpikeLLM: every salient channel, and how many salient activations the GIF steps could
        /// not carry in full.
        public var salient: [Int]?
        public var uncarried: Int?
        /// SpikeLLM: the ordinary quantiser's scale per token ((max − min)/(2^abits − 1)).
        public var tokenScale: [Float]?
        /// Extra per-site fields some neurons add (e.g. GIF allocation); free-form numbers.
        public var extra: [String: Double]?
        enum CodingKeys: String, CodingKey {
            case name, neuron, firingRate = "firing_rate", positiveFraction = "positive_fraction",
                 negativeFraction = "negative_fraction", k, threshold, layout, membrane, spikes, amplitude,
                 levels, bitsPerActivation = "bits_per_activation", outliers, extra,
                 salientChannels = "salient_channels", codingError = "error_vs_float", salient, uncarried,
                 tokenScale = "token_scale"
        }
    }
    public struct EnergyInfo: Encodable, Sendable {
        public var mac: Double
        public var ac: Double
        public var pj: Double
        public var densePJ: Double
        /// Per linear layer (MACs, ACs, the site it reads) and per site (the ACs its spikes cause).
        public var layers: [LayerEnergy]
        public var sites: [String: Double]
        enum CodingKeys: String, CodingKey { case mac, ac, pj, densePJ = "dense_pj", layers, sites }
    }
    public struct LayerEnergy: Encodable, Sendable {
        public var name: String
        public var inputSite: String?
        public var mac: Double
        public var ac: Double
        enum CodingKeys: String, CodingKey { case name, inputSite = "input_site", mac, ac }
    }
    public struct Generated: Encodable, Sendable {
        public var tokens: [Int]
        public var text: String?
        /// Generation speed (tokens after the prompt per second, batch 1).
        public var tokensPerSecond: Double?
        enum CodingKeys: String, CodingKey { case tokens, text, tokensPerSecond = "tokens_per_s" }
        public init(tokens: [Int], text: String?) { self.tokens = tokens; self.text = text }
    }

    public var model: ModelInfo
    public var input: InputInfo
    public var steps: Int
    public var logits: [[Float]]?
    public var classLogits: [Float]?
    public var probabilities: [Float]?
    public var prediction: String?
    public var hidden: [[Float]]?
    public var sites: [SiteInfo]
    public var energy: EnergyInfo
    public var generated: Generated?
    /// GIF runs: divergence from the float model and the exact bits spent.
    public var gif: [String: Double]?
    /// Problems with the numbers (non-finite outputs); absent when there are none.
    public var warnings: [String]?
    /// `--compare-to`: this run against a baseline (the float twin, or a saved report).
    public var compare: RunComparison?
    /// What `compare` was made against ("float", or the baseline file).
    public var compareTo: String?
    /// `--streams`: the residual stream entering each layer, then leaving the last, per token
    /// (`streams[i][token]`; timestep families: the mean over the timesteps).
    public var streams: [[[Float]]]?

    enum CodingKeys: String, CodingKey {
        case model, input, steps, logits, classLogits = "class_logits", probabilities, prediction, hidden, sites, energy, generated, gif, warnings
        case compare, compareTo = "compare_to", streams
    }

    /// Builds the report of one run. `traces: false` omits the per-step arrays (`--no-traces`).
    public init(model m: any InspectableModel, path: String?, input: InputInfo, run: ModelRun, trace: Trace,
                traces: Bool, generated: Generated? = nil) {
        let s = m.summary
        model = ModelInfo(arch: s.family.id, layers: s.layers, width: s.width, vocab: s.vocab,
                          classes: s.classes > 0 ? s.classes : nil, timesteps: s.timesteps,
                          labels: s.labels.isEmpty ? nil : s.labels, neuron: m.neuron.rawValue)
        self.input = input
        steps = run.steps
        if let cls = run.classLogits {
            classLogits = cls
            let mx = cls.max() ?? 0
            let e = cls.map { expf($0 - mx) }
            let z = e.reduce(0, +)
            let probs = e.map { $0 / z }
            probabilities = probs
            if let best = probs.indices.max(by: { probs[$0] < probs[$1] }) {
                prediction = best < s.labels.count ? s.labels[best] : String(best)
            }
            logits = run.logits.isEmpty ? nil : run.logits
        } else {
            logits = run.logits
        }
        hidden = run.hidden
        let includeTraces = traces
        let siteInfos: [SiteInfo] = trace.sites.map { site in
            let st = SiteStatistics(site)
            func rows(_ a: [Float]) -> [[Float]] {
                let C = max(site.width, 1)
                return stride(from: 0, to: a.count, by: C).map { Array(a[$0..<min($0 + C, a.count)]) }
            }
            return SiteInfo(name: site.name, neuron: site.neuron.rawValue, firingRate: st.firingRate,
                            positiveFraction: st.positiveFraction, negativeFraction: st.negativeFraction,
                            k: site.k, threshold: site.threshold, layout: site.layout.isEmpty ? nil : site.layout,
                            membrane: includeTraces ? rows(site.membrane) : nil, spikes: includeTraces ? rows(site.spikes) : nil,
                            amplitude: site.amplitude.isEmpty ? nil : site.amplitude, levels: site.levels,
                            bitsPerActivation: site.bitsPerActivation,
                            outliers: st.outliers.map { OutlierInfo(channel: $0.channel, value: $0.value, zScore: $0.zScore) },
                            salientChannels: site.salientChannels.isEmpty ? nil : site.salientChannels.map {
                                SalientInfo(channel: $0.channel, saliency: $0.saliency, timesteps: $0.timesteps, outlier: $0.outlier)
                            },
                            codingError: site.codingError, salient: site.uncarried == nil ? nil : site.salient,
                            uncarried: site.uncarried, tokenScale: site.uncarried == nil ? nil : site.amplitude, extra: nil)
        }
        sites = siteInfos
        // Rows every dense layer runs: all traced tokens (a token-stepped model's `steps` count the
        // continuation too, which the trace covers), else the tokens of the input.
        let rowsRun = s.family.steps == .tokens ? max(run.steps, run.hidden.count) : run.hidden.count
        let e = Energy.estimate(uses: m.linearUses, trace: trace, rows: rowsRun, residualSites: m.residualSites)
        energy = EnergyInfo(mac: e.mac, ac: e.ac, pj: e.pj, densePJ: e.densePJ,
                            layers: e.layers.map { LayerEnergy(name: $0.name, inputSite: $0.inputSite, mac: $0.mac, ac: $0.ac) },
                            sites: e.sites)
        self.generated = generated
        warnings = run.nonFiniteWarning.map { [$0] }
    }

    /// Pretty or compact JSON (compact by default: traces can be large).
    public func json(pretty: Bool = false) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try enc.encode(self)
    }
}
