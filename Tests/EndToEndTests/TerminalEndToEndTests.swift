// End-to-end tests of the terminal backend, on the real workbench (the tiny SpikeGPT fixture) in
// a tmux pane: resizing to 3×2 and back, an ASCII locale, no terminal, an unknown TERM, and wide
// characters in the prompt field. Signals and crashes: HostileEndToEndTests.
import Foundation
import Testing

@Suite(.serialized)  // never skipped: without tmux the harness throws HarnessError.noTmux
struct TerminalEndToEndTests {
    static let model = Harness.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/spikegpt/tiny.safetensors").path

    /// Starts the workbench in a fresh pane and returns once it is typed (not yet drawn).
    func startWorkbench(prefix: String = "", width: Int = 100, height: Int = 30,
                        environment: [String: String] = [:]) throws -> TmuxSession {
        let bin = try #require(Harness.binary, "spikescope binary not found and could not be built")
        let s = try TmuxSession(width: width, height: height, environment: environment)
        s.typeLine("\(prefix)\(TmuxSession.shellQuote(bin)) --model \(TmuxSession.shellQuote(Self.model)) --prompt 'The quick brown fox'; echo EXIT=$?")
        return s
    }

    @Test func resizeToTooSmallAndBack() throws {
        let s = try startWorkbench()
        defer { s.kill() }
        _ = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") }, "\(s.capture())")
        s.resize(width: 20, height: 6)
        #expect(s.waitFor("too small") != nil, "no too-small message at 20×6:\n\(s.capture())")
        s.resize(width: 3, height: 2)
        Thread.sleep(forTimeInterval: 0.3)
        s.resize(width: 100, height: 30)
        let back = s.waitFor("step 1/")
        #expect(back != nil && back?.contains("too small") == false, "did not restore the screen:\n\(s.capture())")
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0", "\(s.capture())")
    }

    /// A LLaMA folder (bf16, two shards) with SpikeLLM's neuron and `--abits 5`, at 80×24: the
    /// header shows the SpikeLLM controls, and `m` (abits −), `X` (addbit +) and `L` (low_p +)
    /// change them live.
    @Test func llamaFolderWithSpikeLLMKeys() throws {
        let bin = try #require(Harness.binary, "spikescope binary not found and could not be built")
        let folder = Harness.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/llama/llama-tiny-bf16").path
        let s = try TmuxSession(width: 80, height: 24)
        defer { s.kill() }
        s.typeLine("\(TmuxSession.shellQuote(bin)) --model \(TmuxSession.shellQuote(folder)) --prompt 'The quick brown fox' --neuron gif --abits 5; echo EXIT=$?")
        let first = try #require(s.waitFor(timeout: 20) { $0.contains("salient") && $0.contains("step 1/") }, "\(s.capture())")
        #expect(first.contains("LLaMA 2×64") && first.contains("abits 5 +1 (T 2)  low_p 0.90"), "\(first)")
        #expect(first.contains("model.layers.0.self_attn.q_proj"), "\(first)")
        s.send("m")
        #expect(s.waitFor("abits 4 +1") != nil, "\(s.capture())")
        s.send("X")
        #expect(s.waitFor("abits 4 +2 (T 4)") != nil, "\(s.capture())")
        s.send("L")
        #expect(s.waitFor("low_p 0.95") != nil, "\(s.capture())")
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0", "\(s.capture())")
    }

    @Test func noColorAndASCIILocaleStillDraw() throws {
        let s = try startWorkbench(environment: ["NO_COLOR": "1", "LANG": "C", "LC_ALL": "C"])
        defer { s.kill() }
        let screen = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") }, "\(s.capture())")
        // ASCII glyph set: '+' corners and '|' borders, no box drawing.
        #expect(screen.contains("+ sites") && !screen.contains("┌"), "\(screen)")
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0")
    }

    @Test func notATerminalIsAnErrorNotACrash() throws {
        let bin = try #require(Harness.binary)
        // stdin is /dev/null in Harness.run.
        let (status, _) = Harness.run(bin, ["--model", Self.model])
        #expect(status == 2)  // the workbench's exit code for errors it explains
    }

    @Test func unknownTermIsAnErrorAndLeavesTheTerminalAlone() throws {
        let bin = try #require(Harness.binary)
        let s = try TmuxSession(width: 100, height: 30)
        defer { s.kill() }
        s.typeLine("TERM=no-such-terminal \(TmuxSession.shellQuote(bin)) --model \(TmuxSession.shellQuote(Self.model)); echo EXIT=$?")
        #expect(s.waitForOutput("EXIT") == "2", "\(s.capture())")
        #expect(s.capture().contains("terminal of type 'no-such-terminal'"), "error names the TERM value:\n\(s.capture())")
        expectTerminalRestored(s)
    }

