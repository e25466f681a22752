/* Problem shapes: benchdnn-like descriptors, the real-layer file and the i/k/s/p sweep. */
#include "shapes.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    K_MB,
    K_G,
    K_IC,
    K_IH,
    K_IW,
    K_OC,
    K_OH,
    K_OW,
    K_KH,
    K_KW,
    K_SH,
    K_SW,
    K_PH,
    K_PW,
    K_OPH,
    K_OPW,
    K_DH,
    K_DW,
    K_COUNT
};
static const char *const keys[K_COUNT] = {"mb", "g",  "ic", "ih", "iw", "oc",  "oh",  "ow", "kh",
                                          "kw", "sh", "sw", "ph", "pw", "oph", "opw", "dh", "dw"};

int tb_parse_descriptor(const char *text, tconv_shape *out, char *err, size_t errn) {
    int64_t v[K_COUNT];
    int set[K_COUNT] = {0};
    const char *p = text;
    while (*p) {
        int best = -1;
        size_t best_len = 0;
        for (int k = 0; k < K_COUNT; k++) {
            size_t len = strlen(keys[k]);
            if (len > best_len && strncmp(p, keys[k], len) == 0 && isdigit((unsigned char)p[len]))
                best = k, best_len = len;
        }
        if (best < 0) {
            snprintf(err, errn,
                     "descriptor '%s': unknown key at '%s' (keys: mb g ic ih iw oc oh ow kh kw "
                     "sh sw ph pw oph opw dh dw)",
                     text, p);
            return 0;
        }
        if (set[best]) {
            snprintf(err, errn, "descriptor '%s': key '%s' given twice", text, keys[best]);
            return 0;
        }
        p += best_len;
        char *end;
        errno = 0;
        long long value = strtoll(p, &end, 10);
        if (errno || value < 0 || value > (1ll << 40)) {
            snprintf(err, errn, "descriptor '%s': bad value for '%s'", text, keys[best]);
            return 0;
        }
        v[best] = value, set[best] = 1, p = end;
    }
    if (!set[K_IC] || !set[K_OC] || !(set[K_IH] || set[K_IW]) || !(set[K_KH] || set[K_KW])) {
        snprintf(err, errn, "descriptor '%s': needs at least ic, oc, ih (or iw) and kh (or kw)",
                 text);
        return 0;
    }
#define DEFAULT(k, value)                                                                          \
    if (!set[k]) v[k] = (value)
#define PAIR(a, b, value)                                                                          \
    if (!set[a] && !set[b])                                                                        \
        v[a] = v[b] = (value);                                                                     \
    else if (!set[a])                                                                              \
        v[a] = v[b];                                                                               \
    else if (!set[b])                                                                              \
    v[b] = v[a]
    DEFAULT(K_MB, 1);
    DEFAULT(K_G, 1);
    PAIR(K_IH, K_IW, 0);
    PAIR(K_KH, K_KW, 0);
    PAIR(K_SH, K_SW, 1);
    PAIR(K_PH, K_PW, 0);
    PAIR(K_DH, K_DW, 1);
#undef DEFAULT
#undef PAIR
    tconv_shape s = {v[K_MB], v[K_IC], v[K_OC], v[K_IH], v[K_IW], v[K_KH], v[K_KW], v[K_SH],
                     v[K_SW], v[K_PH], v[K_PW], 0,       0,       v[K_DH], v[K_DW], v[K_G]};
    /* Output padding: explicit, derived from oh/ow, or 0; oph/opw pair like the others. */
    int64_t op[2] = {set[K_OPH] ? v[K_OPH] : -1, set[K_OPW] ? v[K_OPW] : -1};
    const int ok_key[2] = {K_OH, K_OW};
    int64_t base[2];
    {
        tconv_shape z = s;
        z.out_pad_h = z.out_pad_w = 0;
        int64_t bh, bw;
        if (tconv_output_size(&z, &bh, &bw) != TCONV_OK) {
            snprintf(err, errn, "descriptor '%s': %s", text, tconv_last_error());
            return 0;
        }
        base[0] = bh, base[1] = bw;
    }
    for (int a = 0; a < 2; a++) {
        if (set[ok_key[a]]) {
            int64_t derived = v[ok_key[a]] - base[a];
            if (op[a] >= 0 && op[a] != derived) {
                snprintf(err, errn, "descriptor '%s': %s%" PRId64 " disagrees with %s%" PRId64,
                         text, keys[ok_key[a]], v[ok_key[a]], a ? "opw" : "oph", op[a]);
                return 0;
            }
            if (derived < 0) {
                snprintf(err, errn,
                         "descriptor '%s': %s%" PRId64 " is below the output size without "
                         "output padding (%" PRId64 ")",
                         text, keys[ok_key[a]], v[ok_key[a]], base[a]);
                return 0;
            }
            op[a] = derived;
        }
    }
    /* Unset width follows height and vice versa, like the other pairs. */
    if (op[0] < 0 && op[1] < 0)
        op[0] = op[1] = 0;
    else if (op[0] < 0)
        op[0] = op[1];
    else if (op[1] < 0)
        op[1] = op[0];
    s.out_pad_h = op[0], s.out_pad_w = op[1];
    int64_t oh, ow;
    if (tconv_output_size(&s, &oh, &ow) != TCONV_OK) {
        snprintf(err, errn, "descriptor '%s': %s", text, tconv_last_error());
        return 0;
    }
    *out = s;
    return 1;
}

