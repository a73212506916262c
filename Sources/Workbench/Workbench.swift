// Workbench: the UI-free state of one inspection — model, input, controls, the recorded trace,
// derived statistics, the cursor — and the commands that change it.
//
// What it is: a lock-guarded object shared by the UI thread and one compute queue. Commands
// that only move the cursor apply at once; commands that change the model's controls or input
// schedule a recomputation on the compute queue. Only the newest pending request runs; results of
// superseded requests are dropped, so the screen shows the newest controls and never waits.
// What it is not: a view (TUI renders `WorkbenchState`), or curses.

import Foundation
import Engine
import Neurons
import Models

public final class Workbench: @unchecked Sendable {
    // All mutable state below is guarded by `lock`.
    private let lock = NSLock()
    private var model: any InspectableModel
    private var state: WorkbenchState
    private var codec: TextCodec
    private var requested = 0
    private var pending = false
    private var computing = false
    /// What the last staged run kept (a `StagedModel`'s), and the lowest layer whose controls
    /// changed since (`Int.max`: none). Any other change drops the cache.
    private var cache: (any RunCache)?
    private var firstChangedLayer = 0
    /// Whether the trace must be recomputed (false: only the selected site moved, so only the
    /// firing-rate-vs-k curve is new).
    private var traceStale = true
    /// Bumped whenever the baseline is pinned or unpinned (a comparison made outside the lock
    /// lands only if the baseline it used is still the one pinned).
    private var baselineVersion = 0
    /// Pins and logit-lens readings queued behind the computation (they keep `busy` on).
    private var backgroundJobs = 0
    /// The request whose first stage is on screen (for `firstPublishMillis`).
    private var firstPublished = -1
    private let queue = DispatchQueue(label: "spikescope.workbench.compute", qos: .userInitiated)

    /// Outlier fraction used when `o` switches GIF allocation to saliency-based (top 5% channels).
    public static let saliencyOutlierFraction = 0.1

    /// Sets the neuron kind and refreshes what depends on it (site names, k, threshold scales).
    /// Caller holds the lock.
    private func setNeuronLocked(_ kind: NeuronKind) {
        model.neuron = kind
        state.neuron = model.neuron
        if state.siteNames != model.siteNames {
            state.siteNames = model.siteNames
            state.thresholdScale = model.siteNames.map { _ in 1 }
            state.cursor.site = min(state.cursor.site, max(state.siteNames.count - 1, 0))
        }
        // k as the model now holds it (a neuron kind may keep its own k, e.g. GIF's one k for
        // all sites): the header and the stats panel read the same number.
        state.k = model.siteNames.map { model.frequency(site: $0) }
        state.gifOutlierFraction = model.gifOutlierFraction
        state.spikeLLM = model.spikeLLM
    }

    /// Multiplicative step of `+`/`-` on k and of `<`/`>` on the threshold.
    public static let controlStep: Float = 1.25

    public init(model: any InspectableModel, codec: TextCodec, input: InputSource, modelPath: String? = nil,
                generate: Int = 0) {
        self.model = model
        self.codec = codec
        var st = WorkbenchState(summary: model.summary, modelPath: modelPath, siteNames: model.siteNames,
                                input: input, neuron: model.neuron, timesteps: model.timesteps,
                                k: model.siteNames.map { model.frequency(site: $0) },
                                thresholdScale: model.siteNames.map { _ in 1 }, generateCount: generate)
        st.status = "ready"
        st.gifOutlierFraction = model.gifOutlierFraction
        st.spikeLLM = model.spikeLLM
        st.trainedTimesteps = model.trainedTimesteps
        self.state = st
    }

    /// The newest state (a copy).
    public func snapshot() -> WorkbenchState {
        lock.lock(); defer { lock.unlock() }
        return state
    }

    /// The model as it is now (with the controls in force), e.g. to save or to hand to training.
    public func currentModel() -> any InspectableModel {
        lock.lock(); defer { lock.unlock() }
        return model
    }

    public func setTraining(_ t: TrainingStatus?) {
        lock.lock(); state.training = t; lock.unlock()
    }

