#pragma once

#include <httplib.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace agg::testing {

/// Reads a streamed answer (NDJSON or SSE) on a thread of its own, as it arrives: what the test
/// sees meanwhile (received()), and all of it once the stream ended (finish()).
class stream_reader {
 public:
  stream_reader(int port, std::string path, httplib::Headers headers = {})
      : reader_([this, port, path = std::move(path), headers = std::move(headers)] {
          httplib::Client client{"127.0.0.1", port};
          client.set_read_timeout(60, 0);
          const auto r = client.Get(path, headers, [this](const char *data, std::size_t size) {
            const std::lock_guard lock{mutex_};
            received_.append(data, size);
            return true;
          });
          const std::lock_guard lock{mutex_};
          status_ = r ? r->status : -1;
        }) {}
  stream_reader(const stream_reader &) = delete;
  stream_reader &operator=(const stream_reader &) = delete;
  ~stream_reader() {
    if (reader_.joinable()) reader_.join();
  }

  /// What arrived so far.
  [[nodiscard]] std::string received() const {
    const std::lock_guard lock{mutex_};
    return received_;
  }
  /// Waits for the stream's end: its lines (NDJSON) or the data of its events (SSE), in order.
  std::vector<std::string> finish() {
    reader_.join();
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < received_.size()) {
      const std::size_t end = received_.find('\n', at);
      std::string line = received_.substr(at, end == std::string::npos ? std::string::npos : end - at);
      at = end == std::string::npos ? received_.size() : end + 1;
      if (line.starts_with("data: ")) line.erase(0, 6);
      if (!line.empty() && !line.starts_with("event: ")) lines.push_back(std::move(line));
    }
    return lines;
  }
  /// The answer's status once finished (-1: none).
  [[nodiscard]] int status() const {
    const std::lock_guard lock{mutex_};
    return status_;
  }

 private:
  mutable std::mutex mutex_;
  std::string received_;  // guarded by mutex_
  int status_ = 0;        // guarded by mutex_
  std::thread reader_;    // last: it starts once the rest is made
};

}  // namespace agg::testing