void tb_format_descriptor(const tconv_shape *s, char *buf, size_t n) {
    snprintf(buf, n,
             "mb%" PRId64 "g%" PRId64 "ic%" PRId64 "ih%" PRId64 "iw%" PRId64 "oc%" PRId64
             "kh%" PRId64 "kw%" PRId64 "sh%" PRId64 "sw%" PRId64 "ph%" PRId64 "pw%" PRId64
             "oph%" PRId64 "opw%" PRId64 "dh%" PRId64 "dw%" PRId64,
             s->batch, s->groups, s->in_channels, s->in_h, s->in_w, s->out_channels, s->kernel_h,
             s->kernel_w, s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->out_pad_h, s->out_pad_w,
             s->dilation_h, s->dilation_w);
}

int tb_shape_list_add(tb_shape_list *l, const tb_shape_entry *e) {
    if (l->count == l->capacity) {
        size_t cap = l->capacity ? 2 * l->capacity : 64;
        tb_shape_entry *p = realloc(l->items, cap * sizeof *p);
        if (!p) return 0;
        l->items = p, l->capacity = cap;
    }
    l->items[l->count++] = *e;
    return 1;
}

void tb_shape_list_free(tb_shape_list *l) {
    free(l->items);
    l->items = NULL, l->count = l->capacity = 0;
}

int tb_load_layers(const char *path, tb_shape_list *l, char *err, size_t errn) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errn, "cannot open layers file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int count = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (*p == '#' || *p == '\0') continue;
        char name[96], desc[256];
        int used = 0;
        if (sscanf(p, "%95s %255s %n", name, desc, &used) < 2) {
            snprintf(err, errn, "%s:%d: expected 'name descriptor source...'", path, lineno);
            fclose(f);
            return -1;
        }
        tb_shape_entry e = {0};
        if (!tb_parse_descriptor(desc, &e.shape, err, errn)) {
            size_t len = strlen(err);
            snprintf(err + len, errn - len, " (%s:%d)", path, lineno);
            fclose(f);
            return -1;
        }
        snprintf(e.name, sizeof e.name, "%s", name);
        char *src = p + used;
        src[strcspn(src, "\r\n")] = '\0';
        snprintf(e.source, sizeof e.source, "%s", src);
        e.group = TB_GROUP_LAYER;
        for (size_t i = 0; i < l->count; i++)
            if (strcmp(l->items[i].name, e.name) == 0) {
                snprintf(err, errn, "%s:%d: layer name '%s' used twice", path, lineno, name);
                fclose(f);
                return -1;
            }
        if (!tb_shape_list_add(l, &e)) {
            snprintf(err, errn, "out of memory");
            fclose(f);
            return -1;
        }
        count++;
    }
    fclose(f);
    return count;
}

static int add_sweep_point(tb_shape_list *l, int i, int k, int s, int p, int c, int *invalid) {
    tb_shape_entry e = {0};
    e.group = TB_GROUP_SWEEP;
    e.shape = (tconv_shape){1, c, c, i, i, k, k, s, s, p, p, 0, 0, 1, 1, 1};
    int64_t oh, ow;
    if (tconv_output_size(&e.shape, &oh, &ow) != TCONV_OK) {
        (*invalid)++;
        return 0;
    }
    for (size_t j = 0; j < l->count; j++) {
        const tb_shape_entry *o = &l->items[j];
        if (o->group == TB_GROUP_SWEEP && o->i == i && o->k == k && o->s == s && o->p == p &&
            o->c == c)
            return 0; /* already there (the default lines cross the grid) */
    }
    e.i = i, e.k = k, e.s = s, e.p = p, e.c = c;
    snprintf(e.name, sizeof e.name, "sweep/i%d_k%d_s%d_p%d_c%d", i, k, s, p, c);
    snprintf(e.source, sizeof e.source, "i/k/s/p sweep, %d->%d channels%s", c, c,
             s > k ? ", stride > kernel (output has gaps)" : "");
    return tb_shape_list_add(l, &e);
}

int tb_add_sweep(tb_shape_list *l, int full, int *invalid) {
    static const int sizes[] = {4, 8, 16, 32, 64, 128};
    static const int kernels[] = {1, 2, 3, 4, 5, 6, 7, 8, 16};
    static const int strides[] = {1, 2, 3, 4, 8};
    static const int channels[] = {1, 32};
    int added = 0, dummy = 0;
    if (!invalid) invalid = &dummy;
    for (size_t ci = 0; ci < 2; ci++) {
        int c = channels[ci];
        if (full) {
            for (size_t ii = 0; ii < 6; ii++)
                for (size_t ki = 0; ki < 9; ki++)
                    for (size_t si = 0; si < 5; si++)
                        for (int p = 0; p < kernels[ki]; p++)
                            added += add_sweep_point(l, sizes[ii], kernels[ki], strides[si], p, c,
                                                     invalid);
            continue;
        }
        for (size_t ki = 0; ki < 9; ki++)
            for (size_t si = 0; si < 5; si++) {
                int k = kernels[ki], s = strides[si];
                int p = k > s ? (k - s + 1) / 2 : 0;
                added += add_sweep_point(l, 16, k, s, p, c, invalid);
            }
        for (size_t ii = 0; ii < 6;
             ii++) /* 32->32 at 128x128 costs more than the rest: full sweep only */
            if (c == 1 || sizes[ii] <= 64)
                added += add_sweep_point(l, sizes[ii], 4, 2, 1, c, invalid);
        for (int p = 0; p < 5; p++) added += add_sweep_point(l, 16, 5, 2, p, c, invalid);
    }
    return added;
}
