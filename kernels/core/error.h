/* Thread-local error reporting: every failing call records why, naming the field and value. */
#ifndef TCONV_ERROR_H
#define TCONV_ERROR_H

#include "tconv.h"

#if defined(__GNUC__)
#define TCONV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TCONV_PRINTF(f, a)
#endif

/* Records the message for tconv_last_error() and returns st. */
tconv_status tconv_fail(tconv_status st, const char *fmt, ...) TCONV_PRINTF(2, 3);
/* Clears the message and returns TCONV_OK. */
tconv_status tconv_succeed(void);

#endif
