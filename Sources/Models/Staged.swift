// Staged: how the workbench reruns a model after a control change without recomputing what the
// change cannot affect, and shows the result as it comes (issue 22).
//
// What it is: `StagedModel`, a protocol a family adopts when its forward runs layer by layer: it
// says which layer each site belongs to, runs prompt + continuation reusing a `RunCache` of the
// previous run for the layers before the first changed one, and reports each stage (the prompt's
// trace, then every continuation token) as it lands, stopping when told to. The callers never
// name a family: they test `model as? any StagedModel`.
// What it is not: the cache's contents (each family keeps its own, opaque here) or a scheduler
// (the workbench decides when to run and what to publish).

import Neurons

/// What a staged run keeps for the next one. Opaque outside the family that made it.
public protocol RunCache: Sendable {
    /// Tokens the cached run ran (prompt, then continuation).
    var tokens: [Int] { get }
    /// The residual stream entering each layer and, last, leaving the final one: `streams[i]` is
    /// rows × width values (empty when the family keeps none). Comparisons read it per layer.
    var streams: [[Float]] { get }
}

extension RunCache {
    public var streams: [[Float]] { [] }
}

/// One stage of a staged run, as it lands.
public struct RunStage: Sendable {
    /// The trace so far: every site, the prompt's rows and the continuation's rows so far.
    public var trace: Trace
    /// Continuation tokens so far.
    public var generated: [Int]
    /// The prompt's run: class logits (classifiers) and final hidden states; `logits` empty (the
    /// head runs only where sampling needs it; see `StagedModel`).
    public var run: ModelRun
    /// Whether this is the last stage.
    public var complete: Bool
}

public protocol StagedModel: InspectableModel {
    /// The layer (0-based) whose computation a control at `site` changes: that layer and every
    /// later one must be recomputed, earlier ones not.
    func layer(ofSite site: String) -> Int
    /// Runs `prompt` and `count` sampled continuation tokens (each fed back, as `generate` does),
    /// reusing `cache` for layers before `firstLayer` where the tokens match it (nil or a
    /// mismatch: from scratch). Calls `stage` with the prompt's trace, then after each
    /// continuation token; when `stage` returns false the run stops and returns nil. The final
    /// result is bit-identical to a run from scratch with the same controls.
    func staged(prompt: ModelInput, count: Int, sampler: inout Sampler, cache: (any RunCache)?, firstLayer: Int,
                stage: (RunStage) -> Bool) throws -> (stage: RunStage, cache: any RunCache)?
    /// The firing rate of `site` with its k set to `k`, over the tokens of `cache` (computed as the
    /// staged run computes them, so at the k in force it equals the trace's rate), recomputing
    /// only the site's layer from the cached inputs; nil when the cache cannot serve it.
    func siteRate(site: String, k: Float, cache: any RunCache) throws -> Double?
    /// The logit lens: next-token logits read from one row of the residual stream (as the model
    /// reads its last one: final norm, then the head); nil when the family has no such head.
    func lens(row: [Float]) -> [Float]?
}

extension StagedModel {
    public func lens(row: [Float]) -> [Float]? { nil }
}
