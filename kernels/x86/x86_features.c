/* x86 feature detection: libcpuid plus the checks it lacks (raw leaf 7 for AMD AVX-512, XCR0). */
#include <stdio.h>
#include <string.h>

#include <libcpuid.h>

#include "../dispatch/dispatch.h"

/* CPUID register indices in libcpuid's raw data. */
enum { REG_EAX = 0, REG_EBX = 1, REG_ECX = 2, REG_EDX = 3 };

/* XCR0 through xgetbv: which register state the OS saves on context switch. Only valid when
 * CPUID.1:ECX.OSXSAVE is set; otherwise the instruction faults, so the caller checks first. */
static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static int bit(uint32_t value, int index) { return (int)((value >> index) & 1u); }

static void copy_text(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src); }

/* libcpuid 0.6.2 misses AVX-512 on AMD Zen 4/5; CPUID.(7,0):EBX is the ground truth. */
static int leaf7_avx512(const struct cpu_raw_data_t *raw) {
    if (raw->basic_cpuid[0][REG_EAX] < 7) return 0;
    uint32_t ebx = raw->basic_cpuid[7][REG_EBX];
    return bit(ebx, 16) /* F */ && bit(ebx, 17) /* DQ */ && bit(ebx, 30) /* BW */ &&
           bit(ebx, 31) /* VL */;
}

/* TCONV_AVX512_EMULATION test builds: the avx512 kernels are SIMDe code for AVX2+FMA, so they
 * run wherever avx2 does, whatever the CPU's own AVX-512. tconv-info, tconv-bench and the tests
 * look for "avx512: emulated" in the detection string. */
#define AVX512_EMULATED_NOTE "avx512: emulated (SIMDe on AVX2+FMA)"
#if defined(TCONV_AVX512_EMULATED)
enum { AVX512_EMULATED = 1 };
#else
enum { AVX512_EMULATED = 0 };
#endif

void tconv_detect_cpu(tconv_cpu_features *out) {
    memset(out, 0, sizeof *out);
    tconv_cpu_info *info = &out->info;
    info->l1d_kb = info->l2_kb = info->l3_kb = -1;
    struct cpu_raw_data_t raw;
    struct cpu_id_t id;
    if (!cpuid_present() || cpuid_get_raw_data(&raw) != 0 || cpu_identify(&raw, &id) != 0) {
        copy_text(info->brand, sizeof info->brand, "unknown x86 CPU");
        snprintf(info->detection, sizeof info->detection, "libcpuid failed (%s): scalar only",
                 cpuid_error());
        return;
    }
    copy_text(info->vendor, sizeof info->vendor, id.vendor_str);
    copy_text(info->brand, sizeof info->brand, id.brand_str);
    info->family = id.ext_family;
    info->model = id.ext_model;
    info->stepping = id.stepping;
    info->l1d_kb = id.l1_data_cache;
    info->l2_kb = id.l2_cache;
    info->l3_kb = id.l3_cache;

    int osxsave = bit(raw.basic_cpuid[1][REG_ECX], 27);
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    int os_ymm = (xcr0 & 0x6) == 0x6;   /* XMM and YMM state */
    int os_zmm = (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM state */

    int lib_avx512 = id.flags[CPU_FEATURE_AVX512F] && id.flags[CPU_FEATURE_AVX512BW] &&
                     id.flags[CPU_FEATURE_AVX512DQ] && id.flags[CPU_FEATURE_AVX512VL];
    int raw_avx512 = leaf7_avx512(&raw);

    out->supported[TCONV_ISA_sse41] = id.flags[CPU_FEATURE_SSE4_1];
    out->supported[TCONV_ISA_avx2] = id.flags[CPU_FEATURE_AVX] && id.flags[CPU_FEATURE_AVX2] &&
                                     id.flags[CPU_FEATURE_FMA3] && os_ymm;
    out->supported[TCONV_ISA_avx512] = (lib_avx512 || raw_avx512) && os_ymm && os_zmm;
    if (AVX512_EMULATED) out->supported[TCONV_ISA_avx512] = out->supported[TCONV_ISA_avx2];

    /* The emulation note comes first so that truncation can never drop it; the CPU's own
     * AVX-512 flags follow either way. */
    snprintf(info->detection, sizeof info->detection,
             "%slibcpuid %s; XCR0=0x%llx; AVX-512 libcpuid=%d leaf7=%d%s",
             AVX512_EMULATED ? AVX512_EMULATED_NOTE "; " : "", cpuid_lib_version(),
             (unsigned long long)xcr0, lib_avx512, raw_avx512,
             raw_avx512 && !lib_avx512 ? " (corrected from leaf 7)" : "");
}
