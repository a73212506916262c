// KeyMap: every key binding of the workbench, one field per action (gitui's key_list.rs), as
// data. Views match events against fields (`keys.quit.matches(e)`) and the help screen and key
// bar list them, so help can never disagree with behaviour. Not the dispatch itself: the
// workbench app decides what each action does. Bindings are issue 7's, plus Esc/Home/End.

import Models
import Neurons

/// One action's keys and its texts.
public struct KeyBinding: Hashable, Sendable {
    public var keys: [KeyEvent]
    /// Short label for the key bar ("quit").
    public var label: String
    /// One sentence for the help screen.
    public var description: String
    /// Help section.
    public var group: String
    /// Overrides the key names joined by "/" (e.g. "1-8").
    public var keyText: String?

    public init(_ keys: [KeyEvent], label: String, description: String, group: String, keyText: String? = nil) {
        self.keys = keys
        self.label = label
        self.description = description
        self.group = group
        self.keyText = keyText
    }

    public func matches(_ event: KeyEvent) -> Bool { keys.contains(event) }

    /// The keys as shown to the user, e.g. "←/→" or "Left/Right".
    public func keyLabel(_ caps: Capabilities) -> String {
        keyText ?? keys.map { $0.name(caps) }.joined(separator: "/")
    }
}

public struct KeyMap: Hashable, Sendable {
    /// The registered families that step through timesteps, by name ("SpikeBERT").
    static let timestepFamilies = ModelRegistry.standard.families.filter { $0.traits.steps == .timesteps }
        .map(\.traits.displayName).joined(separator: " and ")
    /// "SpikeGPT: LIF, GIF, none; SpikeBERT: elastic, …" from the registered families.
    static let neuronsByFamily = ModelRegistry.standard.families.map { f in
        f.traits.displayName + ": " + f.neuronKinds.map { [.lif, .gif].contains($0) ? $0.rawValue.uppercased() : $0.rawValue }.joined(separator: ", ")
    }.joined(separator: "; ")

    // Application.
    public var quit = KeyBinding([.char("q")], label: "quit", description: "Quit spikescope.", group: "General")
    public var help = KeyBinding([.char("?"), .function(1)], label: "help", description: "Show or hide this help.", group: "General")
    public var cancel = KeyBinding([.escape], label: "close", description: "Close a popup or cancel editing.", group: "General")
    public var focusNext = KeyBinding([.tab], label: "focus", description: "Move focus to the next panel.", group: "General")
    public var focusPrevious = KeyBinding([.backTab], label: "focus back", description: "Move focus to the previous panel.", group: "General")
    // Navigation.
    public var stepBack = KeyBinding([.left], label: "step", description: "Previous step (token, or timestep for \(KeyMap.timestepFamilies)).", group: "Navigate")
    public var stepForward = KeyBinding([.right], label: "step", description: "Next step (token, or timestep for \(KeyMap.timestepFamilies)).", group: "Navigate")
    public var firstStep = KeyBinding([.home], label: "first", description: "Go to the first step.", group: "Navigate")
    public var lastStep = KeyBinding([.end], label: "last", description: "Go to the last step.", group: "Navigate")
    public var tokenPrevious = KeyBinding([.char("[")], label: "token", description: "Move the token cursor left.", group: "Navigate")
    public var tokenNext = KeyBinding([.char("]")], label: "token", description: "Move the token cursor right.", group: "Navigate")
    public var sitePrevious = KeyBinding([.up], label: "site", description: "Select the previous spiking site.", group: "Navigate")
    public var siteNext = KeyBinding([.down], label: "site", description: "Select the next spiking site.", group: "Navigate")
    public var neuronsPageUp = KeyBinding([.pageUp], label: "neurons", description: "Scroll the neuron rows up a page.", group: "Navigate")
    public var neuronsPageDown = KeyBinding([.pageDown], label: "neurons", description: "Scroll the neuron rows down a page.", group: "Navigate")
    public var neuronPrevious = KeyBinding([.char("{")], label: "neuron", description: "Select the previous neuron (its membrane is plotted).", group: "Navigate")
    public var neuronNext = KeyBinding([.char("}")], label: "neuron", description: "Select the next neuron.", group: "Navigate")
    public var jumpNeuron = KeyBinding([.char("/")], label: "jump", description: "Jump to a neuron (channel) index: type it, Enter.", group: "Navigate")
    public var overview = KeyBinding([.char("v")], label: "overview", description: "Switch the spikes panel between the site's raster and the overview (firing rate, every site by token).", group: "Navigate")
    // Controls.
    public var frequencyUp = KeyBinding([.char("+"), .char("=")], label: "k+", description: "Raise the frequency control k of the selected site.", group: "Controls", keyText: "+")
    public var frequencyDown = KeyBinding([.char("-"), .char("_")], label: "k-", description: "Lower the frequency control k of the selected site.", group: "Controls", keyText: "-")
    public var allSites = KeyBinding([.char("a")], label: "all sites", description: "Toggle whether +/- apply to all sites.", group: "Controls")
    public var thresholdDown = KeyBinding([.char("<"), .char(",")], label: "thr-", description: "Lower the firing threshold.", group: "Controls", keyText: "<")
    public var thresholdUp = KeyBinding([.char(">"), .char(".")], label: "thr+", description: "Raise the firing threshold.", group: "Controls", keyText: ">")
    public var neuronCycle = KeyBinding([.char("i")], label: "neuron", description: "Cycle the neuron at the sites (\(KeyMap.neuronsByFamily)).", group: "Controls")
    public var allocation = KeyBinding([.char("o")], label: "alloc", description: "GIF: switch between uniform steps (no salient channels) and SpikeLLM's saliency-based extra steps.", group: "Controls")
    public var abitsDown = KeyBinding([.char("m")], label: "abits-", description: "SpikeLLM: one bit less for ordinary channels (levels per GIF step 2^abits).", group: "Controls")
    public var abitsUp = KeyBinding([.char("M")], label: "abits+", description: "SpikeLLM: one bit more for ordinary channels.", group: "Controls")
    public var addbitDown = KeyBinding([.char("x")], label: "addbit-", description: "SpikeLLM: one extra bit less for salient channels (2^addbit GIF steps).", group: "Controls")
    public var addbitUp = KeyBinding([.char("X")], label: "addbit+", description: "SpikeLLM: one extra bit more for salient channels (twice the steps).", group: "Controls")
    public var lowPDown = KeyBinding([.char("l")], label: "low_p-", description: "SpikeLLM: 5% fewer ordinary channels (more salient ones); recalibrates.", group: "Controls")
    public var lowPUp = KeyBinding([.char("L")], label: "low_p+", description: "SpikeLLM: 5% more ordinary channels; recalibrates.", group: "Controls")
    public var timesteps = KeyBinding((1...8).map { .char(Character(String($0))) }, label: "T", description: "Set the number of timesteps T (1-8).", group: "Controls", keyText: "1-8")
    // Input.
    public var editPrompt = KeyBinding([.char("p")], label: "prompt", description: "Edit the prompt (Enter runs, Esc cancels).", group: "Input")
    public var glueRow = KeyBinding([.char("g")], label: "GLUE", description: "Pick a GLUE row as input.", group: "Input")
    public var nextRow = KeyBinding([.char("n")], label: "next row", description: "Next GLUE row.", group: "Input")
    public var previousRow = KeyBinding([.char("N")], label: "prev row", description: "Previous GLUE row.", group: "Input")
    public var run = KeyBinding([.enter], label: "run", description: "Run the model on the current input.", group: "Input")
    // Compare.
    public var pinBaseline = KeyBinding([.char("c")], label: "pin B", description: "Pin this run as the baseline B (again: unpin); later runs show their change against it.", group: "Compare")
    public var pinFloat = KeyBinding([.char("f")], label: "pin float", description: "Pin the float twin (this model, neuron none) as the baseline B.", group: "Compare")
    public var logitLens = KeyBinding([.char("t")], label: "lens", description: "Logit lens at the cursor token: the top-5 next tokens read from the residual stream after each layer (and B's).", group: "Compare")
    public var sweep = KeyBinding([.char("w")], label: "sweep", description: "Sweep k (GIF: abits) over a grid against the float twin: energy vs divergence, per value (w again: close).", group: "Compare")
    public var diffView = KeyBinding([.char("d")], label: "diff", description: "Raster: this run's spikes, or the diff against B (+ only here, - only in B, # both).", group: "Compare")
    // Session.
    public var training = KeyBinding([.char("b")], label: "train", description: "Start or stop background training.", group: "Session")
    public var reloadCheckpoint = KeyBinding([.char("r")], label: "reload", description: "Load the newest checkpoint.", group: "Session")
    public var save = KeyBinding([.char("s")], label: "save", description: "Save the session (session.json).", group: "Session")
    public var export = KeyBinding([.char("e")], label: "export", description: "Export the trace (JSON, and CSV per site).", group: "Session")