    /// `spikescope --help` shows the workbench's own flags, and the workbench takes --neuron, --k and
    /// --timesteps like inspect (refusing a neuron its family does not run).
    @Test func theWorkbenchTakesInspectsControls() throws {
        let help = try HostileCLI.run(["--help"])
        for flag in ["--model", "--classifier", "--session", "--glue", "--neuron", "--k", "--timesteps"] {
            #expect(help.out.contains(flag), "--help lacks \(flag):\n\(help.out)")
        }
        let s = try startWorkbench(prefix: "", environment: [:])
        defer { s.kill() }
        _ = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") }, "\(s.capture())")
        s.send("q")
        _ = s.waitForOutput("EXIT")
        let bin = try #require(Harness.binary)
        s.typeLine("\(TmuxSession.shellQuote(bin)) --model \(TmuxSession.shellQuote(Self.model)) --neuron none --k 3; echo EXIT2=$?")
        let screen = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") && $0.contains("neuron none") }, "\(s.capture())")
        #expect(screen.contains("k 3.00"), "\(screen)")
        s.send("q")
        #expect(s.waitForOutput("EXIT2") == "0")
        let refused = try HostileCLI.run(["--model", Self.model, "--neuron", "elastic"])
        #expect(refused.status == 2 && refused.err.contains("'elastic' on SpikeGPT") && refused.err.contains("lif, gif, none"), "\(refused.err)")
    }

