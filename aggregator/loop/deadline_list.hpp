#pragma once

#include <cassert>
#include <chrono>
#include <optional>

namespace agg::loop {

class deadline_list;

/// A place in one deadline_list, embedded in whatever the deadline belongs to (a connection). In at
/// most one list at a time; leaves it when destroyed.
class deadline_link {
 public:
  deadline_link() noexcept = default;
  deadline_link(const deadline_link &) = delete;
  deadline_link &operator=(const deadline_link &) = delete;
  inline ~deadline_link();

  [[nodiscard]] bool linked() const noexcept { return list_ != nullptr; }
  [[nodiscard]] bool in(const deadline_list &list) const noexcept { return list_ == &list; }
  /// Leaves whatever list it is in.
  inline void unlink() noexcept;
  [[nodiscard]] std::chrono::steady_clock::time_point due() const noexcept { return due_; }

 private:
  friend class deadline_list;
  deadline_list *list_ = nullptr;
  deadline_link *prev_ = nullptr;
  deadline_link *next_ = nullptr;
  std::chrono::steady_clock::time_point due_{};
};

/// Deadlines that all lie the same time after they were set (a timeout): kept in a FIFO list, which
/// is then also in deadline order, so setting, moving and cancelling one is O(1) and the next one
/// due is the head (libev's and nginx's way with many equal timeouts). One thread.
class deadline_list {
 public:
  explicit deadline_list(std::chrono::milliseconds timeout) noexcept : timeout_(timeout) {}
  deadline_list(const deadline_list &) = delete;
  deadline_list &operator=(const deadline_list &) = delete;
  ~deadline_list() {
    while (head_ != nullptr) remove(*head_);
  }

  [[nodiscard]] std::chrono::milliseconds timeout() const noexcept { return timeout_; }

  /// Puts `link` at the end: due `timeout` after `now`. Takes it out of any list it was in first.
  void arm(deadline_link &link, std::chrono::steady_clock::time_point now) noexcept {
    if (link.list_ != nullptr) link.list_->remove(link);
    link.due_ = now + timeout_;
    link.list_ = this;
    link.prev_ = tail_;
    link.next_ = nullptr;
    (tail_ != nullptr ? tail_->next_ : head_) = &link;
    tail_ = &link;
  }

  /// Takes `link` out of this list.
  void remove(deadline_link &link) noexcept {
    assert(link.list_ == this);
    (link.prev_ != nullptr ? link.prev_->next_ : head_) = link.next_;
    (link.next_ != nullptr ? link.next_->prev_ : tail_) = link.prev_;
    link.list_ = nullptr;
    link.prev_ = link.next_ = nullptr;
  }

  /// When the first deadline falls; nullopt when the list is empty.
  [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> next_due() const noexcept {
    if (head_ == nullptr) return std::nullopt;
    return head_->due_;
  }

  /// The link set longest ago (the first due), still in the list; null when the list is empty.
  [[nodiscard]] deadline_link *oldest() const noexcept { return head_; }
  /// The link set after `link` (due next); null at the end.
  [[nodiscard]] static deadline_link *after(const deadline_link &link) noexcept { return link.next_; }

  /// The first link whose deadline has passed at `now`, taken out of the list; null when none has.
  deadline_link *pop_due(std::chrono::steady_clock::time_point now) noexcept {
    if (head_ == nullptr || head_->due_ > now) return nullptr;
    deadline_link *due = head_;
    remove(*due);
    return due;
  }

 private:
  std::chrono::milliseconds timeout_;
  deadline_link *head_ = nullptr;
  deadline_link *tail_ = nullptr;
};

void deadline_link::unlink() noexcept {
  if (list_ != nullptr) list_->remove(*this);
}

deadline_link::~deadline_link() { unlink(); }

}  // namespace agg::loop