    /// Swaps in new weights (e.g. the newest checkpoint) keeping the controls, and reruns.
    public func replaceModel(_ m: any InspectableModel, path: String?, codec newCodec: TextCodec? = nil) {
        lock.lock()
        var m = m
        m.neuron = state.neuron
        if let T = state.timesteps { m.timesteps = T }
        if let q = state.spikeLLM, m.spikeLLM != nil { m.spikeLLM = q }  // the reloaded model keeps the controls
        for (i, name) in m.siteNames.enumerated() where i < state.k.count {
            m.setFrequency(state.k[i], site: name)
            if i < state.thresholdScale.count, state.thresholdScale[i] != 1 { m.scaleThreshold(by: state.thresholdScale[i], site: name) }
        }
        model = m
        if let newCodec { codec = newCodec }
        state.summary = m.summary
        state.siteNames = m.siteNames
        state.modelPath = path
        state.trainedTimesteps = m.trainedTimesteps
        state.spikeLLM = m.spikeLLM
        lock.unlock()
        schedule()
    }

    /// Applies a command; returns at once. Recomputation (if any) happens on the compute queue.
    public func apply(_ command: WorkbenchCommand) {
        lock.lock()
        state.notice = nil  // a notice lasts until the user does something
        var rerun = false, reuse = false, curveOnly = false
        let sites = state.siteNames.count
        switch command {
        case .step(let d):
            state.cursor.step = clamp(state.cursor.step + d, 0, max(state.stepCount - 1, 0))
            if state.summary.family.steps == .tokens { state.cursor.token = state.cursor.step }
        case .token(let d):
            state.cursor.token = clamp(state.cursor.token + d, 0, max(state.tokenCount - 1, 0))
            if state.summary.family.steps == .tokens { state.cursor.step = state.cursor.token }
        case .site(let d):
            state.cursor.site = clamp(state.cursor.site + d, 0, max(sites - 1, 0))
            rerun = true; reuse = true; curveOnly = true  // the frequency curve follows the selected site
        case .selectSite(let i):
            state.cursor.site = clamp(i, 0, max(sites - 1, 0)); rerun = true; reuse = true; curveOnly = true
        case .scrollNeurons(let d):
            state.cursor.neuronOffset = clamp(state.cursor.neuronOffset + d, 0, max(state.summary.width - 1, 0))
        case .selectNeuron(let i):
            state.cursor.neuron = clamp(i, 0, max(state.summary.width - 1, 0))
        case .focusNext:
            let all = Pane.allCases
            state.cursor.focus = all[(all.firstIndex(of: state.cursor.focus)! + 1) % all.count]
        case .frequency(let up):
            let f = up ? Workbench.controlStep : 1 / Workbench.controlStep
            var changed = false
            for (i, name) in state.siteNames.enumerated() where state.allSites || i == state.cursor.site {
                let before = model.frequency(site: name)
                let k = min(max(before * f, 0.05), 64)
                model.setFrequency(k, site: name)
                if model.frequency(site: name) != before { changed = true; noteChange(site: name) }
            }
            // Some neurons share one k (GIF): show what the model now holds at every site.
            state.k = state.siteNames.map { model.frequency(site: $0) }
            if changed {
                rerun = true
                reuse = true
            } else {
                // Nothing to recompute: say why instead of rerunning the same model.
                state.status = Workbench.noFrequencyControl(state)
            }
        case .toggleAllSites:
            state.allSites.toggle()
        case .threshold(let up):
            guard state.neuron != .gif && state.neuron != .none else {
                state.status = Workbench.noFrequencyControl(state)
                break
            }
            let f = up ? Workbench.controlStep : 1 / Workbench.controlStep
            for (i, name) in state.siteNames.enumerated() where state.allSites || i == state.cursor.site {
                model.scaleThreshold(by: f, site: name)
                state.thresholdScale[i] *= f
                noteChange(site: name)
            }
            rerun = true
            reuse = true
        case .timesteps(let T):
            if model.timesteps != nil {
                model.timesteps = T
                state.timesteps = model.timesteps
                if let trained = model.trainedTimesteps, trained != T {
                    // Not extrapolated: say what happens instead.
                    state.notice = "T \(T) is not the checkpoint's T \(trained): α is recalibrated on this input "
                        + "(the trained α fit T = \(trained)), so these spikes are not the trained model's"
                }
                state.cursor.step = min(state.cursor.step, T - 1)
                rerun = true
            } else {
                state.status = "timesteps apply to models that run T timesteps; \(state.summary.family.displayName)'s steps are its tokens"
            }
        case .neuron(let kind):
            setNeuronLocked(kind)
            rerun = true
        case .cycleNeuron:
            let choices = model.neuronChoices
            let i = choices.firstIndex(of: model.neuron) ?? -1
            setNeuronLocked(choices[(i + 1) % choices.count])
            state.status = "neuron: \(state.neuron.rawValue)"
            rerun = true
        case .toggleAllocation:
            if let p = model.gifOutlierFraction {
                model.gifOutlierFraction = p > 0 ? 0 : Workbench.saliencyOutlierFraction
                state.gifOutlierFraction = model.gifOutlierFraction
                rerun = true
            } else {
                state.status = "allocation applies to GIF neurons (press i to switch)"
            }
        case .spikeLLM(let knob, let up):
            if let s = model.spikeLLM {
                let next = knob.stepped(s, up: up)
                model.spikeLLM = next
                state.spikeLLM = model.spikeLLM
                state.gifOutlierFraction = model.gifOutlierFraction
                state.status = "SpikeLLM: abits \(next.abits), addbit \(next.addbit) (T = \(next.steps) steps for salient channels), low_p \(String(format: "%.2f", next.lowP))"
                    + (model.neuron == .gif ? "" : " (applies with --neuron gif; press i)")
                rerun = true
            } else {
                state.status = "abits/addbit/low_p set SpikeLLM's neuron; \(state.summary.family.displayName) does not run it"
            }
        case .prompt(let text):
            // The cache stays: a model that can resume after the tokens the prompts share does so.
            state.input = .prompt(text); rerun = true; reuse = true
        case .example(let file, let row, let ex):
            state.input = .example(file: file, row: row, ex); rerun = true; reuse = true
        case .run:
            rerun = true
        case .pinBaseline:
            if state.baseline != nil {
                state.baseline = nil; state.comparison = nil; baselineVersion += 1
                state.status = "baseline unpinned"
            } else if state.run != nil {
                let kSel = state.cursor.site < state.k.count ? String(format: "k %.2f · ", state.k[state.cursor.site]) : ""
                let recipe = BaselineRecipe(float: false, label: kSel + state.neuron.rawValue, neuron: state.neuron, timesteps: state.timesteps,
                                            k: Dictionary(zip(state.siteNames, state.k), uniquingKeysWith: { a, _ in a }),
                                            thresholdScale: Dictionary(zip(state.siteNames, state.thresholdScale), uniquingKeysWith: { a, _ in a }),
                                            spikeLLM: state.spikeLLM)
                baselineVersion += 1
                state.baseline = Baseline(label: recipe.label, tokens: state.ids + state.generatedIDs,
                                          run: ComparableRun(trace: state.trace, run: state.run, streams: cache?.streams ?? []), recipe: recipe)
                compareLocked()
                state.status = "pinned this run as the baseline B (c again: unpin)"
            } else {
                state.status = "nothing to pin yet: run an input first (Enter)"
            }
        case .sweep:
            sweepLocked()
        case .logitLens:
            if !state.summary.family.generates {
                state.status = "the logit lens reads next-token predictions; \(state.summary.family.displayName) does not generate"
            } else if let staged = model as? any StagedModel, let cache, !cache.streams.isEmpty {
                lensLocked(staged, streams: cache.streams)
            } else {
                state.status = "the logit lens needs a generating model whose layers' streams are kept (SpikeGPT)"
            }
        case .pinFloat:
            if model.neuronChoices.contains(.none) {
                pinLocked(BaselineRecipe(float: true, label: "float twin", neuron: .none, timesteps: nil, k: [:], thresholdScale: [:], spikeLLM: nil))
                state.status = "pinning the float twin (neuron none) as the baseline…"
            } else {
                state.status = "\(state.summary.family.displayName) has no float twin here (neuron none)"
            }
        }
        lock.unlock()
        if rerun { schedule(reuse: reuse, curveOnly: curveOnly) }
    }

