// Comparison: run A against a baseline run B, site by site and at the output (issue 18).
//
// What it is: pure functions of two traces (and their outputs) — per site the change of firing
// rate, how far A's site output moved from B's (cosine, relative error, flipped cells), and for
// the model's output the KL divergence and top-k agreement of next-token distributions
// (generators) or the change of class probabilities (classifiers). Used by `inspect
// --compare-to` and `spikescope sweep`.
// What it is not: a view, or a runner (callers run both models).
//
// A site's "output" is what it passes on, decoded: spikes × α of their timestep for amplitude
// neurons (elastic, ±1, {0,1}: `SiteTrace.amplitude` per τ of a [T, L] layout), else what the trace
// records as emitted (LIF spikes, GIF levels, or for neuron none the values passed on); over the
// rows both runs have; sites are matched by name. Firing rates and changed cells count spikes.

import Foundation
import Neurons
import Models

public struct SiteComparison: Codable, Sendable, Equatable {
    public var name: String
    public var rateA: Double
    public var rateB: Double
    /// rateA − rateB.
    public var deltaRate: Double
    /// cos(A, B) of the site outputs over the common rows; nil when either is all zeros.
    public var cosine: Double?
    /// ‖A − B‖ / ‖B‖ (nil when B is all zeros).
    public var relativeError: Double?
    /// Cells (row × channel) whose output differs.
    public var changed: Int
    /// Rows compared (the shorter run's).
    public var rows: Int
    enum CodingKeys: String, CodingKey {
        case name, rateA = "rate_a", rateB = "rate_b", deltaRate = "delta_rate", cosine, relativeError = "relative_error", changed, rows
    }
}

public struct RunComparison: Codable, Sendable, Equatable {
    /// Sites present in both runs, in A's order.
    public var sites: [SiteComparison]
    /// The first site (in A's order) whose cosine falls below `divergenceThreshold`.
    public var firstDivergentSite: String?
    /// Generators: mean over the common rows of KL(B ‖ A) of the next-token distributions.
    public var outputKL: Double?
    /// Generators: fraction of rows whose most likely next token agrees, and mean overlap of the top 5.
    public var top1Agreement: Double?
    public var top5Overlap: Double?
    /// Classifiers: class probabilities of A minus B's.
    public var classProbabilityDelta: [Double]?
    /// Cosine of A's residual stream to B's leaving each layer (index i: after layer i), over the
    /// common rows; empty when a run kept no streams.
    public var layerCosine: [Double] = []
    /// The first layer whose stream cosine falls below `divergenceThreshold`.
    public var firstDivergentLayer: Int?
    /// Site names by how far their output moved (relative error to B, largest first; sites
    /// without one last).
    public var ranking: [String] = []
    public static let divergenceThreshold = 0.99
    enum CodingKeys: String, CodingKey {
        case sites, firstDivergentSite = "first_divergent_site", outputKL = "output_kl", top1Agreement = "top1_agreement",
             top5Overlap = "top5_overlap", classProbabilityDelta = "class_probability_delta"
        case layerCosine = "layer_cosine", firstDivergentLayer = "first_divergent_layer", ranking
    }
}

/// What a run contributes to a comparison: its trace and outputs.
public struct ComparableRun: Sendable {
    public var trace: Trace
    /// Next-token logits per row (generators; empty otherwise).
    public var logits: [[Float]]
    public var classLogits: [Float]?
    /// The residual stream entering each layer, then leaving the last (`RunCache.streams`).
    public var streams: [[Float]]
    /// The position (row) of `logits[0]`: 0 for a full run, the last prompt row for a staged one.
    public var logitsStart: Int
    public init(trace: Trace, logits: [[Float]] = [], classLogits: [Float]? = nil, streams: [[Float]] = [], logitsStart: Int = 0) {
        self.trace = trace; self.logits = logits; self.classLogits = classLogits; self.streams = streams; self.logitsStart = logitsStart
    }

    /// A model run's outputs: every row's logits, or a staged run's sampled rows.
    public init(trace: Trace, run: ModelRun?, streams: [[Float]] = []) {
        let full = !(run?.logits.isEmpty ?? true)
        self.init(trace: trace, logits: full ? run!.logits : (run?.sampled ?? []), classLogits: run?.classLogits, streams: streams,
                  logitsStart: full ? 0 : (run?.sampledStart ?? 0))
    }
}

