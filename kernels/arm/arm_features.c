/* AArch64 feature detection: NEON (Advanced SIMD) is baseline; confirm it through the aux vector.
 */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "../dispatch/dispatch.h"

#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif

void tconv_detect_cpu(tconv_cpu_features *out) {
    memset(out, 0, sizeof *out);
    tconv_cpu_info *info = &out->info;
    info->l1d_kb = info->l2_kb = info->l3_kb = -1;
    unsigned long hwcap = getauxval(AT_HWCAP);
    out->supported[TCONV_ISA_neon] = (hwcap & HWCAP_ASIMD) != 0;
    snprintf(info->vendor, sizeof info->vendor, "arm");
    snprintf(info->brand, sizeof info->brand, "AArch64 CPU");
    snprintf(info->detection, sizeof info->detection, "getauxval(AT_HWCAP)=0x%lx", hwcap);
}
