#pragma once

// What every fuzz target asserts with: a broken invariant aborts, and libFuzzer keeps the input.

#include <cstdio>
#include <cstdlib>

#define AGG_FUZZ_CHECK(condition)                                                            \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)
