#pragma once

#include <cassert>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace agg::coro {

/// How one settled task ended: its value, or the exception it threw (like folly's Try).
template <typename T>
class outcome {
 public:
  explicit outcome(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
      : state_(std::in_place_index<0>, std::move(value)) {}
  explicit outcome(std::exception_ptr error) noexcept : state_(std::in_place_index<1>, std::move(error)) {
    assert(std::get<1>(state_) && "an outcome's error must hold an exception");
  }

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  /// The value; rethrows the stored exception when there is none.
  T &value() & {
    rethrow_if_error();
    return std::get<0>(state_);
  }
  T &&value() && {
    rethrow_if_error();
    return std::get<0>(std::move(state_));
  }
  /// The exception; null when the task succeeded.
  [[nodiscard]] std::exception_ptr error() const noexcept { return has_value() ? nullptr : std::get<1>(state_); }

 private:
  void rethrow_if_error() const {
    if (!has_value()) std::rethrow_exception(std::get<1>(state_));
  }

  std::variant<T, std::exception_ptr> state_;
};

template <>
class outcome<void> {
 public:
  outcome() noexcept = default;
  explicit outcome(std::exception_ptr error) noexcept : error_(std::move(error)) {}

  [[nodiscard]] bool has_value() const noexcept { return !error_; }
  void value() const {
    if (error_) std::rethrow_exception(error_);
  }
  [[nodiscard]] std::exception_ptr error() const noexcept { return error_; }

 private:
  std::exception_ptr error_;
};

/// What `error` says of itself (its what()), or `otherwise` for an exception that is no std::exception.
inline std::string what_of(std::exception_ptr error, std::string otherwise = "unknown failure") {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const std::exception &e) {
    return e.what();
  } catch (...) {
  }
  return otherwise;
}

}  // namespace agg::coro