    /// Makes the baseline `recipe` describes — the float twin, or this model with its controls —
    /// on the tokens on screen, on the compute queue (after any run in progress), and pins it.
    /// Caller holds the lock.
    private func pinLocked(_ recipe: BaselineRecipe) {
        var twin = model.copy()
        if recipe.float {
            twin.neuron = .none
        } else {
            if let q = recipe.spikeLLM, twin.spikeLLM != nil { twin.spikeLLM = q }
            if twin.neuronChoices.contains(recipe.neuron) { twin.neuron = recipe.neuron }
            if let t = recipe.timesteps, twin.timesteps != nil { twin.timesteps = t }
            for name in twin.siteNames {
                if let k = recipe.k[name] { twin.setFrequency(k, site: name) }
                // The copy carries this model's threshold scales: move them to the recipe's.
                let now = state.siteNames.firstIndex(of: name).map { state.thresholdScale[$0] } ?? 1
                if let ts = recipe.thresholdScale[name], ts != now { twin.scaleThreshold(by: ts / now, site: name) }
            }
        }
        let floatTwin = twin
        state.busy = true
        backgroundJobs += 1
        queue.async { [self] in
            lock.lock()
            let input = ModelInput(ids: state.ids + state.generatedIDs,
                                   typeIds: state.typeIds.isEmpty ? [] : state.typeIds + Array(repeating: 0, count: state.generatedCount))
            lock.unlock()
            var m = floatTwin
            if m.needsPreparation { try? m.prepare(for: input) }
            let p = Probe(recordCurrent: false)
            let r = input.ids.isEmpty ? nil : try? m.run(input, probe: p)
            let streams = (try? Comparison.streams(of: m, input: input)) ?? []
            lock.lock(); defer { lock.unlock() }
            backgroundJobs -= 1
            state.busy = computing || pending || backgroundJobs > 0
            guard let r, state.ids + state.generatedIDs == input.ids else {
                state.status = "the baseline did not run on this input"; return
            }
            baselineVersion += 1
            state.baseline = Baseline(label: recipe.label, tokens: input.ids,
                                      run: ComparableRun(trace: p.trace, logits: r.logits, classLogits: r.classLogits, streams: streams),
                                      recipe: recipe)
            compareLocked()
            state.status = "pinned \(recipe.label) as the baseline B (c: unpin)"
            state.revision += 1
        }
    }

