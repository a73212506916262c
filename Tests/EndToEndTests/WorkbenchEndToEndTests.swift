// End-to-end tests of the real workbench: the built `spikescope` opens a SpikeGPT checkpoint in a
// tmux pane; we check it draws the sites and the raster, → moves the step (the raster's cursor
// column and the header change), + lowers the selected site's firing rate on screen, ? shows
// help, a 20×6 terminal shows "too small" and back, q exits 0 with the terminal restored.
import Foundation
import Testing

@Suite(.serialized)
struct WorkbenchEndToEndTests {
    static let model = Harness.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/spikegpt/tiny.safetensors").path

    func start(width: Int = 120, height: Int = 36, args: String = "") throws -> TmuxSession {
        let bin = try #require(Harness.binary, "spikescope binary not found and could not be built")
        let s = try TmuxSession(width: width, height: height)
        s.typeLine("\(TmuxSession.shellQuote(bin)) --model \(TmuxSession.shellQuote(WorkbenchEndToEndTests.model)) --prompt 'the spiking neuron fires' \(args); echo EXIT=$?")
        return s
    }

    /// The firing rate shown for the first site in the site list ("0.att.lif   ▌   0.07").
    static func firstSiteRate(_ screen: String) -> Double? {
        for line in screen.split(separator: "\n") where line.hasPrefix("│0.att.lif") {
            // "│0.att.lif       ▊       0.11││…": the number right before the panel border.
            let cell = line.dropFirst().prefix { $0 != "│" }
            return cell.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    @Test func drawsStepsTunesHelpsResizesAndQuits() throws {
        let s = try start()
        defer { s.kill() }
        let first = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") && $0.contains("0.att.lif") },
                                 "no first frame:\n\(s.capture())")
        #expect(first.contains("SpikeGPT 2×16") && first.contains("spikes 0.att.lif"))
        #expect(first.contains("step 1/"))
        let rate0 = try #require(WorkbenchEndToEndTests.firstSiteRate(first), "no firing rate in:\n\(first)")

        // → moves the step: header and the raster (its reversed cursor column moves) change.
        s.send("Right")
        let stepped = try #require(s.waitFor("step 2/"), "→ did not step:\n\(s.capture())")
        #expect(stepped != first)

        // + raises k of the selected site: fewer spikes, a lower rate on screen.
        s.send("+"); s.send("+"); s.send("+"); s.send("+")
        let tuned = try #require(s.waitFor(timeout: 10) { screen in
            screen.contains("k 4.88") && (WorkbenchEndToEndTests.firstSiteRate(screen).map { $0 < rate0 } ?? false)
        }, "+ did not lower the firing rate (was \(rate0)):\n\(s.capture())")
        #expect(tuned.contains("k 4.88"))

        s.send("?")
        #expect(s.waitFor("Navigate") != nil, "? did not show help:\n\(s.capture())")
        s.send("Escape")
        #expect(s.waitFor { !$0.contains("Navigate") } != nil)

        s.resize(width: 20, height: 6)
        #expect(s.waitFor("too small") != nil, "no too-small message:\n\(s.capture())")
        s.resize(width: 120, height: 36)
        #expect(s.waitFor { $0.contains("0.att.lif") && !$0.contains("too small") } != nil, "did not redraw:\n\(s.capture())")

        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0", "q did not exit 0:\n\(s.capture())")
        s.typeLine("stty -a | grep -qw -e -icanon -e -echo && echo TTY=RAW || echo TTY=COOKED")
        #expect(s.waitForOutput("TTY") == "COOKED", "terminal not restored:\n\(s.capture())")
    }

    @Test func promptEditingRunsTheNewPrompt() throws {
        let s = try start()
        defer { s.kill() }
        _ = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") }, "no first frame:\n\(s.capture())")
        s.send("p")
        #expect(s.waitFor("prompt>") != nil)
        s.send("C-u")  // not bound: the field ignores it
        for _ in 0..<30 { s.send("BSpace") }
        s.tmuxCommand(["send-keys", "-t", s.name, "-l", "abc"])
        s.send("Enter")
        #expect(s.waitFor { $0.contains("prompt abc") } != nil, "new prompt not shown:\n\(s.capture())")
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0")
    }

    @Test func aMissingModelIsAClearErrorNotACrash() throws {
        let bin = try #require(Harness.binary)
        let s = try TmuxSession(width: 120, height: 10)
        defer { s.kill() }
        s.typeLine("\(TmuxSession.shellQuote(bin)) --model /nonexistent/model.safetensors; echo EXIT=$?")
        #expect(s.waitForOutput("EXIT") == "2")
        #expect(s.capture().contains("/nonexistent/model.safetensors: no such file or folder"))
    }
}

