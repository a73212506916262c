// The built binary against a hostile user: one SIGTERM / SIGINT / SIGHUP / Ctrl-C quits the real
// workbench with the terminal restored (the first one used to be lost in the release build: the
// signal flag had two copies); a crash restores the terminal too; a closed terminal ends the
// process (it used to spin with no tty). And the CLI on hostile files: every one a single clear
// line on stderr, a non-zero exit that is not a crash, and no hang (each run has a deadline).
import Foundation
import Testing

/// The workbench in tmux, started through an `sh` that records its pid and execs it.
struct WorkbenchProcess {
    let session: TmuxSession
    let pid: Int32

    static let model = Harness.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/spikegpt/tiny.safetensors").path

    /// `trapINT`: the wrapper ignores SIGINT with a no-op trap, so it survives to print EXIT
    /// after the workbench dies by SIGINT (an interactive sh would abandon the line).
    static func start(trapINT: Bool = false) throws -> WorkbenchProcess {
        let bin = try #require(Harness.binary, "spikescope binary not found and could not be built")
        let s = try TmuxSession(width: 100, height: 30)
        let pidFile = s.workDir.appendingPathComponent("pid").path
        let script = s.workDir.appendingPathComponent("run.sh").path
        try "echo $$ > \(TmuxSession.shellQuote(pidFile))\nexec \(TmuxSession.shellQuote(bin)) --model \(TmuxSession.shellQuote(model)) --prompt 'spiking neuron fires'\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        s.typeLine(trapINT ? "sh -c 'trap : INT; sh \(script); echo EXIT=$?'" : "sh \(script); echo EXIT=$?")
        _ = try #require(s.waitFor(timeout: 20) { $0.contains("computed in") }, "no first frame:\n\(s.capture())")
        let text = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return WorkbenchProcess(session: s, pid: try #require(Int32(text)))
    }

    var alive: Bool { Foundation.kill(pid, 0) == 0 || errno != ESRCH }

    /// Waits up to `timeout` s for the process to be gone (reaped by its parent shell).
    func waitGone(timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !alive { return true }
            // A zombie counts as gone: it no longer runs.
            if let st = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
               st.split(separator: ")").last?.split(separator: " ").first == "Z" { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// tmux's view of the pane: alternate screen off, mouse reporting off, cursor shown, and the
    /// tty back in canonical mode with echo.
    func expectRestored(sourceLocation: SourceLocation = #_sourceLocation) {
        let flags = session.tmuxCommand(["display-message", "-p", "-t", session.name,
                                         "#{alternate_on} #{mouse_any_flag} #{cursor_flag}"]).1
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(flags == "0 0 1", "alternate screen / mouse / cursor not restored (tmux says '\(flags)'):\n\(session.capture())",
                sourceLocation: sourceLocation)
        session.typeLine("stty -a | grep -qw -e -icanon -e -echo && echo TTY=RAW || echo TTY=COOKED")
        #expect(session.waitForOutput("TTY") == "COOKED", "terminal not restored:\n\(session.capture())", sourceLocation: sourceLocation)
    }
}

@Suite(.serialized)
struct WorkbenchSignalTests {
    @Test(arguments: [("TERM", SIGTERM, "143"), ("HUP", SIGHUP, "129"), ("INT", SIGINT, "130")])
    func oneSignalQuitsAndRestores(_ name: String, _ sig: Int32, _ code: String) throws {
        let w = try WorkbenchProcess.start(trapINT: sig == SIGINT)
        defer { w.session.kill() }
        #expect(Foundation.kill(w.pid, sig) == 0)
        #expect(w.waitGone(), "one SIG\(name) did not end the workbench")
        #expect(w.session.waitForOutput("EXIT") == code, "SIG\(name): expected exit \(code):\n\(w.session.capture())")
        w.expectRestored()
    }

    @Test func ctrlCQuitsAndRestores() throws {
        let w = try WorkbenchProcess.start(trapINT: true)
        defer { w.session.kill() }
        w.session.send("C-c")
        #expect(w.waitGone(), "one Ctrl-C did not end the workbench")
        #expect(w.session.waitForOutput("EXIT") == "130", "\(w.session.capture())")
        w.expectRestored()
    }

    /// A crash (here SIGSEGV from outside; a Swift trap is SIGILL/SIGTRAP and takes the same
    /// handler) still leaves the alternate screen, shows the cursor and turns the mouse off.
    @Test(arguments: [SIGSEGV, SIGILL, SIGABRT])
    func aCrashRestoresTheTerminal(_ sig: Int32) throws {
        let w = try WorkbenchProcess.start()
        defer { w.session.kill() }
        #expect(Foundation.kill(w.pid, sig) == 0)
        #expect(w.waitGone())
        #expect(w.session.waitForOutput("EXIT") == String(128 + sig), "\(w.session.capture())")
        w.expectRestored()
    }

    /// Closing the terminal (killing the tmux session) must end the process, not leave it
    /// spinning without a tty.
    @Test func aClosedTerminalEndsTheProcess() throws {
        let w = try WorkbenchProcess.start()
        w.session.tmuxCommand(["kill-session", "-t", w.session.name])
        let gone = w.waitGone(timeout: 5)
        if !gone { _ = Foundation.kill(w.pid, SIGKILL) }
        w.session.kill()
        #expect(gone, "the workbench outlived its terminal")
    }
}

/// Runs the binary with a deadline; a hang fails the test instead of stalling the suite.
enum HostileCLI {
    /// `environment` is added to (and overrides) this process's environment.
    static func run(_ args: [String], timeout: Double = 20, environment: [String: String] = [:]) throws
        -> (status: Int32, out: String, err: String, hung: Bool) {
        let bin = try #require(Harness.binary, "spikescope binary not found and could not be built")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("hcli-out-\(UUID().uuidString)"), errURL = dir.appendingPathComponent("hcli-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let hung = p.isRunning
        if hung { p.terminate(); Thread.sleep(forTimeInterval: 0.2); _ = Foundation.kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return (p.terminationStatus, try String(contentsOf: outURL, encoding: .utf8), try String(contentsOf: errURL, encoding: .utf8), hung)
    }

    /// A clear refusal: no hang, no crash (a signal death or Swift trap), a non-zero exit, one line naming `mention`.
    static func expectRefused(_ r: (status: Int32, out: String, err: String, hung: Bool), mentioning mention: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!r.hung, "hung", sourceLocation: sourceLocation)
        #expect(r.status != 0 && r.status < 128, "exit \(r.status): \(r.err)", sourceLocation: sourceLocation)
        #expect(!r.err.contains("Fatal error") && !r.err.contains("DecodingError") && !r.err.contains("NSCocoaErrorDomain"),
                "\(r.err)", sourceLocation: sourceLocation)
        for m in mention { #expect(r.err.contains(m), "stderr lacks '\(m)': \(r.err)", sourceLocation: sourceLocation) }
    }

    static func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("ss-hcli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static let bert = Harness.packageRoot.appendingPathComponent("Sources/spikescope/Resources/default/spikebert-sst2").path
    static let tiny = Harness.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/spikegpt/tiny.safetensors").path

    /// A copy of the embedded BERT classifier whose config.json has `change` applied.
    static func bertWithConfig(_ dir: String, _ change: (inout [String: Any]) -> Void) throws -> String {
        let out = dir + "/bert"
        try FileManager.default.copyItem(atPath: bert, toPath: out)
        var cfg = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as? [String: Any])
        change(&cfg)
        try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: out + "/config.json"))
        return out
    }

    /// The safetensors header of `path` as (length, JSON object).
    static func header(_ data: Data) throws -> (Int, [String: Any]) {
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return (n, try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any]))
    }
}

