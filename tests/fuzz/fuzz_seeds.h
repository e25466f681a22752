/* The committed seed corpus, written by `tconv-fuzz --write-seeds DIR`. */
#ifndef TCONV_FUZZ_SEEDS_H
#define TCONV_FUZZ_SEEDS_H

/* Writes one file per seed into DIR (which must exist). Returns 1 on success. */
int fuzz_write_seeds(const char *dir);

#endif
