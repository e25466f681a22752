/* Unit test of the descriptor parser and the layers file (ctest bench_shapes). */
#include <stdio.h>
#include <string.h>

#include "shapes.h"

static int failures;

static void expect(int cond, const char *what) {
    if (!cond) {
        printf("FAIL: %s\n", what);
        failures++;
    }
}

static int same(const tconv_shape *a, const tconv_shape *b) { return memcmp(a, b, sizeof *a) == 0; }

int main(int argc, char **argv) {
    char err[512], buf[256];
    tconv_shape s, t;
    /* defaults: square, mb1, g1, dilation 1, no output padding */
    expect(tb_parse_descriptor("ic512ih8oc256kh4sh2ph1", &s, err, sizeof err),
           "short descriptor parses");
    tconv_shape want = {1, 512, 256, 8, 8, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1};
    expect(same(&s, &want), "short descriptor defaults");
    /* round trip through the canonical form */
    tb_format_descriptor(&s, buf, sizeof buf);
    expect(tb_parse_descriptor(buf, &t, err, sizeof err) && same(&s, &t), "canonical round trip");
    /* oh derives the output padding: CycleGAN 128x128 -> 256x256 with k3 s2 p1 needs op 1 */
    expect(tb_parse_descriptor("mb1ic128ih128oc64oh256kh3sh2ph1", &s, err, sizeof err) &&
               s.out_pad_h == 1 && s.out_pad_w == 1,
           "oh256 gives oph1");
    expect(tb_parse_descriptor("mb2g2ic4ih5iw7oc6kh3kw2sh2sw3ph1pw0oph1opw2dh2dw1", &s, err,
                               sizeof err),
           "full");
    tconv_shape full = {2, 4, 6, 5, 7, 3, 2, 2, 3, 1, 0, 1, 2, 2, 1, 2};
    expect(same(&s, &full), "every key lands in its field");
    /* errors */
    expect(!tb_parse_descriptor("ic4ih4oc4kh3zz1", &s, err, sizeof err), "unknown key refused");
    expect(!tb_parse_descriptor("ic4oc4kh3", &s, err, sizeof err), "missing ih refused");
    expect(!tb_parse_descriptor("ic4ih4oc4kh3sh2oph2", &s, err, sizeof err),
           "op >= stride refused");
    expect(!tb_parse_descriptor("ic4ih4oc4kh3ih5", &s, err, sizeof err), "duplicate key refused");
    expect(!tb_parse_descriptor("ic4ih4oc4kh3oh100", &s, err, sizeof err),
           "oh inconsistent refused");
    /* the layers file parses and has the design notes' layers */
    if (argc > 1) {
        tb_shape_list l = {0};
        int n = tb_load_layers(argv[1], &l, err, sizeof err);
        if (n < 0) printf("%s\n", err);
        expect(n >= 16, "layers file has at least the 16 layers of design notes section 5");
        for (size_t i = 0; i < l.count; i++)
            expect(l.items[i].source[0] != '\0', "every layer names its source");
        tb_shape_list_free(&l);
    }
    /* sweeps */
    tb_shape_list d = {0}, f = {0};
    int invalid_d = 0, invalid_f = 0;
    int nd = tb_add_sweep(&d, 0, &invalid_d), nf = tb_add_sweep(&f, 1, &invalid_f);
    printf("default sweep: %d shapes; full sweep: %d shapes (+%d invalid output sizes left out)\n",
           nd, nf, invalid_f);
    expect(nf + invalid_f == 2 * 6 * 5 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 16),
           "full sweep covers every combination");
    expect(nd > 50 && nd < nf, "default sweep is a proper subset");
    tb_shape_list_free(&d), tb_shape_list_free(&f);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