    public init() {}
    public static let standard = KeyMap()

    /// Every binding in help order.
    public var all: [KeyBinding] {
        [quit, help, cancel, focusNext, focusPrevious,
         stepBack, stepForward, firstStep, lastStep, tokenPrevious, tokenNext, sitePrevious, siteNext,
         neuronsPageUp, neuronsPageDown, neuronPrevious, neuronNext, jumpNeuron, overview,
         frequencyUp, frequencyDown, allSites, thresholdDown, thresholdUp, neuronCycle, allocation,
         abitsDown, abitsUp, addbitDown, addbitUp, lowPDown, lowPUp, timesteps,
         editPrompt, glueRow, nextRow, previousRow, run, pinBaseline, pinFloat, diffView, logitLens, sweep,
         training, reloadCheckpoint, save, export]
    }

    /// The default key-bar hints (most used first; the bar drops what does not fit).
    public func statusBar(_ caps: Capabilities) -> [(key: String, label: String)] {
        let g = caps.glyphs
        return [("q", "quit"), ("?", "help"), ("\(g.left)/\(g.right)", "step"), ("\(g.up)/\(g.down)", "site"),
                ("+/-", "k"), ("p", "prompt"), ("g", "GLUE"), ("Enter", "run"), ("b", "train"), ("s", "save")]
    }

    /// Help screen text: a bold heading per group, then "  keys  description" rows.
    public func helpLines(_ caps: Capabilities) -> [Line] {
        var lines: [Line] = []
        var group = ""
        let keyWidth = 12
        var i = 0
        let list = all
        while i < list.count {
            let b = list[i]
            if b.group != group {
                if !lines.isEmpty { lines.append("") }
                lines.append(Line(b.group, style: Style([.bold, .underline])))
                group = b.group
            }
            let keys = b.keyLabel(caps)
            let text = b.description
            lines.append(Line([Span("  " + TextFit.pad(keys, to: keyWidth), style: .bold), Span(text)]))
            i += 1
        }
        return lines
    }
}
