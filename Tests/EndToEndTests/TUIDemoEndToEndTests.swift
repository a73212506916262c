// End-to-end tests of the terminal backend: the built `spikescope tui-demo` runs in a tmux pane;
// we check it draws, reacts to keys, shows help, survives resizing to 20×6 and back, and
// restores the terminal on q (exit 0), Ctrl-C (SIGINT, 130) and SIGTERM (143).
import Foundation
import Testing

@Suite(.serialized)  // never skipped: without tmux the harness throws HarnessError.noTmux
struct TUIDemoEndToEndTests {
    /// Starts the demo in a fresh 100×30 pane and waits for its first frame.
    func startDemo(prefix: String = "", width: Int = 100, height: Int = 30,
                   environment: [String: String] = [:]) throws -> TmuxSession {
        let bin = try #require(Harness.binary, "spikescope binary not found and could not be built")
        let s = try TmuxSession(width: width, height: height, environment: environment)
        s.typeLine("\(prefix)\(TmuxSession.shellQuote(bin)) tui-demo; echo EXIT=$?")
        return s
    }

    /// After the program ended: the shell runs a command whose output proves the tty is back
    /// in canonical mode with echo (curses had turned both off).
    func expectTerminalRestored(_ s: TmuxSession, sourceLocation: SourceLocation = #_sourceLocation) {
        s.typeLine("stty -a | grep -qw -e -icanon -e -echo && echo TTY=RAW || echo TTY=COOKED")
        let tty = s.waitForOutput("TTY")
        #expect(tty == "COOKED", "terminal not restored:\n\(s.capture())", sourceLocation: sourceLocation)
        #expect(!s.capture().contains("spikescope demo"), "demo screen left behind (no rmcup)",
                sourceLocation: sourceLocation)
    }

    @Test func drawsReactsToKeysShowsHelpAndQuitsCleanly() throws {
        let s = try startDemo()
        defer { s.kill() }
        let first = try #require(s.waitFor("step 1/48"), "no first frame:\n\(s.capture())")
        #expect(first.contains("Raster") && first.contains("Sites"))
        s.send("Right")
        #expect(s.waitFor("step 2/48") != nil, "→ did not move the step:\n\(s.capture())")
        s.send("+")
        #expect(s.waitFor("k=5") != nil, "+ did not change k:\n\(s.capture())")
        s.send("?")
        #expect(s.waitFor("Help (? or Esc") != nil, "? did not show help:\n\(s.capture())")
        s.send("?")
        #expect(s.waitFor { !$0.contains("Help (? or Esc") } != nil)
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0", "q did not exit 0:\n\(s.capture())")
        expectTerminalRestored(s)
    }

    @Test func resizeToTooSmallAndBack() throws {
        let s = try startDemo()
        defer { s.kill() }
        _ = try #require(s.waitFor("step 1/48"))
        s.resize(width: 20, height: 6)
        #expect(s.waitFor("too small") != nil, "no too-small message at 20×6:\n\(s.capture())")
        s.resize(width: 3, height: 2)
        Thread.sleep(forTimeInterval: 0.3)
        s.resize(width: 100, height: 30)
        let back = s.waitFor("step 1/48")
        #expect(back != nil && back?.contains("too small") == false, "did not restore the screen:\n\(s.capture())")
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0", "\(s.capture())")
    }

    @Test func ctrlCRestoresTheTerminal() throws {
        // An interactive shell abandons the rest of a command line when a job dies by SIGINT
        // (so "; echo EXIT=$?" would never run). A wrapper sh that traps INT with a no-op
        // (a handler, so the demo still starts with the default disposition) reports it.
        let bin = try #require(Harness.binary)
        let s = try TmuxSession(width: 100, height: 30)
        defer { s.kill() }
        s.typeLine("sh -c 'trap : INT; \"$0\" tui-demo; echo EXIT=$?' \(TmuxSession.shellQuote(bin))")
        _ = try #require(s.waitFor("step 1/48"))
        s.send("C-c")
        #expect(s.waitForOutput("EXIT") == "130", "Ctrl-C: expected death by SIGINT (130):\n\(s.capture())")
        expectTerminalRestored(s)
    }

    @Test func sigtermRestoresTheTerminal() throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("spikescope-e2e-\(UUID().uuidString).pid")
        defer { try? FileManager.default.removeItem(at: pidFile) }
        // The inner sh writes its pid and execs the demo, so that pid is the demo's.
        let bin = try #require(Harness.binary)
        let s = try TmuxSession(width: 100, height: 30)
        defer { s.kill() }
        s.typeLine("sh -c 'echo $$ > \(pidFile.path); exec \"$0\" tui-demo' \(TmuxSession.shellQuote(bin)); echo EXIT=$?")
        _ = try #require(s.waitFor("step 1/48"), "no first frame:\n\(s.capture())")
        let pidText = try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = try #require(Int32(pidText))
        #expect(Foundation.kill(pid, SIGTERM) == 0)
        #expect(s.waitForOutput("EXIT") == "143", "SIGTERM: expected 143:\n\(s.capture())")
        expectTerminalRestored(s)
    }

    @Test func noColorAndASCIILocaleStillDraw() throws {
        let s = try startDemo(environment: ["NO_COLOR": "1", "LANG": "C", "LC_ALL": "C"])
        defer { s.kill() }
        let screen = try #require(s.waitFor("step 1/48"), "\(s.capture())")
        // ASCII glyph set: '+' corners and '|' borders, no box drawing.
        #expect(screen.contains("+ Sites") && !screen.contains("┌"))
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0")
    }

    @Test func notATerminalIsAnErrorNotACrash() throws {
        let bin = try #require(Harness.binary)
        // stdin is /dev/null in Harness.run.
        let (status, _) = Harness.run(bin, ["tui-demo"])
        #expect(status == 1)
    }

    @Test func unknownTermIsAnErrorAndLeavesTheTerminalAlone() throws {
        let bin = try #require(Harness.binary)
        let s = try TmuxSession(width: 100, height: 30)
        defer { s.kill() }
        s.typeLine("TERM=no-such-terminal \(TmuxSession.shellQuote(bin)) tui-demo; echo EXIT=$?")
        #expect(s.waitForOutput("EXIT") == "1", "\(s.capture())")
        #expect(s.capture().contains("terminal of type 'no-such-terminal'"), "error names the TERM value:\n\(s.capture())")
        expectTerminalRestored(s)
    }

    @Test func wideCharactersInTheTextFieldKeepTheBorderInPlace() throws {
        let s = try startDemo()
        defer { s.kill() }
        _ = try #require(s.waitFor("step 1/48"))
        s.send("p")
        _ = try #require(s.waitFor("Prompt (editing)"))
        s.tmuxCommand(["send-keys", "-t", s.name, "-l", "漢字é🙂x"])
        let screen = try #require(s.waitFor("fox漢字é🙂x"), "typed text not shown:\n\(s.capture())")
        let line = try #require(screen.split(separator: "\n").first { $0.contains("fox漢字") })
        let borderLine = try #require(screen.split(separator: "\n").first { $0.contains("Prompt (editing)") })
        // Display width: every scalar here is 1 column except 漢, 字 and 🙂 (2 each).
        func columns(_ l: Substring) -> Int {
            l.unicodeScalars.reduce(0) { $0 + ([0x6F22, 0x5B57, 0x1F642].contains($1.value) ? 2 : 1) }
        }
        #expect(line.hasSuffix("│") && columns(line) == columns(borderLine),
                "right border moved:\n\(borderLine)\n\(line)")
        s.send("Enter")
        s.send("q")
        #expect(s.waitForOutput("EXIT") == "0")
    }
}