@Suite struct HostileCLITests {
    @Test func tinyZip64CheckpointIsRefused() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var b: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
        func le(_ v: UInt64, _ n: Int) { for k in 0..<n { b.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) } }
        le(0x0706_4B50, 4); le(0, 4); le(1 << 40, 8); le(1, 4)
        le(0x0605_4B50, 4); le(0, 2); le(0, 2); le(0xFFFF, 2); le(0xFFFF, 2); le(0xFFFF_FFFF, 4); le(0xFFFF_FFFF, 4); le(0, 2)
        try Data(b).write(to: URL(fileURLWithPath: dir + "/z.pth"))
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", dir + "/z.pth", "--prompt", "hi"]), mentioning: ["z.pth"])
        HostileCLI.expectRefused(try HostileCLI.run(["convert", "--in", dir + "/z.pth", "--out", dir + "/o.safetensors"]), mentioning: ["z.pth"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/o.safetensors"))
    }

    @Test func fifosAreRefusedNotWaitedOn() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/m.safetensors", 0o600) == 0)
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", dir + "/m.safetensors", "--prompt", "hi"], timeout: 10),
                                 mentioning: ["m.safetensors", "named pipe"])
        let bert = try HostileCLI.bertWithConfig(dir) { _ in }
        try FileManager.default.removeItem(atPath: bert + "/config.json")
        #expect(mkfifo(bert + "/config.json", 0o600) == 0)
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", bert, "--prompt", "good"], timeout: 10),
                                 mentioning: ["config.json", "named pipe"])
    }

    /// Config values are checked before anything is allocated: 10^9 layers and T = 10^6 used to
    /// grow memory for seconds to hours.
    /// (key, the value as JSON text, what the message must say)
    @Test(arguments: [("num_hidden_layers", "1000000000", "1…1024"), ("T", "1000000", "1…64"),
                      ("hidden_size", "\"64\"", "the string \"64\""), ("vocab_size", "true", "expected an integer")])
    func hostileConfigValuesNameTheKey(_ key: String, _ json: String, _ says: String) throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        let bert = try HostileCLI.bertWithConfig(dir) { $0[key] = value }
        let start = Date()
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", bert, "--prompt", "good"]),
                                 mentioning: ["config.json", "'\(key)'", says])
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func brokenConfigJSONSaysWhere() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bert = try HostileCLI.bertWithConfig(dir) { _ in }
        try "{\"hidden_size\": 64, ".write(toFile: bert + "/config.json", atomically: true, encoding: .utf8)
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", bert, "--prompt", "good"]),
                                 mentioning: ["config.json", "byte offset"])
    }

    /// A tensor renamed in the header: the error names the file and the missing tensor.
    @Test func aMissingTensorNamesTheFile() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var data = try Data(contentsOf: URL(fileURLWithPath: HostileCLI.bert + "/model.safetensors"))
        let (n, _) = try HostileCLI.header(data)
        var text = String(decoding: data.subdata(in: 8..<(8 + n)), as: UTF8.self)
        let target = "encoder.layer.1.output.dense.weight"
        #expect(text.contains(target))
        text = text.replacingOccurrences(of: target, with: "encoder.layer.1.output.dense.weighX")
        data.replaceSubrange(8..<(8 + n), with: Data(text.utf8))
        let bert = try HostileCLI.bertWithConfig(dir) { _ in }
        try data.write(to: URL(fileURLWithPath: bert + "/model.safetensors"))
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", bert, "--prompt", "good"]),
                                 mentioning: ["model.safetensors", target])
    }

    /// NaN weights load, but the output says so (stderr and the JSON's warnings) instead of
    /// printing garbage silently.
    @Test func nanWeightsWarn() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var data = try Data(contentsOf: URL(fileURLWithPath: HostileCLI.tiny))
        let (n, h) = try HostileCLI.header(data)
        let entry = try #require(h["head.weight"] as? [String: Any])
        let begin = try #require((entry["data_offsets"] as? [Int])?.first)
        let nan = Float.nan.bitPattern
        for k in 0..<16 { for j in 0..<4 { data[8 + n + begin + 4 * k + j] = UInt8(truncatingIfNeeded: nan >> (8 * UInt32(j))) } }
        try data.write(to: URL(fileURLWithPath: dir + "/nan.safetensors"))
        try FileManager.default.copyItem(atPath: HostileCLI.tiny.replacingOccurrences(of: ".safetensors", with: ".vocab.json"),
                                         toPath: dir + "/nan.vocab.json")
        let r = try HostileCLI.run(["inspect", "--model", dir + "/nan.safetensors", "--prompt", "abc", "--no-traces"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("warning") && r.err.contains("NaN"), "\(r.err)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect((obj["warnings"] as? [String])?.first?.contains("non-finite") == true)
        // A clean model has no warnings key at all (the JSON contract is unchanged).
        let clean = try HostileCLI.run(["inspect", "--model", HostileCLI.tiny, "--prompt", "abc", "--no-traces"])
        #expect(clean.status == 0 && clean.err.isEmpty && !clean.out.contains("\"warnings\""))
    }

    @Test func trainRefusesTinyGLUEFilesAndReadsCRLF() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func train(_ file: String) throws -> (status: Int32, out: String, err: String, hung: Bool) {
            try HostileCLI.run(["train", "--arch", "spikebert", "--glue", file, "--session", dir + "/s-\(UUID().uuidString)",
                                "--steps", "2", "--layers", "1", "--width", "16", "--heads", "1", "--context", "8", "--batch", "2",
                                "--eval-batches", "1"], timeout: 60)
        }
        try "sentence\tlabel\n".write(toFile: dir + "/header.tsv", atomically: true, encoding: .utf8)
        HostileCLI.expectRefused(try train(dir + "/header.tsv"), mentioning: ["header.tsv", "no data rows"])
        try "sentence\tlabel\ngood\t1\n".write(toFile: dir + "/one.tsv", atomically: true, encoding: .utf8)
        HostileCLI.expectRefused(try train(dir + "/one.tsv"), mentioning: ["one.tsv", "at least 2 rows"])
        try "sentence\tlabel\r\na good film\t1\r\na bad film\t0\r\nfine\t1\r\nawful\t0\r\n".write(toFile: dir + "/crlf.tsv", atomically: true, encoding: .utf8)
        let ok = try train(dir + "/crlf.tsv")
        #expect(ok.status == 0 && !ok.hung, "CRLF GLUE refused: \(ok.err)")
    }

    /// kill -9 mid-write leaves hidden temporaries; the next run in that session removes those
    /// whose writer is dead.
    @Test func trainingCleansTemporariesOfKilledWriters() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let corpus = Harness.packageRoot.appendingPathComponent("Examples/corpus/tiny-english.txt").path
        let ckpts = dir + "/s/checkpoints"
        try FileManager.default.createDirectory(atPath: ckpts, withIntermediateDirectories: true)
        let stale = ckpts + "/.step-000010.safetensors.tmp-2147483646-99"
        _ = FileManager.default.createFile(atPath: stale, contents: Data(count: 100))
        let r = try HostileCLI.run(["train", "--corpus", corpus, "--session", dir + "/s", "--steps", "1", "--layers", "1",
                                    "--width", "16", "--context", "8", "--batch", "2", "--eval-batches", "1"], timeout: 60)
        #expect(r.status == 0, "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: stale))
    }

    @Test func unigramTokenizerIsNamedAsSuch() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let json = #"{"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":null,"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["a",-1.5]]}}"#
        try json.write(toFile: dir + "/tokenizer.json", atomically: true, encoding: .utf8)
        HostileCLI.expectRefused(try HostileCLI.run(["tokenize", "--tokenizer", dir + "/tokenizer.json", "--text", "a", "--json"]),
                                 mentioning: ["tokenizer.json", "Unigram"])
    }

    /// A sentence longer than the model's positions: the error says which GLUE row it was.
    @Test func anOverlongGLUERowNamesTheFileAndRow() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/SST-2", withIntermediateDirectories: true)
        try ("sentence\tlabel\nshort\t1\n" + String(repeating: "good ", count: 200_000) + "\t1\n")
            .write(toFile: dir + "/SST-2/dev.tsv", atomically: true, encoding: .utf8)
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", HostileCLI.bert, "--glue", dir + "/SST-2/dev.tsv:1", "--no-traces"]),
                                 mentioning: ["dev.tsv row 1 (line 3)"])
    }

    /// A session whose model path no longer exists says the path came from the session file.
    @Test func aSessionNamingAMissingModelSaysSo() throws {
        let dir = try HostileCLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let session = #"{"version": 1, "model": "/nonexistent/gone.safetensors", "input": {"prompt": {"_0": "hi"}}, "neuron": "lif", "k": {}, "thresholdScale": {}, "allSites": false, "cursor": {"site": 0, "step": 0, "token": 0, "neuronOffset": 0, "neuron": 0, "focus": "sites"}, "notes": ""}"#
        try session.write(toFile: dir + "/session.json", atomically: true, encoding: .utf8)
        HostileCLI.expectRefused(try HostileCLI.run(["--session", dir]), mentioning: ["session.json", "/nonexistent/gone.safetensors", "--model"])
        // A broken one names the field in words, not a DecodingError.
        try session.replacingOccurrences(of: #""site": 0"#, with: #""site": -4"#).write(toFile: dir + "/session.json", atomically: true, encoding: .utf8)
        HostileCLI.expectRefused(try HostileCLI.run(["--session", dir]), mentioning: ["session.json", "cursor.site", "-4"])
    }

    /// A neuron kind the family cannot run is refused with the kinds it can (it used to run LIF
    /// silently for `elastic` on SpikeGPT, and ignore `lif` on SpikeBERT).
    @Test func unsupportedNeuronKindsAreRefused() throws {
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", HostileCLI.tiny, "--prompt", "abc", "--neuron", "elastic"]),
                                 mentioning: ["'elastic' on SpikeGPT", "lif, gif, none"])
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", HostileCLI.bert, "--prompt", "good", "--neuron", "lif"]),
                                 mentioning: ["'lif' on SpikeBERT", "elastic, binary, signed, gif, none"])
    }

    /// Negative numbers reach the range check (they used to be "Missing value"), a missing GLUE file
    /// is reported as missing (not as an unknown task), and --timesteps on a token-stepped family
    /// is refused instead of ignored.
    @Test func cliValuesGetTheRightError() throws {
        for (flag, value, says) in [("--k", "-1", "--k must be positive, got -1.0"), ("--generate", "-3", "--generate must be ≥ 0, got -3"),
                                    ("--temperature", "-0.5", "--temperature must be ≥ 0"), ("--top-p", "-1", "--top-p must be in (0, 1]")] {
            let r = try HostileCLI.run(["inspect", "--model", HostileCLI.tiny, "--prompt", "abc", flag, value])
            #expect(r.status != 0 && r.err.contains(says) && !r.err.contains("Missing value"), "\(flag) \(value): \(r.err)")
        }
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", HostileCLI.bert, "--glue", "/nonexistent/dev.tsv:3"]),
                                 mentioning: ["/nonexistent/dev.tsv", "no such file"])
        HostileCLI.expectRefused(try HostileCLI.run(["inspect", "--model", HostileCLI.tiny, "--prompt", "abc", "--timesteps", "4"]),
                                 mentioning: ["--timesteps applies to families that run T timesteps", "SpikeGPT"])
        // T beyond the trained T is allowed, and says how α is made.
        let t8 = try HostileCLI.run(["inspect", "--model", HostileCLI.bert, "--prompt", "a good film", "--timesteps", "8", "--no-traces"])
        #expect(t8.status == 0 && t8.err.contains("recalibrated on this input") && t8.out.contains("\"warnings\""), "\(t8.err)")
    }
}
