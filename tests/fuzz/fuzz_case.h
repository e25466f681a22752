/* The fuzz input format: bytes -> one API scenario (shape, algorithm, ISA, pointers, data). */
#ifndef TCONV_FUZZ_CASE_H
#define TCONV_FUZZ_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "tconv.h"

/* How the tensors are handed to the library. */
typedef enum fuzz_pointers {
    FUZZ_PTR_NORMAL = 0, /* separate x, w, y */
    FUZZ_PTR_NULL_W,
    FUZZ_PTR_NULL_X,
    FUZZ_PTR_NULL_Y,
    FUZZ_PTR_ALIAS,     /* x == y */
    FUZZ_PTR_Y_IN_X,    /* y starts inside x */
    FUZZ_PTR_X_IN_Y,    /* x starts inside y */
    FUZZ_PTR_NULL_OUT,  /* tconv_plan_create_ex(..., NULL) */
    FUZZ_PTR_NULL_PLAN, /* tconv_plan_run(NULL, ...) */
    FUZZ_PTR_COUNT
} fuzz_pointers;

/* Where non-finite values go (the data are finite values in [-1, 1) otherwise). */
typedef enum fuzz_special {
    FUZZ_DATA_FINITE = 0,
    FUZZ_DATA_NONFINITE_W,
    FUZZ_DATA_NONFINITE_X,
    FUZZ_DATA_NONFINITE_BIAS,
    FUZZ_DATA_ZERO_W, /* about half of the weights exactly zero; with special_pick & 16 also
                          NaN/Inf in x (fuzz_tconv.c: PICK_ZERO_W_NONFINITE_X) */
    FUZZ_DATA_COUNT
} fuzz_special;

/* ISA selection: no options, options with isa NULL, a tag from tconv_isa_name, or a string the
 * library does not know. */
typedef enum fuzz_isa_kind {
    FUZZ_ISA_NO_OPTIONS,
    FUZZ_ISA_NULL,
    FUZZ_ISA_TAG,
    FUZZ_ISA_UNKNOWN
} fuzz_isa_kind;

typedef struct fuzz_case {
    tconv_shape shape;
    int algo; /* passed as tconv_algo; may be out of range */
    fuzz_isa_kind isa_kind;
    const char *isa; /* the tag or unknown string (NULL for the first two kinds) */
    fuzz_pointers pointers;
    int with_bias;
    uint32_t overlap; /* picks the offset of overlapping x/y */
    fuzz_special special;
    uint32_t special_pick; /* which value (NaN, +Inf, -Inf) and how many */
    uint32_t data_seed;
} fuzz_case;

/* Decodes any byte string (missing bytes read as 0, extra bytes are ignored). */
void fuzz_decode(const uint8_t *data, size_t size, fuzz_case *c);

/* The inverse for seeds: writes an encoding of c that decodes to exactly c (every shape field in
 * its raw 8-byte form). isa_choice is the ISA byte (see fuzz_isa_choice). Returns the length. */
size_t fuzz_encode(const fuzz_case *c, int isa_choice, uint8_t *out, size_t cap);

/* ISA byte that selects: kind NO_OPTIONS / NULL, the tag with tconv_isa_name index `index`, or
 * unknown string number `index`. */
int fuzz_isa_choice(fuzz_isa_kind kind, int index);

#define FUZZ_MAX_INPUT 256 /* longer inputs carry nothing more */

#endif
