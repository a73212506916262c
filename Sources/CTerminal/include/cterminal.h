// CTerminal: process-wide terminal safety for the workbench, in one C translation unit so that
// there is exactly ONE copy of its state (a `static` in a header gets a copy per object file,
// which is how the first SIGTERM used to be lost). It is: the async-signal-safe pending-signal
// flag for SIGINT/SIGTERM/SIGHUP, a fatal-signal handler (SIGSEGV/SIGILL/SIGABRT/SIGBUS/SIGFPE/
// SIGTRAP) that puts the tty back (saved termios + the terminal's restore sequence) before the
// process dies, and a lost-terminal probe. It is not: curses (TerminalBackend owns that).
#ifndef SPIKESCOPE_CTERMINAL_H
#define SPIKESCOPE_CTERMINAL_H

/// Saves the tty's termios (fd 0) and installs the handlers. Call before curses starts.
void ss_term_install(void);
/// Default dispositions for every signal ss_term_install took.
void ss_term_uninstall(void);
/// The bytes written to fd 1 when a fatal signal or a stuck loop makes the handler restore the
/// terminal (leave the alternate screen, show the cursor, mouse reporting off). Copied (≤ 255 B).
void ss_term_set_restore_sequence(const char *bytes);
/// 1 while curses owns the terminal (the handlers restore it only then).
void ss_term_set_active(int on);
/// The signal number received since the last clear (SIGINT/SIGTERM/SIGHUP), or 0.
int ss_term_pending_signal(void);
void ss_term_clear_signal(void);
/// Restores the saved termios and writes the restore sequence (async-signal-safe). Idempotent
/// per activation.
void ss_term_emergency_restore(void);
/// 1 when the controlling input is gone: fd 0 reports hang-up, error or is closed.
int ss_term_input_lost(void);
/// Default disposition for `sig`, then raise it (the parent sees death by that signal).
void ss_term_reraise(int sig);

#endif
