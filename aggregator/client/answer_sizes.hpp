#pragma once

#include <algorithm>
#include <cstddef>

namespace agg::client {

/// How large an origin's answers (head and body, as received) have been of late: the largest,
/// forgetting 1/32 of it with each answer after. It sizes the buffer the origin's next calls read
/// into (CURLOPT_BUFFERSIZE), which each call in flight holds from its connect to its end: with
/// ten thousand calls in flight to an API of small answers, 1 KiB each instead of 4 is 30 MiB.
class answer_sizes {
 public:
  /// libcurl's smallest receive buffer.
  static constexpr std::size_t smallest_buffer = 1'024;

  void note(std::size_t answer_bytes) noexcept { recent_ = std::max(answer_bytes, recent_ - recent_ / 32); }

  /// The power of two from 1 KiB that holds the largest recent answer in one read, at most
  /// `largest` (client.receive_buffer_bytes). Before any answer: the smallest.
  [[nodiscard]] std::size_t buffer_bytes(std::size_t largest) const noexcept {
    std::size_t size = smallest_buffer;
    while (size < recent_ && size < largest) size *= 2;
    return std::max(smallest_buffer, std::min(size, largest));
  }

 private:
  std::size_t recent_ = 0;
};

}  // namespace agg::client
