/* The TCONV_WISDOM file: AUTO's measured decisions as plain text, checked line by line on load. */
#define _POSIX_C_SOURCE 200809L /* fdopen, mkstemp */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/error.h"
#include "auto_tune.h"

/* Format (version 1):
 *   tconv-wisdom 1 cpu=<vendor>/<brand>
 *   <shape descriptor> <isa> t<threads> <algorithm>
 *   ...
 * e.g. "mb1ic512ih8iw8oc256kh4kw4sh2sw2ph1pw1oph0opw0dh1dw1g1 avx512 t1 gemm". Every line ends
 * with '\n'. Timings are only valid on the CPU that measured them, so the header names it and a
 * file from another CPU is refused, as is anything not exactly in this form. */

#define SHAPE_FORMAT(conv)                                                                         \
    "mb%" conv "ic%" conv "ih%" conv "iw%" conv "oc%" conv "kh%" conv "kw%" conv "sh%" conv        \
    "sw%" conv "ph%" conv "pw%" conv "oph%" conv "opw%" conv "dh%" conv "dw%" conv "g%" conv

void tconv_wisdom_header(char *buf, size_t n) {
    tconv_cpu_info cpu;
    if (tconv_get_cpu_info(&cpu) != TCONV_OK) memset(&cpu, 0, sizeof cpu);
    /* Trailing blanks of the CPUID brand string would not survive an editor. */
    size_t len = strnlen(cpu.brand, sizeof cpu.brand);
    while (len > 0 && (cpu.brand[len - 1] == ' ' || cpu.brand[len - 1] == '\n')) len--;
    snprintf(buf, n, "%s %d cpu=%.32s/%.*s", TCONV_WISDOM_MAGIC, TCONV_WISDOM_VERSION, cpu.vendor,
             (int)len, cpu.brand);
}

static tconv_status bad_line(const char *path, size_t line, const char *why, const char *text) {
    return tconv_fail(TCONV_ERR_INVALID,
                      "TCONV_WISDOM file %s, line %zu: %s (\"%.80s\"); fix or remove the file",
                      path, line, why, text);
}

/* The header: the right magic, then the version, then this CPU, each refused with its own
 * message. */
static tconv_status check_header(const char *path, const char *text) {
    char expected[192];
    tconv_wisdom_header(expected, sizeof expected);
    size_t magic = strlen(TCONV_WISDOM_MAGIC);
    if (strncmp(text, TCONV_WISDOM_MAGIC " ", magic + 1) != 0)
        return bad_line(path, 1, "not a tconv wisdom file (no \"" TCONV_WISDOM_MAGIC "\" header)",
                        text);
    char *end;
    errno = 0;
    long version = strtol(text + magic + 1, &end, 10);
    if (errno || end == text + magic + 1 || *end != ' ' || version != TCONV_WISDOM_VERSION)
        return bad_line(path, 1, "format version is not 1, the one this library reads", text);
    if (strcmp(text, expected) != 0)
        return tconv_fail(TCONV_ERR_INVALID,
                          "TCONV_WISDOM file %s, line 1: measured on another CPU (\"%.100s\", this "
                          "is \"%.100s\"); its timings do not apply here: remove the file",
                          path, text, expected);
    return TCONV_OK;
}

/* One decision line, every field checked: a shape the library accepts, a known ISA tag, a thread
 * count in range, a candidate algorithm; nothing else on the line. */
static tconv_status parse_decision(const char *path, size_t line, const char *text,
                                   tconv_tune_entry *e) {
    int64_t v[16];
    char isa[16], algo[16];
    long threads;
    int used = -1;
    memset(e, 0, sizeof *e);
    int fields = sscanf(text, SHAPE_FORMAT(SCNd64) " %15s t%ld %15s%n", &v[0], &v[1], &v[2], &v[3],
                        &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13],
                        &v[14], &v[15], isa, &threads, algo, &used);
    if (fields != 19 || used < 0 || text[used] != '\0')
        return bad_line(path, line,
                        "not \"<shape descriptor> <isa> t<threads> <algorithm>\" with nothing "
                        "after",
                        text);
    tconv_shape *s = &e->key.s;
    *s = (tconv_shape){.batch = v[0],
                       .in_channels = v[1],
                       .in_h = v[2],
                       .in_w = v[3],
                       .out_channels = v[4],
                       .kernel_h = v[5],
                       .kernel_w = v[6],
                       .stride_h = v[7],
                       .stride_w = v[8],
                       .pad_h = v[9],
                       .pad_w = v[10],
                       .out_pad_h = v[11],
                       .out_pad_w = v[12],
                       .dilation_h = v[13],
                       .dilation_w = v[14],
                       .groups = v[15]};
    tconv_geometry g;
    if (tconv_geometry_init(s, &g) != TCONV_OK) {
        char why[300];
        snprintf(why, sizeof why, "invalid shape: %.200s", tconv_last_error());
        return bad_line(path, line, why, text);
    }
    if (!tconv_isa_from_tag(isa, &e->key.isa)) return bad_line(path, line, "unknown ISA tag", text);
    if (threads < 1 || threads > TCONV_MAX_THREADS)
        return bad_line(path, line, "thread count outside 1 to 4096", text);
    e->key.threads = (size_t)threads;
    if (tconv_algo_from_name(algo, &e->algo) != TCONV_OK || !tconv_tune_candidate(e->algo))
        return bad_line(path, line,
                        "algorithm is not one AUTO chooses (direct, gemm, sparse, gemm_blas)",
                        text);
    return TCONV_OK;
}