    /// Pins the baseline a session saved (after the run in progress).
    public func pin(_ recipe: BaselineRecipe) {
        lock.lock(); pinLocked(recipe); lock.unlock()
    }

    /// Sweeps the neuron's control on the tokens on screen against the float twin, on the compute
    /// queue: k over 0.5…4 (8 values), or SpikeLLM's abits 2…8 for GIF. Caller holds the lock.
    private func sweepLocked() {
        let (control, values): (SweepControl, [Double]) = state.neuron == .gif
            ? (.abits, Sweep.grid(2, 8, 7, integer: true)) : (.k, Sweep.grid(0.5, 4, 8, integer: false))
        guard state.neuron != .none, model.neuronChoices.contains(.none), !state.ids.isEmpty else {
            state.status = state.neuron == .none ? "sweep: choose a spiking neuron first (i)" : "sweep: run an input first"
            return
        }
        let m = model
        let input = ModelInput(ids: state.ids + state.generatedIDs,
                               typeIds: state.typeIds.isEmpty ? [] : state.typeIds + Array(repeating: 0, count: state.generatedCount))
        state.status = "sweeping \(control.rawValue) over \(values.count) values…"
        state.busy = true
        backgroundJobs += 1
        queue.async { [self] in
            let result = Swift.Result { try Sweep.run(model: m, input: input, control: control, values: values) }
            lock.lock(); defer { lock.unlock() }
            backgroundJobs -= 1
            state.busy = computing || pending || backgroundJobs > 0
            switch result {
            case .success(let r): state.sweep = r; state.status = "sweep of \(control.rawValue): energy vs divergence from float (w: close)"
            case .failure(let e): state.status = "sweep failed: \(e)"
            }
            state.revision += 1
        }
    }

    /// Clears the sweep popup.
    public func closeSweep() { lock.lock(); state.sweep = nil; lock.unlock() }

