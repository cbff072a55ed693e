// The bytes of a client connection: read from and written to its socket or TLS session (an
// answer's head and body in one system call, without copying them together), the queue of what the
// client has not taken yet (a shared body's rest stays where it is), and what the connection asks
// epoll to watch for.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <span>
#include <system_error>
#include <utility>

#include "aggregator/front/connection.hpp"
#include "aggregator/front/data_plane.hpp"
#include "aggregator/front/loop_front.hpp"

namespace agg::front {

namespace {

using clock = std::chrono::steady_clock;

}  // namespace

std::optional<std::size_t> connection::receive(std::span<char> buffer) {
  if (tls_) return tls_->read(buffer);
  for (;;) {
    const ssize_t n = ::recv(socket_.get(), buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::nullopt;
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
}

std::optional<std::size_t> connection::send_parts(std::string_view first, std::string_view second) {
  if (first.empty() && second.empty()) return 0;
  if (tls_) return tls_->write(first, second);
  std::array<iovec, 2> parts{iovec{const_cast<char *>(first.data()), first.size()},
                             iovec{const_cast<char *>(second.data()), second.size()}};
  msghdr message{};
  message.msg_iov = first.empty() ? &parts[1] : parts.data();
  message.msg_iovlen = first.empty() || second.empty() ? 1 : 2;
  ssize_t n = 0;
  do {
    n = ::sendmsg(socket_.get(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  if (n <= 0) return std::nullopt;
  return static_cast<std::size_t>(n);
}

void connection::write(std::string_view bytes, std::string_view more, std::shared_ptr<const std::string> shared) {
  if (phase_ == phase::closed) return;
  const std::size_t before = out_.size();
  if (shared_out_) {
    // Rare (an answer is written only once the one before is out): what follows a shared body
    // queues behind it, so the rest of it is copied.
    out_.append(std::string_view{*shared_out_}.substr(shared_sent_));
    shared_out_.reset();
  }
  if (out_.empty()) {
    // Both parts in one system call, without copying them together first.
    const auto sent = send_parts(bytes, more);
    if (!sent) return close();
    const std::size_t from_first = std::min(*sent, bytes.size());
    bytes.remove_prefix(from_first);
    more.remove_prefix(std::min(*sent - from_first, more.size()));
    if (bytes.empty() && more.empty()) return;
  }
  out_.append(bytes);
  if (shared && !more.empty()) {
    shared_sent_ = static_cast<std::size_t>(more.data() - shared->data());  // the rest stays where it is
    shared_out_ = std::move(shared);
  } else {
    out_.append(more);
  }
  front_.plane().unsent().change(before, out_.size());
  if (!in(front_.send_deadlines)) front_.send_deadlines.arm(*this, clock::now());
  update_interest();
}

void connection::flush() {
  const std::size_t before = out_.size();
  // Progress restarts the stall timer (on HTTP/2, pump_h2 says what counts while answers wait for a window).
  const bool socket_progress_counts = !h2_ || !h2_->answers_stalled();
  while (sending()) {
    const auto sent =
        send_parts(out_, shared_out_ ? std::string_view{*shared_out_}.substr(shared_sent_) : std::string_view{});
    if (!sent) {
      front_.plane().unsent().change(before, out_.size());
      return close();
    }
    if (*sent == 0) break;
    const std::size_t from_own = std::min(*sent, out_.size());
    out_.erase(0, from_own);
    if (shared_out_ && (shared_sent_ += *sent - from_own) == shared_out_->size()) shared_out_.reset();
    if (socket_progress_counts) front_.send_deadlines.arm(*this, clock::now());
  }
  front_.plane().unsent().change(before, out_.size());
  if (sending()) return update_interest();
  if (in(front_.send_deadlines)) unlink();
  if (out_.capacity() > kept_output_capacity) std::string{}.swap(out_);
  if (h2_ && phase_ == phase::reading) return pump_h2();
  if (then_ != then::read_on && phase_ == phase::reading) return begin_close();
  if (phase_ == phase::reading) serve_buffered();
  update_interest();
}

void connection::update_interest() {
  if (phase_ == phase::closed) return;
  std::uint32_t wanted = 0;
  if (phase_ == phase::handshaking) {
    wanted = handshake_wants_;  // what the TLS handshake waits for, and nothing else
  } else {
    const bool reading = phase_ == phase::lingering || (phase_ == phase::reading && then_ == then::read_on) ||
                         (phase_ == phase::serving && !paused_);
    // Once the client closed its side, EOF stays readable: watching it would wake every round.
    if (!peer_closed_) wanted = EPOLLRDHUP | (reading ? EPOLLIN : 0U);
    if (sending() || (tls_ && tls_->write_first())) wanted |= EPOLLOUT;
  }
  if (wanted == watched_) return;
  try {
    front_.events().rewatch(socket_.get(), wanted, *this);
    watched_ = wanted;
  } catch (const std::system_error &) {
    close();
  }
}

}  // namespace agg::front