/* Reads one line into buf without its '\n'. 0 at the end of the file; -1 for a line that is too
 * long or has no '\n' (a truncated file: every line written ends with one). */
static int read_line(FILE *f, char *buf, size_t n) {
    if (fgets(buf, (int)n, f) == NULL) return 0;
    size_t len = strlen(buf);
    if (len == 0 || buf[len - 1] != '\n') return -1;
    buf[len - 1] = '\0';
    return 1;
}

static tconv_status load_lines(const char *path, FILE *f, tconv_tune_cache *out) {
    char text[TCONV_WISDOM_LINE_MAX + 2];
    int got = read_line(f, text, sizeof text);
    if (got <= 0)
        return bad_line(path, 1,
                        got == 0 ? "empty file, no header"
                                 : "header too long or truncated (no newline)",
                        got == 0 ? "" : text);
    tconv_status st = check_header(path, text);
    for (size_t line = 2; st == TCONV_OK; line++) {
        got = read_line(f, text, sizeof text);
        if (got == 0) break;
        if (got < 0) return bad_line(path, line, "line too long or truncated (no newline)", text);
        tconv_tune_entry e;
        st = parse_decision(path, line, text, &e);
        if (st == TCONV_OK) st = tconv_tune_cache_put(out, &e.key, e.algo);
    }
    if (st == TCONV_OK && ferror(f))
        return tconv_fail(TCONV_ERR_INVALID, "TCONV_WISDOM file %s: read error", path);
    return st;
}

tconv_status tconv_wisdom_load(const char *path, tconv_tune_cache *out) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT) return TCONV_OK; /* created with the first decision */
        return tconv_fail(TCONV_ERR_INVALID, "TCONV_WISDOM file %s cannot be read: %s", path,
                          strerror(errno));
    }
    tconv_tune_cache file = {0};
    tconv_status st = load_lines(path, f, &file);
    fclose(f);
    for (size_t i = 0; st == TCONV_OK && i < file.count; i++)
        st = tconv_tune_cache_put(out, &file.items[i].key, file.items[i].algo);
    tconv_tune_cache_free(&file);
    return st;
}

static int write_entries(FILE *f, const tconv_tune_cache *c) {
    char header[192];
    tconv_wisdom_header(header, sizeof header);
    if (fprintf(f, "%s\n", header) < 0) return 0;
    for (size_t i = 0; i < c->count; i++) {
        const tconv_tune_entry *e = &c->items[i];
        const tconv_shape *s = &e->key.s;
        if (fprintf(f, SHAPE_FORMAT(PRId64) " %s t%zu %s\n", s->batch, s->in_channels, s->in_h,
                    s->in_w, s->out_channels, s->kernel_h, s->kernel_w, s->stride_h, s->stride_w,
                    s->pad_h, s->pad_w, s->out_pad_h, s->out_pad_w, s->dilation_h, s->dilation_w,
                    s->groups, tconv_isa_tag(e->key.isa), e->key.threads,
                    tconv_algo_name(e->algo)) < 0)
            return 0;
    }
    return 1;
}

tconv_status tconv_wisdom_save(const char *path, const tconv_tune_cache *c) {
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof ".XXXXXX");
    if (tmp == NULL) return tconv_fail(TCONV_ERR_NOMEM, "cannot name the TCONV_WISDOM temp file");
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".XXXXXX", sizeof ".XXXXXX");
    int fd = mkstemp(tmp); /* same directory: rename stays within one file system */
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f != NULL && write_entries(f, c);
    int err = errno;
    if (f != NULL) {
        ok = fclose(f) == 0 && ok;
        if (!ok) err = errno;
    } else if (fd >= 0) {
        close(fd);
    }
    if (ok && rename(tmp, path) != 0) ok = 0, err = errno;
    if (!ok && fd >= 0) unlink(tmp);
    free(tmp);
    if (!ok)
        return tconv_fail(TCONV_ERR_INVALID, "TCONV_WISDOM file %s cannot be written: %s", path,
                          strerror(err));
    return TCONV_OK;
}
