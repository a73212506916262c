// TerminalApp.run: the tick-based event loop that drives a TerminalApplication on the real
// terminal. Every exit path restores the terminal: normal quit, a thrown error (defer),
// SIGINT/SIGTERM/SIGHUP (flag polled each tick, then endwin, then re-raise), and process exit
// (atexit hook). Not the app: rendering and key handling are the application's.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TUI

public enum TerminalApp {
    /// Why the loop ended.
    public enum ExitReason: Hashable, Sendable {
        /// The app returned `.quit`.
        case quit
        /// A signal (SIGINT from Ctrl-C, SIGTERM, SIGHUP) arrived; its number.
        case signal(Int32)
        /// The terminal went away (window closed, tmux session killed): input reports hang-up.
        case terminalLost
    }

    /// Runs `app` until it quits or a signal arrives.
    /// - Parameters:
    ///   - tickMilliseconds: how often `tick()` is called (default 50 ms, 20 Hz: results
    ///     from background work appear within one tick, and an idle loop costs ~nothing).
    ///   - reraiseSignals: after restoring the terminal, die by the signal received (the shell
    ///     then sees 128+signal, as for any interrupted program). Pass false to get `.signal`.
    /// - Throws: `TerminalError` if the terminal cannot be set up (nothing is changed then).
    /// - Returns: why it ended (only `.quit` when `reraiseSignals` is true).
    @discardableResult
    public static func run<A: TerminalApplication>(_ app: inout A, tickMilliseconds: Int = 50,
                                                   reraiseSignals: Bool = true,
                                                   environment: [String: String] = currentEnvironment()) throws -> ExitReason {
        let terminal = try Terminal(environment: environment)
        let reason: ExitReason
        do {
            defer {
                terminal.restore()
                Signals.uninstall()
            }
            reason = loop(&app, terminal: terminal, tick: max(1, tickMilliseconds))
        }
        if case .signal(let s) = reason {
            Signals.clear()
            if reraiseSignals { Signals.reraise(s) }
        }
        return reason
    }

    /// By-value convenience: `try TerminalApp.run(app: someApp)`.
    @discardableResult
    public static func run<A: TerminalApplication>(app: A, reraiseSignals: Bool = true) throws -> ExitReason {
        var a = app
        return try run(&a, reraiseSignals: reraiseSignals)
    }

    private static func loop<A: TerminalApplication>(_ app: inout A, terminal: Terminal, tick: Int) -> ExitReason {
        let caps = terminal.capabilities
        app.start(capabilities: caps)
        let clock = ContinuousClock()
        let interval = Duration.milliseconds(tick)
        var nextTick = clock.now + interval
        var size = terminal.size
        var dirty = true
        while true {
            if let s = Signals.pending() { return .signal(s) }
            if dirty {
                terminal.draw(Frame.render(&app, size: size, caps: caps))
                dirty = false
            }
            let left = clock.now.duration(to: nextTick)
            let waitMs = max(0, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            guard let event = terminal.readEvent(timeoutMilliseconds: waitMs) else {
                // No key: a timeout, or input that is gone (then every read fails at once and the
                // loop would spin with no one to see it).
                if Signals.inputLost() { return Signals.pending().map { .signal($0) } ?? .terminalLost }
                let now = clock.now
                if now >= nextTick {
                    app.tick()
                    dirty = true
                    nextTick = now + interval
                }
                continue
            }
            do {
                switch event {
                case .resize(let s):
                    size = s
                    terminal.invalidate()
                case .ctrl("c"):
                    // Only seen if the terminal delivers ^C as a key (ISIG off); same as SIGINT.
                    return .signal(SIGINT)
                default:
                    if app.handle(event) == .quit { return .quit }
                }
                dirty = true
            }
            let now = clock.now
            if now >= nextTick {
                app.tick()
                dirty = true
                nextTick = now + interval
            }
        }
    }

    /// The process environment as a dictionary (for capability detection).
    public static func currentEnvironment() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return env
    }
}