    /// Computes the logit lens at the cursor token on the compute queue. Caller holds the lock.
    private func lensLocked(_ model: any StagedModel, streams: [[Float]]) {
        let token = state.cursor.token, rows = state.ids.count + state.generatedCount
        let bStreams = state.baseline?.run.streams ?? []
        let decode = codec.decode
        state.status = "logit lens at token \(token)…"
        state.busy = true
        backgroundJobs += 1
        queue.async { [self] in
            func top5(_ s: [[Float]], _ i: Int) -> [String] {
                guard i < s.count, rows > 0, s[i].count % rows == 0 else { return [] }
                let C = s[i].count / rows
                guard token < rows, let l = model.lens(row: Array(s[i][(token * C)..<((token + 1) * C)])) else { return [] }
                return l.indices.sorted { l[$0] > l[$1] }.prefix(5).map { decode([$0]) }
            }
            let layers = (1..<streams.count).map { i in (a: top5(streams, i), b: top5(bStreams, i)) }
            lock.lock(); defer { lock.unlock() }
            backgroundJobs -= 1
            state.busy = computing || pending || backgroundJobs > 0
            guard layers.contains(where: { !$0.a.isEmpty }) else {
                state.status = "this model has no head to read the layers with"; return
            }
            state.lens = LogitLens(token: token, layers: layers)
            state.status = "logit lens at token \(token): top-5 next tokens after each layer" + (bStreams.isEmpty ? "" : " (this run | B)")
            state.revision += 1
        }
    }

    /// The run on screen against the baseline. Caller holds the lock.
    private func compareLocked() {
        guard let b = state.baseline else { state.comparison = nil; return }
        state.comparison = Comparison.compare(ComparableRun(trace: state.trace, run: state.run, streams: cache?.streams ?? []), to: b.run)
    }

    /// Why k and the threshold do nothing here (status line).
    static func noFrequencyControl(_ s: WorkbenchState) -> String {
        if s.neuron == .gif {
            return "SpikeLLM's neuron (GIF) has no frequency control or threshold: m/M abits, x/X addbit, l/L low_p"
        }
        if s.neuron == .none { return "neuron none runs the float model: no spikes, no k or threshold (i: choose a neuron)" }
        return "\(s.summary.family.displayName) has no frequency control at its \(s.neuron.rawValue) sites"
    }

    /// A control at `site` changed: its layer and the later ones must be recomputed. Caller
    /// holds the lock.
    private func noteChange(site: String) {
        let l = (model as? any StagedModel)?.layer(ofSite: site) ?? 0
        firstChangedLayer = min(firstChangedLayer, l)
    }

    /// Changes model and state together under the lock (no recompute; call `schedule`).
    public func mutate(_ body: (inout any InspectableModel, inout WorkbenchState) -> Void) {
        lock.lock()
        body(&model, &state)
        lock.unlock()
    }

    /// Asks for a recomputation with the current model and input (newest request wins). With
    /// `reuse`, the last run's cache serves the layers before the first changed one (callers that
    /// changed a control said which with `noteChange`); otherwise everything is recomputed. With
    /// `curveOnly`, nothing changed but the selected site: only its rate-vs-k curve is new.
    public func schedule(reuse: Bool = false, curveOnly: Bool = false) {
        lock.lock()
        if !reuse { cache = nil; firstChangedLayer = 0 }
        if !curveOnly { traceStale = true }
        requested += 1
        state.busy = true
        if computing { pending = true; lock.unlock(); return }
        computing = true
        lock.unlock()
        queue.async { [self] in computeLoop() }
    }

