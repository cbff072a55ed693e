#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <unordered_map>
#include <utility>

namespace agg::runtime {

/// A map that keeps at most `capacity` entries, dropping the least recently used one to make room:
/// what bounds the memory of per-key state a client chooses the keys of (rate-limit keys, verified
/// tokens). O(1) per operation; not thread-safe (its owner locks).
template <typename Key, typename Value>
class lru_map {
 public:
  explicit lru_map(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  /// The value under `key`, now the most recently used; null when there is none.
  Value *find(const Key &key) {
    const auto found = index_.find(key);
    if (found == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, found->second);
    return &found->second->second;
  }

  /// The value under `key`, made with `make()` when there is none (the least recently used entry
  /// makes room); now the most recently used.
  template <typename Make>
  Value &find_or_add(const Key &key, Make &&make) {
    if (Value *existing = find(key)) return *existing;
    if (order_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
      ++dropped_;
    }
    order_.emplace_front(key, std::forward<Make>(make)());
    index_.emplace(key, order_.begin());
    return order_.front().second;
  }

  void erase(const Key &key) {
    if (const auto found = index_.find(key); found != index_.end()) {
      order_.erase(found->second);
      index_.erase(found);
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return order_.size(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// Entries dropped to make room so far.
  [[nodiscard]] std::size_t dropped() const noexcept { return dropped_; }

 private:
  std::size_t capacity_;
  std::size_t dropped_ = 0;
  std::list<std::pair<Key, Value>> order_;  // most recently used first
  std::unordered_map<Key, typename std::list<std::pair<Key, Value>>::iterator> index_;
};

}  // namespace agg::runtime
