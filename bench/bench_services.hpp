#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "aggregator/process/child_process.hpp"

namespace agg::bench {

/// The bundled upstream and an aggregator in front of it, started from the built binaries with a
/// benchmark route `/bench?num=N` (up to 1000 calls, each `delay` long). Stopped on destruction.
class bench_services {
 public:
  /// `binaries` is the build folder holding aggregator/aggregator and upstream/upstream;
  /// `max_connections` is the aggregator's cap on client connections.
  bench_services(const std::string &binaries, std::chrono::milliseconds delay, std::size_t max_connections,
                 std::size_t max_aggregations);

  bench_services(const bench_services &) = delete;
  bench_services &operator=(const bench_services &) = delete;
  ~bench_services();

  [[nodiscard]] std::string url(std::size_t num, bool sync) const;
  [[nodiscard]] int port() const noexcept { return port_; }
  /// The control plane's port (/metrics).
  [[nodiscard]] int admin_port() const noexcept { return admin_port_; }
  /// The `chaos` route: its upstreams answer, or fail, as chaos_faults() lists.
  [[nodiscard]] std::string chaos_url() const;
  [[nodiscard]] pid_t aggregator_pid() const { return aggregator_->pid(); }

 private:
  std::string config_file_;
  std::unique_ptr<process::child_process> upstream_;
  std::unique_ptr<process::child_process> aggregator_;
  int port_ = 0;
  int admin_port_ = 0;
  // Reads the aggregator's output to the end: a full pipe would stop it at its next log line.
  std::thread drain_;
};

/// One entry of the `chaos` route: the upstream query that makes its fault, and the error kinds
/// its call may end with ("ok" for none).
struct chaos_fault {
  std::string query;
  std::vector<std::string> kinds;
};
/// The `chaos` route's entries, in order: a mix of every fault the bundled upstream injects.
const std::vector<chaos_fault> &chaos_faults();

/// A process's resident memory now and at its peak (VmRSS, VmHWM) in bytes, its CPU time (user +
/// system) so far, its open descriptors and its threads.
struct process_usage {
  std::uint64_t peak_rss_bytes = 0;
  std::uint64_t rss_bytes = 0;
  double cpu_seconds = 0;
  std::size_t descriptors = 0;
  std::size_t threads = 0;
};
process_usage usage_of(pid_t pid);

/// The folder of the running executable's build tree: where the other binaries are.
std::string build_dir_of_self();

}  // namespace agg::bench
