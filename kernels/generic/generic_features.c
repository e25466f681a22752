/* Feature detection for architectures without SIMD kernels: scalar only. */
#include <stdio.h>
#include <string.h>

#include "../dispatch/dispatch.h"

void tconv_detect_cpu(tconv_cpu_features *out) {
    memset(out, 0, sizeof *out);
    out->info.l1d_kb = out->info.l2_kb = out->info.l3_kb = -1;
    snprintf(out->info.brand, sizeof out->info.brand, "unknown CPU");
    snprintf(out->info.detection, sizeof out->info.detection, "no detection: scalar only");
}
