#pragma once

#include <malloc.h>

#include <string>

// mimalloc's, when the binary is linked with it (AGG_MIMALLOC, bench/RESULTS.md); else null.
extern "C" int mi_version() __attribute__((weak));
extern "C" void mi_collect(bool force) __attribute__((weak));

namespace agg::process {

/// The allocator the process runs on, for the start-up banner: "mimalloc 2.0.9" or glibc's.
inline std::string memory_allocator() {
  if (mi_version == nullptr) return "glibc malloc";
  const int version = mi_version();
  return "mimalloc " + std::to_string(version / 100) + "." + std::to_string(version / 10 % 10) + "." +
         std::to_string(version % 10);
}

/// Gives the calling thread's free pages back to the kernel: mimalloc's heap when the binary has
/// it (its pages, not glibc's arenas, then hold what was freed), and glibc's arenas.
inline void give_back_free_memory() {
  if (mi_collect != nullptr) mi_collect(true);
  static_cast<void>(::malloc_trim(0));
}

}  // namespace agg::process
