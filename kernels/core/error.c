/* Thread-local error messages and status strings. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512];

tconv_status tconv_fail(tconv_status st, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, args);
    va_end(args);
    return st;
}

tconv_status tconv_succeed(void) {
    last_error[0] = '\0';
    return TCONV_OK;
}

const char *tconv_last_error(void) { return last_error; }

const char *tconv_status_string(tconv_status st) {
    switch (st) {
    case TCONV_OK: return "ok";
    case TCONV_ERR_INVALID: return "invalid argument";
    case TCONV_ERR_NOMEM: return "out of memory";
    case TCONV_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}
