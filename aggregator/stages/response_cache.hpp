#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace agg::stages {

/// One 2xx answer kept for later calls.
struct cached_reply {
  long status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< the call's `return_headers`
  std::chrono::steady_clock::time_point fresh_until;         ///< a hit until then
  std::chrono::steady_clock::time_point stale_until;         ///< after that, only when the call fails (stale-if-error)
};

/// A route's response cache: an LRU bounded by bytes (keys, bodies and bookkeeping counted), keyed
/// by URL and forwarded headers. Thread-safe; entries are shared immutable values, so a hit copies
/// nothing under the lock.
class response_cache {
 public:
  using clock = std::chrono::steady_clock;

  /// The entry for `key`, unless it is past its stale_until (then it is dropped); makes it the most
  /// recently used.
  [[nodiscard]] std::shared_ptr<const cached_reply> find(const std::string &key, clock::time_point now);
  /// Keeps `reply` under `key` (replacing what was there), then drops the least recently used
  /// entries until at most `max_bytes` are kept. An entry larger than `max_bytes` is not kept.
  void store(const std::string &key, std::shared_ptr<const cached_reply> reply, std::size_t max_bytes);

  [[nodiscard]] std::size_t bytes() const;
  [[nodiscard]] std::size_t entries() const;

 private:
  struct entry {
    std::string key;
    std::shared_ptr<const cached_reply> reply;
    std::size_t bytes;
  };
  void erase(std::list<entry>::iterator it);  // mutex_ held

  mutable std::mutex mutex_;
  std::list<entry> lru_;                                               // guarded by mutex_: most recent first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;  // guarded by mutex_
  std::size_t bytes_ = 0;                                              // guarded by mutex_
};

}  // namespace agg::stages