@Suite(.serialized)
struct WorkbenchTrainingEndToEndTests {
    /// `b` trains the open (embedded default) SpikeGPT in the background while the screen stays
    /// live; a checkpoint appears; `r` swaps it in; `b` stops; `q` exits 0.
    @Test func backgroundTrainingCheckpointsAndReloads() throws {
        let bin = try #require(Harness.binary, "spikescope binary not found and could not be built")
        let s = try TmuxSession(width: 150, height: 45)
        defer { s.kill() }
        let session = s.workDir.appendingPathComponent("session").path
        s.typeLine("\(TmuxSession.shellQuote(bin)) --session \(TmuxSession.shellQuote(session)); echo EXIT=$?")
        _ = try #require(s.waitFor(timeout: 30) { $0.contains("computed in") }, "no first frame:\n\(s.capture())")
        s.send("b")
        #expect(s.waitFor("training in the background") != nil, "b did not start training:\n\(s.capture())")
        let ckpt = s.waitFor(timeout: 90) { $0.contains("ckpt step-000050") }
        #expect(ckpt != nil, "no checkpoint shown:\n\(s.capture())")
        // While training runs the UI still answers: → moves the step.
        s.send("Right")
        #expect(s.waitFor("step 2/") != nil)
        s.send("r")
        #expect(s.waitFor(timeout: 20) { $0.contains("loaded step-0000") } != nil, "r did not reload:\n\(s.capture())")
        #expect(FileManager.default.fileExists(atPath: session + "/checkpoints/latest"))
        s.send("b")
        #expect(s.waitFor("stopping training") != nil)
        s.send("q")
        #expect(s.waitForOutput("EXIT", timeout: 30) == "0", "q did not exit 0:\n\(s.capture())")
    }
}

@Suite(.serialized)
struct ClassifierTrainingEndToEndTests {
    /// The embedded SpikeBERT classifier: `b` fine-tunes it on the SST-2-format examples with its
    /// float twin as teacher, a checkpoint (with config.json and vocab.txt beside it) appears, `r`
    /// loads it.
    @Test func classifierTrainsInTheBackgroundAndReloads() throws {
        let bin = try #require(Harness.binary, "spikescope binary not found and could not be built")
        let s = try TmuxSession(width: 150, height: 45)
        defer { s.kill() }
        let session = s.workDir.appendingPathComponent("bert-session").path
        s.typeLine("\(TmuxSession.shellQuote(bin)) --classifier --session \(TmuxSession.shellQuote(session)); echo EXIT=$?")
        _ = try #require(s.waitFor(timeout: 30) { $0.contains("SpikeBERT 2×64") && $0.contains("computed in") }, "no first frame:\n\(s.capture())")
        #expect(s.capture().contains("gold 1"))
        s.send("b")
        #expect(s.waitFor("training the classifier") != nil, "b did not start:\n\(s.capture())")
        #expect(s.waitFor("teacher: its float twin") != nil, "no teacher named:\n\(s.capture())")
        #expect(s.waitFor(timeout: 120) { $0.contains("ckpt step-000050") } != nil, "no checkpoint:\n\(s.capture())")
        // Issue 19: the panel shows the task and distillation losses and the student's firing.
        let panel = s.capture()
        #expect(panel.contains("task ") && panel.contains(" kd ") && panel.contains("firing "), "no loss parts:\n\(panel)")
        s.send("r")
        #expect(s.waitFor(timeout: 20) { $0.contains("loaded step-0000") } != nil, "r did not reload:\n\(s.capture())")
        for f in ["config.json", "vocab.txt", "latest"] {
            #expect(FileManager.default.fileExists(atPath: session + "/checkpoints/" + f), "missing \(f)")
        }
        s.send("b")
        s.send("q")
        #expect(s.waitForOutput("EXIT", timeout: 30) == "0", "q did not exit 0:\n\(s.capture())")
    }
}