public enum Comparison {
    /// Whether two traces of a site line up cell by cell: the same width, and the same row layout
    /// where it has sub-steps (a GIF site's [steps, tokens] against a float site's [tokens] does not).
    public static func comparable(_ a: SiteTrace, _ b: SiteTrace) -> Bool {
        a.width == b.width && (a.layout.count < 2 && b.layout.count < 2 || a.layout == b.layout)
    }

    /// The factor that decodes row r's spikes: α of the row's timestep for amplitude neurons.
    static func decodedScale(_ s: SiteTrace) -> (Int) -> Double {
        guard s.neuron.alphabet != nil, !s.amplitude.isEmpty else { return { _ in 1 } }
        let L = s.layout.count == 2 ? max(s.layout[1], 1) : max(s.steps, 1)
        let alpha = s.amplitude
        return { r in Double(alpha[min(r / L, alpha.count - 1)]) }
    }

    /// One site of A against the same site of B (rates only when the cells do not line up).
    public static func site(_ a: SiteTrace, _ b: SiteTrace) -> SiteComparison {
        let C = min(a.width, b.width)
        let lined = comparable(a, b)
        let rows = lined ? min(a.steps, b.steps) : 0
        var dot = 0.0, na = 0.0, nb = 0.0, diff = 0.0, changed = 0, same = true
        if lined {
            let n = rows * C
            let sa = decodedScale(a), sb = decodedScale(b)
            for i in 0..<n {
                let x = Double(a.spikes[i]) * sa(i / C), y = Double(b.spikes[i]) * sb(i / C)
                dot += x * y; na += x * x; nb += y * y; diff += (x - y) * (x - y)
                if a.spikes[i] != b.spikes[i] { changed += 1 }
                if x != y { same = false }
            }
        }
        let ra = a.neuron == .none ? 0 : a.firingRate, rb = b.neuron == .none ? 0 : b.firingRate
        // Identical outputs compare as exactly 1 (the square roots would leave a last-bit error).
        let cosine: Double? = !lined ? nil : same ? 1
            : (na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : (na == 0 && nb == 0 ? 1 : nil))
        return SiteComparison(name: a.name, rateA: ra, rateB: rb, deltaRate: ra - rb,
                              cosine: cosine,
                              relativeError: !lined ? nil : nb > 0 ? (diff / nb).squareRoot() : (na == 0 ? 0 : nil),
                              changed: changed, rows: rows)
    }

    /// Indices of the `k` largest values, largest first (one pass: V is 50K on a released model).
    static func top(_ k: Int, _ v: [Float]) -> [Int] {
        var best: [Int] = []
        for i in v.indices {
            guard best.count < k || v[i] > v[best[best.count - 1]] else { continue }
            var j = min(best.count, k - 1)
            if best.count < k { best.append(i) } else { best[j] = i }
            while j > 0 && v[best[j]] > v[best[j - 1]] { best.swapAt(j, j - 1); j -= 1 }
        }
        return best
    }

    /// Softmax of one row, in Double.
    static func softmax(_ l: [Float]) -> [Double] {
        let m = Double(l.max() ?? 0)
        let e = l.map { exp(Double($0) - m) }
        let z = e.reduce(0, +)
        return e.map { $0 / z }
    }

