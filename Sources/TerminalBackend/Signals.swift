// Signals: the Swift face of CTerminal's process-wide signal state (one C translation unit, so
// one copy of it). SIGINT, SIGTERM and SIGHUP only set a flag (async-signal-safe); the run loop
// polls it, restores the terminal and re-raises. Fatal signals (a Swift trap is SIGILL or
// SIGTRAP) restore the tty in the handler before the process dies, and an atexit hook restores
// it if the process exits with curses active. Not general signal handling.
import CTerminal
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Signals {
    /// Saves the tty state and installs the handlers (before curses starts, so ncurses keeps
    /// them), plus the atexit restore hook (once per process).
    static func install() {
        ss_term_install()
        installAtExitOnce
    }
    private static let installAtExitOnce: Void = { atexit { ss_term_emergency_restore() } }()
    /// Default dispositions again (after the terminal is restored).
    static func uninstall() { ss_term_uninstall() }
    /// The signal number received since the last `clear`, or nil.
    static func pending() -> Int32? {
        let s = ss_term_pending_signal()
        return s == 0 ? nil : s
    }
    static func clear() { ss_term_clear_signal() }
    /// Tells the handlers and the atexit hook whether the terminal needs restoring.
    static func setCursesActive(_ on: Bool) { ss_term_set_active(on ? 1 : 0) }
    /// What the handlers write to put the terminal back (from terminfo where it has the strings).
    static func setRestoreSequence(_ s: String) { ss_term_set_restore_sequence(s) }
    /// True when the terminal's input is gone (closed window, killed tmux session, EIO).
    static func inputLost() -> Bool { ss_term_input_lost() != 0 }
    /// Dies by `sig` with the default action (so the shell sees 128+sig).
    static func reraise(_ sig: Int32) -> Never {
        ss_term_reraise(sig)
        // raise() returned: the signal is blocked or ignored; exit with the shell's convention.
        exit(128 + sig)
    }
}
