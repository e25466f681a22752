/* Peak FP32 throughput loops, one file per ISA, each built with that ISA's flags (and ceiling)
 * exactly like the library's kernels. Each runs `iters` iterations of independent multiply-add
 * chains (enough to cover latency x issue width on current cores) and returns a checksum so the
 * work cannot be optimized away; *flops receives the FLOPs executed (one multiply-add = 2). */
#ifndef TB_PEAK_H
#define TB_PEAK_H

#define TB_PEAK(isa) double tb_peak_##isa(long iters, double *flops);
#include "tb_peaks.def"
#undef TB_PEAK

#endif