    public static func compare(_ a: ComparableRun, to b: ComparableRun) -> RunComparison {
        var sites: [SiteComparison] = []
        for sa in a.trace.sites { if let sb = b.trace[sa.name] { sites.append(site(sa, sb)) } }
        var out = RunComparison(sites: sites)
        out.ranking = sites.enumerated().sorted { x, y in
            let a = x.element.relativeError ?? -1, b = y.element.relativeError ?? -1
            return a != b ? a > b : x.offset < y.offset
        }.map(\.element.name)
        out.firstDivergentSite = sites.first { ($0.cosine ?? 0) < RunComparison.divergenceThreshold }?.name
        // The positions both runs have logits for.
        let lo = max(a.logitsStart, b.logitsStart), hi = min(a.logitsStart + a.logits.count, b.logitsStart + b.logits.count)
        let rows = max(0, hi - lo)
        if rows > 0 {
            let la = Array(a.logits[(lo - a.logitsStart)..<(hi - a.logitsStart)])
            let lb = Array(b.logits[(lo - b.logitsStart)..<(hi - b.logitsStart)])
            var top1 = 0, overlap = 0.0
            for (x, y) in zip(la, lb) {
                let ta = top(5, x), tb = top(5, y)
                if ta.first == tb.first { top1 += 1 }
                overlap += Double(Set(ta).intersection(tb).count) / Double(max(min(ta.count, 5), 1))
            }
            out.outputKL = meanKL(lb, la)  // KL(B ‖ A), B the reference
            out.top1Agreement = Double(top1) / Double(rows)
            out.top5Overlap = overlap / Double(rows)
        }
        if let ca = a.classLogits, let cb = b.classLogits, ca.count == cb.count {
            out.classProbabilityDelta = zip(softmax(ca), softmax(cb)).map { $0 - $1 }
        }
        out.layerCosine = layerCosine(a.streams, b.streams)
        out.firstDivergentLayer = out.layerCosine.firstIndex { $0 < RunComparison.divergenceThreshold }
        return out
    }

    /// cos(A, B) of the stream leaving each layer (streams[i + 1]), over the common prefix of values.
    public static func layerCosine(_ a: [[Float]], _ b: [[Float]]) -> [Double] {
        guard a.count == b.count, a.count > 1 else { return [] }
        return (1..<a.count).map { i in
            let n = min(a[i].count, b[i].count)
            var dot = 0.0, na = 0.0, nb = 0.0
            for j in 0..<n { let x = Double(a[i][j]), y = Double(b[i][j]); dot += x * y; na += x * x; nb += y * y }
            if a[i].prefix(n) == b[i].prefix(n) { return 1 }
            return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
        }
    }
}

extension Comparison {
    /// The residual streams of `model` on `input` (a staged run without continuation), or none
    /// when the family keeps none.
    public static func streams(of model: any InspectableModel, input: ModelInput) throws -> [[Float]] {
        guard let staged = model as? any StagedModel else { return [] }
        var sampler = Sampler()
        return try staged.staged(prompt: input, count: 0, sampler: &sampler, cache: nil, firstLayer: 0) { _ in true }?.cache.streams ?? []
    }
}

extension ComparableRun {
    /// A saved `inspect --json` report as a baseline: its sites' spikes (the report must carry
    /// traces), logits and class logits.
    /// - Throws: `ModelError.badInput` naming the file and what is missing.
    public static func load(report path: String) throws -> ComparableRun {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.badInput(reason: "cannot read the baseline report \(path)", hint: "give a file written by `spikescope inspect --json`, or `float`")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let sites = obj["sites"] as? [[String: Any]] else {
            throw ModelError.badInput(reason: "\(path) is not an inspect report (no \"sites\" list)", hint: "write it with `spikescope inspect --json > FILE`")
        }
        var trace = Trace()
        for s in sites {
            guard let name = s["name"] as? String else { continue }
            guard let rows = s["spikes"] as? [[Double]] else {
                throw ModelError.badInput(reason: "\(path): site \(name) has no spikes (the report was written with --no-traces)",
                                          hint: "rerun the baseline without --no-traces")
            }
            let width = rows.first?.count ?? 0
            var t = SiteTrace(name: name, neuron: NeuronKind(rawValue: s["neuron"] as? String ?? "") ?? .lif, width: width,
                              layout: s["layout"] as? [Int] ?? [])
            t.spikes = rows.flatMap { $0.map(Float.init) }
            t.membrane = t.spikes
            t.amplitude = (s["amplitude"] as? [Double] ?? []).map(Float.init)
            trace.sites.append(t)
        }
        let logits = (obj["logits"] as? [[Double]] ?? []).map { $0.map(Float.init) }
        let cls = (obj["class_logits"] as? [Double]).map { $0.map(Float.init) }
        let streams = (obj["streams"] as? [[[Double]]] ?? []).map { $0.flatMap { $0.map(Float.init) } }
        return ComparableRun(trace: trace, logits: logits, classLogits: cls, streams: streams)
    }
}
