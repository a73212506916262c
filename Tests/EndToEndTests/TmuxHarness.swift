// TmuxHarness: drives a program in a real terminal (a detached tmux pane) for end-to-end tests:
// start a session of a given size running an interactive `sh`, type commands and keys, capture
// the screen with retries until text appears, resize, and always kill the tmux server. Each
// harness uses its own tmux socket (-S, in its own temporary directory), so tests never touch
// anyone else's tmux.
// Not a terminal emulator: what we see is tmux's rendering of the pane.
import Foundation
import Testing

enum Harness {
    /// Package root: walk up from this file to the directory holding Package.swift.
    static let packageRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    static let tmuxPath: String? = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/opt/homebrew/bin/tmux"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The spikescope binary: $SPIKESCOPE_BIN, else .build/debug, else .build/release; if none
    /// exists, `swift build --product spikescope` builds it (`swift test` normally already has,
    /// since `swift build --build-tests` builds executables too).
    static let binary: String? = {
        let env = ProcessInfo.processInfo.environment
        if let b = env["SPIKESCOPE_BIN"], FileManager.default.isExecutableFile(atPath: b) { return b }
        let candidates = ["debug", "release"].map { packageRoot.appendingPathComponent(".build/\($0)/spikescope").path }
        if let b = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return b }
        run("/usr/bin/env", ["swift", "build", "--product", "spikescope", "--package-path", packageRoot.path])
        return FileManager.default.isExecutableFile(atPath: candidates[0]) ? candidates[0] : nil
    }()

    /// Runs a program to completion; returns (exit status, stdout). Uses posix_spawn + waitpid
    /// with stdout in a temporary file rather than Foundation.Process and a pipe: `tmux
    /// new-session` forks a server that would inherit a pipe and keep it open, and Process's
    /// SIGCHLD-driven wait was seen to hang on the daemonising tmux client.
    /// (Also, the child gets a clean signal mask; see below.)
    @discardableResult
    static func run(_ path: String, _ args: [String]) -> (Int32, String) {
        let outPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("spikescope-e2e-out-\(UUID().uuidString)").path
        defer { unlink(outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // The child must not inherit the test thread's blocked signals (Swift Testing's worker
        // threads block most): a tmux server started with them blocked never sees SIGCHLD or
        // SIGTERM and outlives kill-server. Empty mask, default dispositions.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, &actions, &attr, argv, environ) == 0 else { return (-1, "") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS by hand (macros are not imported).
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, out)
    }
}

/// One tmux server + session. `kill()` runs in deinit too, so a failing test cleans up.
final class TmuxSession {
    let socket: String
    let name = "e2e"
    let tmux: String
    let workDir: URL

    /// Starts a detached `width`×`height` session running an interactive POSIX sh with a fixed
    /// prompt ("$ "), UTF-8 locale and a 256-colour TERM.
    init(width: Int, height: Int, environment extra: [String: String] = [:]) throws {
        guard let t = Harness.tmuxPath else { throw HarnessError.noTmux }
        tmux = t
        let id = "spikescope-e2e-\(getpid())-\(UUID().uuidString.prefix(8))"
        workDir = FileManager.default.temporaryDirectory.appendingPathComponent(id)
        socket = workDir.appendingPathComponent("tmux.sock").path
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        var env = ["LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "screen-256color", "PS1": "$ ",
                   "HOME": workDir.path, "PATH": "/usr/bin:/bin:/usr/local/bin"]
        env.merge(extra) { $1 }
        let envArgs = env.sorted { $0.key < $1.key }.map { "\($0.key)=\(TmuxSession.shellQuote($0.value))" }.joined(separator: " ")
        let (status, _) = Harness.run(tmux, ["-S", socket, "-u", "-f", "/dev/null", "new-session", "-d", "-s", name,
                                             "-x", "\(width)", "-y", "\(height)", "env -i \(envArgs) sh"])
        guard status == 0 else { throw HarnessError.tmuxFailed("new-session exited \(status)") }
        // Manual window size: a detached session otherwise follows (absent) clients.
        tmuxCommand(["set-option", "-g", "window-size", "manual"])
        _ = waitFor(timeout: 5) { $0.contains("$") }
    }

    deinit { kill() }

    static func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    @discardableResult
    func tmuxCommand(_ args: [String]) -> (Int32, String) { Harness.run(tmux, ["-S", socket] + args) }

    /// Types `line` literally and presses Enter.
    func typeLine(_ line: String) {
        tmuxCommand(["send-keys", "-t", name, "-l", line])
        tmuxCommand(["send-keys", "-t", name, "Enter"])
    }

    /// Sends tmux key names ("Right", "C-c", "PageDown", "?", "+").
    func send(_ keys: String...) { tmuxCommand(["send-keys", "-t", name] + keys) }

    /// The visible screen, one line per row.
    func capture() -> String { tmuxCommand(["capture-pane", "-p", "-t", name]).1 }

    /// Polls the screen every 50 ms until `predicate` holds or `timeout` seconds pass.
    /// Returns the last screen when it held, nil on timeout.
    func waitFor(timeout: Double = 10, _ predicate: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            let s = capture()
            if predicate(s) { return s }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        return nil
    }
    func waitFor(_ text: String, timeout: Double = 10) -> String? { waitFor(timeout: timeout) { $0.contains(text) } }

    /// Waits for a screen line that is exactly `key=<value>` (an output line, not the typed
    /// command that printed it, which also contains "key=") and returns the value.
    func waitForOutput(_ key: String, timeout: Double = 10) -> String? {
        func value(_ screen: String) -> String? {
            for line in screen.split(separator: "\n") {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.hasPrefix(key + "="), !t.contains(" "), !t.contains("$") { return String(t.dropFirst(key.count + 1)) }
            }
            return nil
        }
        return waitFor(timeout: timeout) { value($0) != nil }.flatMap(value)
    }

    func resize(width: Int, height: Int) {
        tmuxCommand(["resize-window", "-t", name, "-x", "\(width)", "-y", "\(height)"])
    }

    func kill() {
        tmuxCommand(["kill-server"])
        try? FileManager.default.removeItem(at: workDir)
    }
}

enum HarnessError: Error, CustomStringConvertible {
    case noTmux
    case tmuxFailed(String)
    var description: String {
        switch self {
        case .noTmux: return "tmux is not installed. Hint: apt-get install tmux"
        case .tmuxFailed(let m): return "tmux failed: \(m)"
        }
    }
}
