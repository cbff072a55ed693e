#include "aggregator/stages/response_cache.hpp"

namespace agg::stages {

namespace {

/// What an entry costs beyond its key and body: list and map nodes, the shared reply.
constexpr std::size_t overhead_bytes = 160;

}  // namespace

std::shared_ptr<const cached_reply> response_cache::find(const std::string &key, clock::time_point now) {
  const std::lock_guard lock{mutex_};
  const auto found = index_.find(key);
  if (found == index_.end()) return nullptr;
  const auto it = found->second;
  if (it->reply->stale_until <= now) {
    erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it);
  return it->reply;
}

void response_cache::store(const std::string &key, std::shared_ptr<const cached_reply> reply, std::size_t max_bytes) {
  const std::size_t size = key.size() * 2 + reply->body.size() + overhead_bytes;  // the key is kept twice
  const std::lock_guard lock{mutex_};
  if (const auto found = index_.find(key); found != index_.end()) erase(found->second);
  if (size > max_bytes) return;
  lru_.push_front(entry{key, std::move(reply), size});
  index_.emplace(key, lru_.begin());
  bytes_ += size;
  while (bytes_ > max_bytes) erase(std::prev(lru_.end()));
}

void response_cache::erase(std::list<entry>::iterator it) {
  bytes_ -= it->bytes;
  index_.erase(it->key);
  lru_.erase(it);
}

std::size_t response_cache::bytes() const {
  const std::lock_guard lock{mutex_};
  return bytes_;
}

std::size_t response_cache::entries() const {
  const std::lock_guard lock{mutex_};
  return lru_.size();
}

}  // namespace agg::stages
