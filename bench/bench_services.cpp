#include "bench/bench_services.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "aggregator/client/fetch_blocking.hpp"

namespace agg::bench {

bench_services::bench_services(const std::string &binaries, std::chrono::milliseconds delay,
                               std::size_t max_connections, std::size_t max_aggregations) {
  upstream_ = std::make_unique<process::child_process>(std::vector<std::string>{
      binaries + "/upstream/upstream", "--listen", "127.0.0.1:0", "--delay-ms", std::to_string(delay.count())});
  const int upstream_port = upstream_->listening_port();
  config_file_ =
      (std::filesystem::temp_directory_path() / ("aggregator-bench-" + std::to_string(::getpid()) + ".json")).string();
  // Upstream connections take what the descriptor limit (20 000 here) leaves beside the clients'.
  const std::size_t upstream_connections = max_connections < 18'000 ? 19'000 - max_connections : 1'000;
  std::ofstream{config_file_} << R"({"server":{"max_connections":)" << max_connections << R"(,"max_aggregations":)"
                              << max_aggregations << R"(},"client":{"max_connections":)" << upstream_connections
                              << R"(},"log":{"level":"warn"},"routes":[{"name":"bench","path":"/bench",)"
                              << R"("num":{"default":10,"max":1000},"timeout_ms":600000,"deadline_ms":3600000,)"
                              << R"("upstreams":[{"url":"http://127.0.0.1:)" << upstream_port
                              << R"(/api/?task_id={i}","repeat":true}]},)"
                              << R"({"name":"chaos","path":"/chaos","timeout_ms":1000,"deadline_ms":5000,)"
                              << R"("max_body_bytes":100000,"upstreams":[)";
  {
    std::ofstream config{config_file_, std::ios::app};
    for (std::size_t i = 0; i < chaos_faults().size(); ++i)
      config << (i == 0 ? "" : ",") << R"({"url":"http://127.0.0.1:)" << upstream_port << "/api/?"
             << chaos_faults()[i].query << "&key=chaos" << i << R"("})";
    config << "]}]}";
  }
  // The file is needed only until the aggregator has read it: gone once it listens, or once it failed
  // to start, so an interrupted run leaves nothing in /tmp.
  const auto forget_config = [this] {
    std::error_code ignored;
    std::filesystem::remove(config_file_, ignored);
  };
  try {
    aggregator_ = std::make_unique<process::child_process>(
        std::vector<std::string>{binaries + "/aggregator/aggregator", "--config", config_file_, "--listen",
                                 "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"});
    port_ = aggregator_->listening_port();
    admin_port_ = aggregator_->listening_port();
  } catch (...) {
    forget_config();
    throw;
  }
  forget_config();
  drain_ = std::thread{[this] {
    for (std::string line = aggregator_->line(); !line.empty() || !aggregator_->ended(); line = aggregator_->line())
      if (line.find(" warn ") != std::string::npos || line.find(" error ") != std::string::npos)
        std::fprintf(stderr, "aggregator: %s\n", line.c_str());
  }};
}

bench_services::~bench_services() {
  aggregator_->signal(SIGKILL);  // its output ends, and with it the drain
  drain_.join();
}

const std::vector<chaos_fault> &chaos_faults() {
  // 20 calls: 9 that succeed (one of them slow), 11 that fail in every way the upstream can.
  static const std::vector<chaos_fault> faults{
      {"task_id=a", {"ok"}},
      {"task_id=b", {"ok"}},
      {"task_id=c", {"ok"}},
      {"task_id=d", {"ok"}},
      {"task_id=e", {"ok"}},
      {"task_id=f", {"ok"}},
      {"task_id=g", {"ok"}},
      {"task_id=h", {"ok"}},
      {"delay_ms=50", {"ok"}},
      {"fault=reset_before_headers", {"transport"}},
      {"fault=reset_after_headers", {"transport"}},
      {"fault=stall", {"timeout"}},
      {"fault=endless_body", {"timeout", "too_large"}},
      {"fault=garbage", {"invalid_json"}},
      {"fault=binary", {"invalid_json"}},
      {"fault=oversized&size=200000", {"too_large"}},
      {"status=503", {"http_status"}},
      {"status=500", {"http_status"}},
      {"fail_every=2&fail_status=502", {"ok", "http_status"}},
      {"delay_ms=3000", {"timeout"}},
  };
  return faults;
}

std::string bench_services::chaos_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/chaos"; }

std::string bench_services::url(std::size_t num, bool sync) const {
  return "http://127.0.0.1:" + std::to_string(port_) + (sync ? "/bench_sync" : "/bench") +
         "?num=" + std::to_string(num);
}

process_usage usage_of(pid_t pid) {
  process_usage usage;
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmHWM:")) usage.peak_rss_bytes = std::stoull(line.substr(6)) * 1024;
    if (line.starts_with("VmRSS:")) usage.rss_bytes = std::stoull(line.substr(6)) * 1024;
    if (line.starts_with("Threads:")) usage.threads = std::stoull(line.substr(8));
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator{"/proc/" + std::to_string(pid) + "/fd", ec};
       !ec && it != std::filesystem::directory_iterator{}; it.increment(ec))
    ++usage.descriptors;
  std::ifstream stat_file{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat;
  std::getline(stat_file, stat);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  std::istringstream fields{stat.substr(stat.rfind(')') + 2)};
  std::string field;
  double ticks = 0;
  for (int i = 1; i <= 13 && fields >> field; ++i)
    if (i == 12 || i == 13) ticks += std::stod(field);
  const double tick_seconds = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  // utime and stime count 10 ms ticks: a short, light run reads 0. Each thread's schedstat counts
  // its time on a CPU in nanoseconds; their sum is precise but forgets threads that have ended,
  // so the ticks stay the floor.
  double run_ns = 0;
  for (auto it = std::filesystem::directory_iterator{"/proc/" + std::to_string(pid) + "/task", ec};
       !ec && it != std::filesystem::directory_iterator{}; it.increment(ec)) {
    std::ifstream schedstat{it->path() / "schedstat"};
    double ns = 0;
    if (schedstat >> ns) run_ns += ns;
  }
  usage.cpu_seconds = std::max(tick_seconds, run_ns / 1e9);
  return usage;
}

std::string build_dir_of_self() {
  return std::filesystem::canonical("/proc/self/exe").parent_path().parent_path().string();
}

}  // namespace agg::bench