    /// Waits (CLI, tests, benchmarks) until nothing is being computed: the trace, its
    /// continuation and the rate-vs-k curve are all in. Schedules nothing.
    @discardableResult
    public func waitUntilIdle(timeout: TimeInterval = 120) -> WorkbenchState {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let s = snapshot()
            if !s.busy && !s.curvePending { return s }
            Thread.sleep(forTimeInterval: 0.002)
        }
        return snapshot()
    }

    /// Runs synchronously (CLI, tests): schedules and waits for the result.
    public func runAndWait(timeout: TimeInterval = 120) -> WorkbenchState {
        let before = snapshot().revision
        schedule()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let s = snapshot()
            if s.revision > before && !s.busy && !s.curvePending { return s }
            Thread.sleep(forTimeInterval: 0.002)
        }
        return snapshot()
    }

    private func computeLoop() {
        while true {
            lock.lock()
            let ticket = requested
            let m = model, input = state.input, c = codec, site = state.cursor.site, gen = state.generateCount
            let reuse = cache, from = firstChangedLayer, stale = traceStale || state.run == nil
            firstChangedLayer = Int.max
            traceStale = false
            pending = false
            lock.unlock()

            let t0 = DispatchTime.now().uptimeNanoseconds
            // A model that must calibrate on its first input (SpikeBERT without α) does so here, on
            // a copy; the calibrated copy replaces the model below if no newer request came in.
            var prepared: (any InspectableModel)? = nil
            if stale, m.needsPreparation, let enc = try? Workbench.encode(c, input) {
                var p = m.copy()
                if (try? p.prepare(for: ModelInput(ids: enc.ids, typeIds: enc.typeIds))) != nil { prepared = p }
            }
            var landed = true
            var curveInput: (ids: [Int], typeIds: [Int])? = nil
            if stale {
                let staged = (prepared ?? m) as? any StagedModel
                let result: Swift.Result<Result, Error>
                var newCache: (any RunCache)? = nil
                if let staged {
                    // Staged: publish the prompt's trace, then each continuation token as it lands.
                    let r = Workbench.computeStaged(model: staged, codec: c, input: input, generate: gen,
                                                    cache: prepared == nil ? reuse : nil, firstLayer: from,
                                                    alive: { self.lock.lock(); defer { self.lock.unlock() }; return ticket == self.requested }) { partial in
                        self.publish(partial, ticket: ticket, t0: t0, complete: false)
                    }
                    switch r {
                    case .success(let v?): result = .success(v.result); newCache = v.cache
                    case .success(nil): result = .failure(CancellationError()); landed = false
                    case .failure(let e): result = .failure(e)
                    }
                } else {
                    result = Workbench.compute(model: prepared ?? m, codec: c, input: input, generate: gen)
                }
                lock.lock()
                if ticket == requested, let prepared { model = prepared }
                if ticket == requested, landed {
                    cache = newCache
                } else {
                    // Superseded: what this run would have recomputed is still to be recomputed.
                    firstChangedLayer = min(firstChangedLayer, from)
                    traceStale = true
                    landed = false
                }
                lock.unlock()
                if landed {
                    switch result {
                    case .success(let r):
                        // Against the pinned baseline, outside the lock (site by site over every
                        // row, and the logits: not work for the UI thread to wait on).
                        lock.lock()
                        let pinned = state.baseline, version = baselineVersion, streams = cache?.streams ?? []
                        lock.unlock()
                        let cmp = pinned.map { Comparison.compare(ComparableRun(trace: r.trace, run: r.run, streams: streams), to: $0.run) }
                        if publish(r, ticket: ticket, t0: t0, complete: true, comparison: (version, cmp)) {
                            let typeIds = r.typeIds.isEmpty ? [] : r.typeIds + Array(repeating: 0, count: r.generated.count)
                            curveInput = (r.ids + r.generated, typeIds)
                        }
                    case .failure(let e):
                        lock.lock()
                        if ticket == requested {
                            state.error = "\(e)"
                            state.status = "error"
                            state.curvePending = false
                            state.computeMillis = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                            state.revision += 1
                            state.busy = pending || backgroundJobs > 0
                        }
                        lock.unlock()
                    }
                }
            } else {
                // Only the selected site moved: the trace stands; its curve is new.
                lock.lock()
                if ticket == requested {
                    let typeIds = state.typeIds.isEmpty ? [] : state.typeIds + Array(repeating: 0, count: state.generatedCount)
                    curveInput = (state.ids + state.generatedIDs, typeIds)
                    state.curvePending = true
                    state.busy = pending || backgroundJobs > 0
                    state.revision += 1
                }
                lock.unlock()
            }

            // Second phase, after the new trace is on screen: the firing-rate-vs-k curve of the
            // selected site. Skipped when a newer request is waiting.
            if let (ids, typeIds) = curveInput {
                // Over the same tokens as the trace (prompt + continuation): at the current k the curve
                // is the rate the site list shows — one definition of "firing rate".
                let model = prepared ?? m
                lock.lock(); let cached = cache; lock.unlock()
                let curve = Workbench.frequencyCurve(model: model, ids: ids, typeIds: typeIds, site: site, cache: cached) {
                    self.lock.lock(); defer { self.lock.unlock() }
                    return ticket == self.requested
                }
                lock.lock()
                if ticket == requested { state.frequencyCurve = curve; state.curvePending = false }
                lock.unlock()
            }
            lock.lock()
            if !pending { computing = false; lock.unlock(); return }
            lock.unlock()
        }
    }

    /// Puts a (partial or complete) result on screen if no newer request came in; returns
    /// whether it did. A partial result keeps the workbench busy (the continuation is coming).
    @discardableResult
    private func publish(_ r: Result, ticket: Int, t0: UInt64, complete: Bool,
                         comparison: (version: Int, value: RunComparison?)? = nil) -> Bool {
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        lock.lock(); defer { lock.unlock() }
        guard ticket == requested else { return false }
        state.ids = r.ids; state.typeIds = r.typeIds; state.tokenStrings = r.tokens
        state.generatedCount = r.generated.count
        state.generatedIDs = r.generated
        state.generatedText = r.generatedText
        state.run = r.run; state.trace = r.trace; state.stats = r.stats; state.energy = r.energy
        state.error = nil
        state.lens = nil
        if complete {
            if let c = comparison, c.version == baselineVersion { state.comparison = c.value } else { compareLocked() }
        }
        if complete {
            state.status = String(format: "computed in %.0f ms", ms)
            if r.run.nonFiniteWarning != nil { state.status += " · WARNING: NaN/Inf in the outputs (bad weights?)" }
            if let n = state.notice { state.status += " · " + n }
            state.computeMillis = ms
            state.curvePending = true
            state.busy = pending || backgroundJobs > 0
            state.partial = false
            if firstPublished != ticket { state.firstPublishMillis = ms; firstPublished = ticket }
        } else {
            if r.generated.isEmpty { state.firstPublishMillis = ms; firstPublished = ticket }
            state.status = String(format: "prompt in %.0f ms · generating %d/%d…", state.firstPublishMillis ?? ms, r.generated.count, state.generateCount)
            state.busy = true
            state.partial = true
        }
        state.cursor.step = min(state.cursor.step, max(state.stepCount - 1, 0))
        state.cursor.token = min(state.cursor.token, max(state.tokenCount - 1, 0))
        state.revision += 1
        return true
    }

    /// Firing rate of `site` for k around its current value (5 samples, ×/÷ 1.25²). A staged
    /// model with a cache recomputes only the site's layer per sample; `alive` false stops early.
    static func frequencyCurve(model: any InspectableModel, ids: [Int], typeIds: [Int], site: Int, cache: (any RunCache)? = nil,
                               alive: () -> Bool = { true }) -> [(k: Float, rate: Double)] {
        // SpikeLLM's neuron (GIF) has no frequency control: no curve.
        guard site < model.siteNames.count, model.neuron != .none, model.neuron != .gif else { return [] }
        let name = model.siteNames[site]
        let k0 = model.frequency(site: name)
        var curve: [(k: Float, rate: Double)] = []
        for f in [0.64, 0.8, 1, 1.25, 1.5625] as [Float] {
            guard alive() else { return curve }
            if let staged = model as? any StagedModel, let cache, cache.tokens == ids,
               let rate = try? staged.siteRate(site: name, k: k0 * f, cache: cache) {
                curve.append((k0 * f, rate))
                continue
            }
            var m = model.copy()
            m.setFrequency(k0 * f, site: name)
            let p = Probe(recordCurrent: false)
            guard (try? m.run(ModelInput(ids: ids, typeIds: typeIds), probe: p)) != nil else { return curve }
            curve.append((k0 * f, p.trace[name]?.firingRate ?? 0))
        }
        return curve
    }

    struct Result: Sendable {
        var ids: [Int], typeIds: [Int], tokens: [String]
        var generated: [Int], generatedText: String
        var run: ModelRun, trace: Trace, stats: [SiteStatistics], energy: EnergyEstimate
    }

    static func encode(_ codec: TextCodec, _ input: InputSource) throws -> (ids: [Int], typeIds: [Int], tokens: [String]) {
        switch input {
        case .prompt(let text): return try codec.encode(text, nil)
        case .example(_, _, let row): return try codec.encode(row.text, row.textPair)
        }
    }

    /// One staged computation (a `StagedModel`): encode, run reusing `cache` from `firstLayer`,
    /// `partial` with the prompt's result and after each continuation token; nil when cancelled
    /// (`partial` returned false).
    /// Continuation tokens land on screen at most this often, and no sooner than 3× the last
    /// publish took after it (each publish computes the statistics of every site over every row
    /// so far: on a 30-layer LLaMA with GIF that is ~10⁷ values, and publishing every token would
    /// double the run); the prompt's stage and the last token always land.
    static let publishInterval: UInt64 = 50_000_000

    static func computeStaged(model: any StagedModel, codec: TextCodec, input: InputSource, generate: Int,
                              cache: (any RunCache)?, firstLayer: Int, alive: () -> Bool,
                              partial: (Result) -> Bool) -> Swift.Result<(result: Result, cache: any RunCache)?, Error> {
        do {
            let enc = try encode(codec, input)
            guard !enc.ids.isEmpty else {
                throw ModelError.badInput(reason: "the input encodes to no tokens", hint: "type a prompt with `p`")
            }
            var sampler = Sampler()
            let generates = model.summary.family.generates ? generate : 0
            func result(_ st: RunStage) -> Result {
                let stats = model.siteNames.map { name in st.trace[name].map { SiteStatistics($0) } ?? SiteStatistics(SiteTrace(name: name, neuron: .none, width: 0)) }
                let energy = Energy.estimate(uses: model.linearUses, trace: st.trace, rows: enc.ids.count + st.generated.count,
                                             residualSites: model.residualSites)
                var run = st.run
                run.steps = enc.ids.count + st.generated.count
                return Result(ids: enc.ids, typeIds: enc.typeIds, tokens: enc.tokens + st.generated.map { codec.decode([$0]) },
                              generated: st.generated, generatedText: codec.decode(st.generated), run: run, trace: st.trace,
                              stats: stats, energy: energy)
            }
            var next: UInt64 = 0
            let stage = { (st: RunStage) -> Bool in
                if st.complete { return true }
                let now = DispatchTime.now().uptimeNanoseconds
                guard st.generated.isEmpty || now >= next else { return alive() }
                let shown = partial(result(st))
                let done = DispatchTime.now().uptimeNanoseconds
                next = done + max(publishInterval, 3 * (done - now))
                return shown
            }
            guard let out = try model.staged(prompt: ModelInput(ids: enc.ids, typeIds: enc.typeIds), count: generates, sampler: &sampler,
                                             cache: cache, firstLayer: firstLayer, stage: stage)
            else { return .success(nil) }
            return .success((result(out.stage), out.cache))
        } catch {
            return .failure(error)
        }
    }

    /// One computation: encode, run (and generate), statistics.
    static func compute(model: any InspectableModel, codec: TextCodec, input: InputSource,
                        generate: Int) -> Swift.Result<Result, Error> {
        do {
            let enc = try encode(codec, input)
            guard !enc.ids.isEmpty else {
                throw ModelError.badInput(reason: "the input encodes to no tokens", hint: "type a prompt with `p`")
            }
            let probe = Probe()
            var run: ModelRun
            var generated: [Int] = []
            let input = ModelInput(ids: enc.ids, typeIds: enc.typeIds)
            var sampler = Sampler()
            if generate > 0, let g = try model.generate(prompt: input, count: generate, sampler: &sampler, probe: probe) {
                generated = g.tokens
                run = g.run
            } else {
                run = try model.run(input, probe: probe)
            }
            let trace = probe.trace
            // One entry per site the model names, in its order (the views index both by position).
            let stats = model.siteNames.map { name in trace[name].map { SiteStatistics($0) } ?? SiteStatistics(SiteTrace(name: name, neuron: .none, width: 0)) }
            let energy = Energy.estimate(uses: model.linearUses, trace: trace, rows: enc.ids.count + generated.count,
                                         residualSites: model.residualSites)
            let toks = enc.tokens + generated.map { codec.decode([$0]) }
            return .success(Result(ids: enc.ids, typeIds: enc.typeIds, tokens: toks, generated: generated,
                                   generatedText: codec.decode(generated), run: run, trace: trace, stats: stats,
                                   energy: energy))
        } catch {
            return .failure(error)
        }
    }
}

@inline(__always) func clamp(_ x: Int, _ lo: Int, _ hi: Int) -> Int { min(max(x, lo), hi) }