    /// As a user would: keyboard neuron selection, `/` jump, PgDn to the last page, GIF mode on
    /// SpikeGPT (site names as `inspect --neuron gif` lists them, raster not blank), and a sentence
    /// typed into the classifier showing a prediction.
    @Test func aUserSessionThroughTheNewKeys() throws {
        let s = try startWorkbench(environment: [:])
        defer { s.kill() }
        _ = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") }, "\(s.capture())")
        s.send("}"); s.send("}")
        #expect(s.waitFor("neuron 2 v ") != nil, "} did not select neuron 2:\n\(s.capture())")
        s.send("/"); s.tmuxCommand(["send-keys", "-t", s.name, "-l", "15"]); s.send("Enter")
        #expect(s.waitFor("neuron 15 v ") != nil, "/15 did not jump:\n\(s.capture())")
        s.send("v")
        #expect(s.waitFor { $0.contains("overview · firing rate") && $0.contains("1.ffn.lif    ") } != nil, "v did not show the overview:\n\(s.capture())")
        s.send("v")
        for _ in 0..<5 { s.send("PageDown") }
        #expect(s.waitFor { $0.contains("…15 of 16") } != nil, "PgDn did not reach the last page:\n\(s.capture())")
        s.send("i")
        // (tmux can capture a frame half written: wait for the GIF run's own content, then take a
        // settled capture.)
        _ = try #require(s.waitFor(timeout: 20) { $0.contains("neuron gif") && $0.contains("computed in") && $0.contains("0.att.key") },
                         "\(s.capture())")
        Thread.sleep(forTimeInterval: 0.3)
        let gif = s.capture()
        let inspect = try HostileCLI.run(["inspect", "--model", Self.model, "--prompt", "The quick brown fox", "--neuron", "gif", "--no-traces"])
        let names = ((try JSONSerialization.jsonObject(with: Data(inspect.out.utf8)) as? [String: Any])?["sites"] as? [[String: Any]] ?? [])
            .compactMap { $0["name"] as? String }
        #expect(!names.isEmpty && names.allSatisfy { !$0.hasSuffix(".lif") }, "\(names)")
        for name in names.prefix(4) {
            // "0.att.key.gif", cut to the site list's width at 100 columns
            let short = String(name.split(separator: ".").dropFirst().joined(separator: ".").prefix(10))
            #expect(gif.contains(short), "site list lacks \(short):\n\(gif)")
        }
        let rasterRows = gif.split(separator: "\n").filter { $0.contains("││") }.map { $0.split(separator: "│").count > 2 ? String($0.split(separator: "│")[1]) : "" }
        #expect(rasterRows.contains { $0.contains("█") || $0.contains("▒") || $0.contains { "12".contains($0) } }, "GIF raster blank:\n\(gif)")
        s.send("q")
        _ = s.waitForOutput("EXIT")
        let bin = try #require(Harness.binary)
        s.typeLine("\(TmuxSession.shellQuote(bin)) --classifier; echo EXIT3=$?")
        // (At 100 columns the status is cut before "computed in": wait for the drawn screen.)
        _ = try #require(s.waitFor(timeout: 20) { $0.contains("SpikeBERT") && $0.contains("step 1/") }, "\(s.capture())")
        s.send("p")
        _ = try #require(s.waitFor("prompt>"))
        for _ in 0..<80 { s.send("BSpace") }
        s.tmuxCommand(["send-keys", "-t", s.name, "-l", "a truly wonderful film"])
        s.send("Enter")
        #expect(s.waitFor(timeout: 20) { $0.contains("prompt a truly wonderful film") && $0.contains("predicted ") } != nil,
                "no prediction for a typed sentence:\n\(s.capture())")
        s.send("q")
        #expect(s.waitForOutput("EXIT3") == "0")
    }

    /// Issue 18 as a user would: pin this run (c), lower k at a site (-), read its Δ against the
    /// baseline on screen, switch the raster to the diff (d), pin the float twin (f).
    @Test func pinChangeAndReadTheDelta() throws {
        let s = try startWorkbench(width: 160, height: 48)
        defer { s.kill() }
        _ = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") }, "\(s.capture())")
        s.send("c")
        #expect(s.waitFor("vs B k 2.00 · lif") != nil, "c did not pin:\n\(s.capture())")
        s.send("Down"); s.send("-"); s.send("-")
        let moved = s.waitFor(timeout: 20) { $0.contains("computed in") && $0.range(of: "vs B Δ\\+0\\.[0-9]*[1-9]", options: .regularExpression) != nil }
        #expect(moved != nil, "no Δ after lowering k:\n\(s.capture())")
        s.send("d")
        #expect(s.waitFor("diff vs B 0.ffn.lif") != nil, "d did not show the diff:\n\(s.capture())")
        s.send("f")
        #expect(s.waitFor(timeout: 20) { $0.contains("vs B float twin") } != nil, "f did not pin the float twin:\n\(s.capture())")
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0")
    }

    /// N of "step i/N" in the header.
    static func stepTotal(_ screen: String) -> Int? {
        guard let r = screen.range(of: "step 1/") else { return nil }
        return Int(screen[r.upperBound...].prefix { $0.isNumber })
    }

    /// With a TERM whose key strings differ from what tmux sends, Home/End/PgDn still arrive as
    /// keys (they used to arrive as '[' and a digit).
    @Test func homeAndEndWorkWhateverTERMSays() throws {
        let s = try startWorkbench(environment: ["TERM": "xterm-256color"])
        defer { s.kill() }
        let first = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") }, "\(s.capture())")
        let total = try #require(Self.stepTotal(first), "\(first)")
        s.send("Right"); s.send("Right")
        _ = try #require(s.waitFor("step 3/"), "\(s.capture())")
        s.send("End")
        #expect(s.waitFor("step \(total)/\(total)") != nil, "End did not go to the last step:\n\(s.capture())")
        s.send("Home")
        #expect(s.waitFor("step 1/\(total)") != nil, "Home did not go to the first step:\n\(s.capture())")
        #expect(!s.capture().contains("timesteps apply"), "a digit of the sequence leaked as a key:\n\(s.capture())")
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0")
    }

    @Test func wideCharactersInThePromptKeepThePanelsInPlace() throws {
        let s = try startWorkbench()
        defer { s.kill() }
        _ = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") }, "\(s.capture())")
        s.send("p")
        _ = try #require(s.waitFor("prompt>"))
        s.tmuxCommand(["send-keys", "-t", s.name, "-l", "漢字é🙂x"])
        let screen = try #require(s.waitFor("fox漢字é🙂x"), "typed text not shown:\n\(s.capture())")
        // Display width: every scalar here is 1 column except 漢, 字 and 🙂 (2 each).
        func columns(_ l: Substring) -> Int {
            l.unicodeScalars.reduce(0) { $0 + ([0x6F22, 0x5B57, 0x1F642].contains($1.value) ? 2 : 1) }
        }
        let rows = screen.split(separator: "\n", omittingEmptySubsequences: false)
        let promptRow = try #require(rows.firstIndex { $0.contains("prompt>") })
        #expect(columns(rows[promptRow].prefix { _ in true }) <= 100)
        // The panels' bottom border right above the prompt still spans the full width.
        let border = rows[promptRow - 1]
        #expect(border.hasPrefix("└") && border.hasSuffix("┘") && columns(border) == 100, "panels moved:\n\(screen)")
        s.send("Enter")
        #expect(s.waitFor { $0.contains("prompt The quick brown fox漢字é🙂x") } != nil, "\(s.capture())")
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0")
    }

    /// After the program ended: the tty is back in canonical mode with echo (curses had turned
    /// both off) and the workbench screen is gone (rmcup).
    func expectTerminalRestored(_ s: TmuxSession, sourceLocation: SourceLocation = #_sourceLocation) {
        s.typeLine("stty -a | grep -qw -e -icanon -e -echo && echo TTY=RAW || echo TTY=COOKED")
        let tty = s.waitForOutput("TTY")
        #expect(tty == "COOKED", "terminal not restored:\n\(s.capture())", sourceLocation: sourceLocation)
        #expect(!s.capture().contains("sites · firing rate"), "workbench screen left behind (no rmcup)",
                sourceLocation: sourceLocation)
    }
}
