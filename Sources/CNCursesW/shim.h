// The only header that brings ncursesw into Swift (imported solely by Sources/TerminalBackend).
// It is: the wide-character curses API, plus tiny `ss_` inline wrappers for what Swift cannot
// import (function-like macros such as COLOR_PAIR/A_BOLD/BUTTON1_CLICKED, global variables that
// Swift 6 would flag as shared mutable state). It holds no state: a `static` variable here would
// get one copy per object file (signal state lives in the CTerminal target's one .c file).
// It is not: an API with any stability promise; TerminalBackend wraps all of it.
#ifndef SPIKESCOPE_CNCURSESW_SHIM_H
#define SPIKESCOPE_CNCURSESW_SHIM_H
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <langinfo.h>
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

// ---- terminfo --------------------------------------------------------------------------
/// A terminfo string capability of the current terminal, or NULL (absent or not a string).
static inline const char *ss_tigetstr(const char *name) {
    char *s = tigetstr((char *)name);
    return (s == NULL || s == (char *)-1) ? NULL : s;
}

#endif
