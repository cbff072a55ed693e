#pragma once

#include <chrono>
#include <cstddef>

namespace agg::client {

/// How the upstream client runs: its threads, its connection pools and the options every call shares.
struct client_options {
  std::size_t loops = 0;                 ///< event loop threads; 0: one per core
  std::size_t shards_per_loop = 64;      ///< multi handles per loop (libcurl 7.88 cost grows per cache)
  std::size_t max_connections = 15'000;  ///< upstream connections across all loops; excess calls queue
  std::chrono::milliseconds connect_timeout{2'000};
  std::size_t max_connections_per_origin = 0;  ///< calls in flight per origin per process; 0: no cap
};

}  // namespace agg::client
