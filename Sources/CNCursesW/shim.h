// The only header that brings ncursesw into Swift. Wide-character API enabled.
#ifndef SPIKESCOPE_CNCURSESW_SHIM_H
#define SPIKESCOPE_CNCURSESW_SHIM_H
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <ncursesw/curses.h>
#endif
