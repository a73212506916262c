// Signals: the Swift face of the C-level signal flag in CNCursesW/shim.h. SIGINT, SIGTERM and
// SIGHUP only set a flag (async-signal-safe); the run loop polls it, restores the terminal and
// re-raises. An atexit hook restores the terminal if the process exits with curses active.
// Not general signal handling. IMPORTANT: this must stay the only Swift file that calls the
// `ss_signal_*` / `ss_set_curses_active` helpers: their state is a `static` in the header, and
// each object file that uses it gets its own copy.
import CNCursesW

enum Signals {
    /// Installs the flag-setting handlers (before curses starts, so ncurses keeps them) and the
    /// atexit restore hook (once per process).
    static func install() { ss_signal_install() }
    /// Default dispositions again (after the terminal is restored).
    static func uninstall() { ss_signal_uninstall() }
    /// The signal number received since the last `clear`, or nil.
    static func pending() -> Int32? {
        let s = ss_signal_pending()
        return s == 0 ? nil : s
    }
    static func clear() { ss_signal_clear() }
    /// Tells the handler and the atexit hook whether endwin is needed.
    static func setCursesActive(_ on: Bool) { ss_set_curses_active(on ? 1 : 0) }
    /// Dies by `sig` with the default action (so the shell sees 128+sig).
    static func reraise(_ sig: Int32) -> Never {
        ss_signal_reraise(sig)
        // raise() returned: the signal is blocked or ignored; exit with the shell's convention.
        exit(128 + sig)
    }
}
