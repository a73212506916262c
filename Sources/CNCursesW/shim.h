// The only header that brings ncursesw into Swift (imported solely by Sources/TerminalBackend).
// It is: the wide-character curses API, plus tiny `ss_` inline wrappers for what Swift cannot
// import (function-like macros such as COLOR_PAIR/A_BOLD/BUTTON1_CLICKED, global variables that
// Swift 6 would flag as shared mutable state) and the async-signal-safe signal flag.
// It is not: an API with any stability promise; TerminalBackend wraps all of it.
//
// Signal state note: `ss_pending_signal` and friends are `static`, so every object file that
// calls the `ss_signal_*` helpers gets its own copy. TerminalBackend calls them from ONE Swift
// file only (Signals.swift), which keeps a single instance.
#ifndef SPIKESCOPE_CNCURSESW_SHIM_H
#define SPIKESCOPE_CNCURSESW_SHIM_H
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
#include <ncursesw/curses.h>

// ---- macro and global wrappers -------------------------------------------------------------
static inline WINDOW *ss_stdscr(void) { return stdscr; }
static inline int ss_lines(void) { return LINES; }
static inline int ss_cols(void) { return COLS; }
static inline int ss_colors(void) { return COLORS; }
static inline int ss_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t ss_a_bold(void) { return A_BOLD; }
static inline attr_t ss_a_reverse(void) { return A_REVERSE; }
static inline attr_t ss_a_underline(void) { return A_UNDERLINE; }
static inline attr_t ss_a_dim(void) { return A_DIM; }
static inline int ss_key_f0(void) { return KEY_F0; }
static inline int ss_set_attr(attr_t attrs, int pair) {
    // wattr_set is a macro in ncurses 6; the extended-colour form passes the pair via opts.
    return wattr_set(stdscr, attrs, (short)(pair < 32767 ? pair : 0), NULL);
}
static inline int ss_init_pair(int pair, int fg, int bg) {
#if NCURSES_EXT_COLORS
    return init_extended_pair(pair, fg, bg);
#else
    return init_pair((short)pair, (short)fg, (short)bg);
#endif
}
static inline SCREEN *ss_newterm(void) { return newterm(NULL, stdout, stdin); }
static inline const char *ss_codeset(void) { return nl_langinfo(CODESET); }

// ---- mouse ------------------------------------------------------------------------------
static inline mmask_t ss_mouse_mask_wanted(void) {
    mmask_t m = BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED;
#ifdef BUTTON4_PRESSED
    m |= BUTTON4_PRESSED;
#endif
#ifdef BUTTON5_PRESSED
    m |= BUTTON5_PRESSED;
#endif
    return m;
}
/// Reads the pending mouse event. kind: 1 click/press of button 1, 4 wheel up, 5 wheel down,
/// 0 anything else. Returns 0 on success, -1 if no event.
static inline int ss_get_mouse(int *x, int *y, int *kind) {
    MEVENT ev;
    if (getmouse(&ev) != OK) return -1;
    *x = ev.x; *y = ev.y; *kind = 0;
    if (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED)) *kind = 1;
#ifdef BUTTON4_PRESSED
    else if (ev.bstate & BUTTON4_PRESSED) *kind = 4;
#endif
#ifdef BUTTON5_PRESSED
    else if (ev.bstate & BUTTON5_PRESSED) *kind = 5;
#endif
    return 0;
}

// ---- signals ----------------------------------------------------------------------------
// The handler only stores the signal number (async-signal-safe). The run loop polls it every
// tick (<= 50 ms), leaves cleanly, calls endwin, then re-raises. A second signal while the
// first is still pending means the loop is stuck: restore the terminal right here and _exit.
static volatile sig_atomic_t ss_pending_signal = 0;
static volatile sig_atomic_t ss_curses_active = 0;

static void ss_signal_handler(int sig) {
    if (ss_pending_signal != 0) {
        if (ss_curses_active) { endwin(); ss_curses_active = 0; }
        _exit(128 + sig);
    }
    ss_pending_signal = sig;
}
static void ss_atexit_restore(void) {
    if (ss_curses_active) { ss_curses_active = 0; endwin(); }
}
static inline void ss_signal_install(void) {
    static int installed = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ss_signal_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (!installed) { installed = 1; atexit(ss_atexit_restore); }
}
static inline void ss_signal_uninstall(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}
static inline int ss_signal_pending(void) { return ss_pending_signal; }
static inline void ss_signal_clear(void) { ss_pending_signal = 0; }
static inline void ss_set_curses_active(int on) { ss_curses_active = on; }
/// Restores default disposition and re-raises, so the parent sees death by that signal.
static inline void ss_signal_reraise(int sig) {
    signal(sig, SIG_DFL);
    raise(sig);
}
#endif
