// See include/cterminal.h. Everything a handler touches is a sig_atomic_t or a buffer written
// before the handlers can run; handlers call only async-signal-safe functions (write, tcsetattr,
// sigaction, raise, _exit).
#define _GNU_SOURCE
#include "cterminal.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t pending_signal = 0;
static volatile sig_atomic_t curses_active = 0;
static volatile sig_atomic_t have_termios = 0;
static struct termios saved_termios;
static char restore_seq[256] = "\033[?1000l\033[?1002l\033[?1006l\033[0m\033[?25h\033[?1049l";
static volatile sig_atomic_t restore_len = 0;

static const int quit_signals[] = { SIGINT, SIGTERM, SIGHUP };
static const int fatal_signals[] = { SIGSEGV, SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGTRAP };
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void ss_term_emergency_restore(void) {
    if (!curses_active) return;
    curses_active = 0;
    int saved = errno;
    if (have_termios) tcsetattr(0, TCSANOW, &saved_termios);
    size_t n = restore_len > 0 ? (size_t)restore_len : strlen(restore_seq);
    const char *p = restore_seq;
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w <= 0) { if (w < 0 && errno == EINTR) continue; break; }
        p += w; n -= (size_t)w;
    }
    errno = saved;
}

static void quit_handler(int sig) {
    if (pending_signal != 0) {
        // A second signal while the first is pending: the loop is stuck. Restore and go.
        ss_term_emergency_restore();
        _exit(128 + sig);
    }
    pending_signal = sig;
}

static void fatal_handler(int sig) {
    ss_term_emergency_restore();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    raise(sig);  // unblocked on return from the handler: dies with the original signal
}

void ss_term_install(void) {
    struct termios t;
    if (tcgetattr(0, &t) == 0) { saved_termios = t; have_termios = 1; }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = quit_handler;
    for (size_t i = 0; i < COUNT(quit_signals); i++) sigaction(quit_signals[i], &sa, NULL);
    sa.sa_handler = fatal_handler;
    sa.sa_flags = SA_NODEFER;
    for (size_t i = 0; i < COUNT(fatal_signals); i++) sigaction(fatal_signals[i], &sa, NULL);
}

void ss_term_uninstall(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < COUNT(quit_signals); i++) sigaction(quit_signals[i], &sa, NULL);
    for (size_t i = 0; i < COUNT(fatal_signals); i++) sigaction(fatal_signals[i], &sa, NULL);
}

void ss_term_set_restore_sequence(const char *bytes) {
    if (!bytes) return;
    size_t n = strlen(bytes);
    if (n >= sizeof restore_seq) n = sizeof restore_seq - 1;
    restore_len = 0;
    memcpy(restore_seq, bytes, n);
    restore_seq[n] = 0;
    restore_len = (sig_atomic_t)n;
}

void ss_term_set_active(int on) { curses_active = on ? 1 : 0; }
int ss_term_pending_signal(void) { return pending_signal; }
void ss_term_clear_signal(void) { pending_signal = 0; }

int ss_term_input_lost(void) {
    struct pollfd p = { .fd = 0, .events = POLLIN, .revents = 0 };
    int rc = poll(&p, 1, 0);
    if (rc < 0) return errno == EINTR ? 0 : 1;
    if (rc == 0) return 0;
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return 1;
    return 0;
}

void ss_term_reraise(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    raise(sig);
}
