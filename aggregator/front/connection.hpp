#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/front/request_state.hpp"
#include "aggregator/http/request_reader.hpp"
#include "aggregator/io/unique_fd.hpp"
#include "aggregator/loop/deadline_list.hpp"
#include "aggregator/loop/event_loop.hpp"

namespace agg::front {

class loop_front;

/// One client connection on a loop, as a state machine driven by its socket's events: read bytes
/// into the request reader; hand each complete request to the router (one at a time, in order, so
/// pipelined requests are answered in order); write the answer, then read on (keep-alive) or
/// close. An idle or slow client costs this object and its buffers, never a thread: every wait has
/// a deadline (request, keep-alive, send). A client that goes away while its request is served
/// cancels it through stop_source(). Lives in a shared_ptr: the loop's registry holds it while the
/// socket is open, and whoever answers a request holds it until the answer is written. Loop thread
/// only.
class connection final : public loop::io_handler,
                         public loop::deadline_link,
                         public std::enable_shared_from_this<connection> {
 public:
  connection(loop_front &front, io::unique_fd socket);
  connection(const connection &) = delete;
  connection &operator=(const connection &) = delete;
  ~connection();

  /// Starts reading: registers the socket and its first deadline.
  void open();

  /// Answers the request being served; reading goes on (keep-alive) or the connection closes.
  void respond(request_state state, response answer);
  /// Starts a streamed answer: its head, with a chunked body to follow.
  void begin_stream(const request_state &state, int status, std::string_view content_type,
                    const std::vector<http::header_field> &headers);
  /// Sends one chunk of a streamed answer at once (nothing when `bytes` is empty).
  void stream_chunk(std::string_view bytes);
  /// Ends a streamed answer (the last chunk), then reads on or closes like respond().
  void end_stream(request_state state);

  /// Cancelled when the client goes away (or a write stalls) while its request is served; made on
  /// first use, for the request being served.
  [[nodiscard]] std::stop_source stop_source();
  /// False once the socket is closed: an answer now has nobody to go to.
  [[nodiscard]] bool is_open() const noexcept { return phase_ != phase::closed; }

  /// True while it waits for a next request that has not begun: closing it loses nothing.
  [[nodiscard]] bool idle() const noexcept;
  /// Closes the socket now; what is being served is cancelled.
  void close_now();

  void on_events(std::uint32_t events) override;
  /// Its deadline passed (the loop front calls this for the list it was in).
  void on_deadline();

 private:
  enum class phase { reading, serving, lingering, closed };

  void read_ready();
  void serve_buffered();
  void refuse(const http::refusal &why);
  /// Appends `bytes`, then `more`, to what goes out and sends what the socket takes now.
  void send(std::string_view bytes, std::string_view more = {});
  void flush();
  void finish_answer(bool keep_alive);
  void update_interest();
  void begin_close();
  void close();
  void log_and_count(const request_state &state, int status, std::size_t bytes) const;

  loop_front &front_;
  io::unique_fd socket_;
  http::request_reader reader_;
  phase phase_ = phase::reading;
  std::string out_;            // not sent yet
  std::uint32_t watched_ = 0;  // the events epoll watches for
  bool paused_ = false;        // not reading while a request is served (pipelined bytes are waiting)
  bool peer_closed_ = false;   // the client will send nothing more
  bool close_after_ = false;   // the answer being written is the last one
  bool in_serve_ = false;      // serve_buffered() is on the stack
  bool continue_due_ = false;  // the head being read asked for 100 Continue
  bool linger_ = false;        // a refused client may still be sending: read and drop before closing
  std::chrono::steady_clock::time_point first_byte_{};  // of the request being read
  std::stop_source stop_;
  std::shared_ptr<connection> self_;  // while open: the loop's hold on it
};

}  // namespace agg::front
