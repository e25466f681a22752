/* Problem shapes for the harness: benchdnn-like descriptors, the real-layer file, the sweep. */
#ifndef TB_SHAPES_H
#define TB_SHAPES_H

#include <stddef.h>

#include "tconv.h"

typedef enum tb_group { TB_GROUP_LAYER, TB_GROUP_SWEEP, TB_GROUP_CLI } tb_group;

typedef struct tb_shape_entry {
    char name[96]; /* benchmark-name suffix: "dcgan_512_256", "sweep/i16_k3_s2_p1_c1", "cli/..." */
    char source[256]; /* where the layer comes from (layers file), or how it was generated */
    tb_group group;
    tconv_shape shape;
    int i, k, s, p,
        c; /* sweep coordinates (group sweep): input size, kernel, stride, pad, channels */
} tb_shape_entry;

typedef struct tb_shape_list {
    tb_shape_entry *items;
    size_t count, capacity;
} tb_shape_list;

/* Parses a descriptor such as mb1ic512ih8iw8oc256kh4sh2ph1 (keys: mb g ic ih iw oc oh ow kh kw sh
 * sw ph pw oph opw dh dw, any order). Defaults: mb1 g1; iw=ih, kw=kh, sw=sh (1), pw=ph (0),
 * opw=oph (0), dw=dh (1). Dilation is PyTorch's (1 = none), unlike benchdnn's 0-based dh. oh/ow,
 * when given, fix the output padding (op = oh - the size without it). Returns 1 on success, else
 * 0 with a message in err. The shape is also validated with tconv_output_size. */
int tb_parse_descriptor(const char *text, tconv_shape *out, char *err, size_t errn);
/* Canonical full descriptor (every key), parseable by tb_parse_descriptor. */
void tb_format_descriptor(const tconv_shape *s, char *buf, size_t n);

int tb_shape_list_add(tb_shape_list *l, const tb_shape_entry *e);
void tb_shape_list_free(tb_shape_list *l);

/* Reads a layers file: one layer per line, "name descriptor source text...", '#' comments.
 * Returns the number of layers read, or -1 with a message in err. */
int tb_load_layers(const char *path, tb_shape_list *l, char *err, size_t errn);

/* The i/k/s/p sweep. full: every i in {4,8,16,32,64,128}, k in 1..7,8,16, s in 1..4,8,
 * p in 0..k-1, channels 1->1 and 32->32 (invalid output sizes are left out and counted in
 * *invalid). Default: the (k, s) grid at i=16 with p = max(0, ceil((k-s)/2)), plus an i line
 * (k4 s2 p1; 32->32 up to i=64) and a p line (k5 s2), both channel cases. Returns the number added.
 */
int tb_add_sweep(tb_shape_list *l, int full, int *invalid);

#endif
