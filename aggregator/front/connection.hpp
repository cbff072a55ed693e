#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>

#include "aggregator/filters/responder.hpp"
#include "aggregator/front/h2_session.hpp"
#include "aggregator/front/tls_stream.hpp"
#include "aggregator/http/request_reader.hpp"
#include "aggregator/io/unique_fd.hpp"
#include "aggregator/loop/deadline_list.hpp"
#include "aggregator/loop/event_loop.hpp"

namespace agg::front {

class loop_front;

/// One client connection on a loop: it frames and nothing else. On a TLS listener it first
/// finishes the handshake (non-blocking, within the handshake deadline), then reads and writes
/// through the TLS session. When ALPN chose `h2`, or a cleartext client opens with HTTP/2's preface
/// (h2c, prior knowledge), its bytes go to an h2_session whose streams are each one request through
/// the same chain (the connection is their host: it reads, writes, and keeps the deadlines). Else,
/// HTTP/1.1: it reads bytes into the
/// request reader, hands each complete request to the listener's filter chain (one at a time, in
/// order, so pipelined requests are answered in order), and writes the answers the chain gives back,
/// then reads on (keep-alive) or closes. An idle or slow client costs this object and its buffers,
/// never a thread: every wait has a deadline (request, keep-alive, send). A client that goes away
/// while its request is served cancels it through stop_source(). Lives in a shared_ptr: the loop's
/// registry holds it while the socket is open, and whoever answers a request holds it until the
/// answer is written. Loop thread only.
class connection final : public loop::io_handler,
                         public loop::deadline_link,
                         public filters::responder,
                         private h2_host,
                         public std::enable_shared_from_this<connection> {
 public:
  connection(loop_front &front, io::unique_fd socket);
  connection(const connection &) = delete;
  connection &operator=(const connection &) = delete;
  ~connection() override;

  /// Starts reading: registers the socket and its first deadline.
  void start();

  void send(const filters::request_context &request, const http::response &answer) override;
  void send_head(const filters::request_context &request, const http::response &head) override;
  void send_chunk(std::string_view bytes) override;
  void send_end(const filters::request_context &request) override;
  [[nodiscard]] std::stop_source stop_source() override;
  [[nodiscard]] bool open() const noexcept override { return phase_ != phase::closed; }
  [[nodiscard]] std::string client_address() const override;

  /// True while it waits for a next request that has not begun (or for its TLS handshake): closing
  /// it loses nothing.
  [[nodiscard]] bool idle() const noexcept;
  /// True when the client's bytes wait in the socket, not read yet.
  [[nodiscard]] bool has_unread_bytes() const noexcept;
  /// Closes the socket now; what is being served is cancelled.
  void close_now();
  /// The plane shuts down: an idle HTTP/1.1 connection closes now (the others close after their
  /// answer); an HTTP/2 one says GOAWAY, answers its open streams, then closes.
  void drain();

  void on_events(std::uint32_t events) override;
  /// Its deadline passed (the loop front calls this for the list it was in).
  void on_deadline();

 private:
  enum class phase { handshaking, reading, serving, lingering, closed };
  /// What follows the answer being written: the next request, or the end (after reading and dropping
  /// for a moment what a refused client may still be sending).
  enum class then { read_on, close, close_lingering };

  /// Goes on with the TLS handshake; once it is done, reads the first request.
  void handshake();
  void read_ready();
  /// Reads what the client sent into `buffer`, through TLS when the listener has it: the bytes
  /// read (> 0), 0 at the end of the client's data (or a broken connection), nullopt when nothing
  /// waits now.
  std::optional<std::size_t> receive(std::span<char> buffer);
  void serve_buffered();
  /// The first bytes of a cleartext connection, while they may be HTTP/2's preface: once they are,
  /// the connection speaks HTTP/2 (h2_ is set and has them); once they are not, may_be_h2c_ is
  /// false and they wait in sniffed_ for the HTTP/1.1 reader.
  void sniff_h2c(std::string_view bytes);
  /// Speaks HTTP/2 from now on (after ALPN h2, or h2c's preface).
  void start_h2();
  /// Reads what the client sent into the HTTP/2 session.
  void read_h2();
  /// Sends what the HTTP/2 session has queued as far as the socket takes it; sets the deadline that
  /// applies; closes once the session is over.
  void pump_h2();

  // h2_host: what the HTTP/2 session asks of its connection.
  void serve(std::shared_ptr<filters::responder> stream, filters::request_context request) override;
  void refuse(std::shared_ptr<filters::responder> stream, filters::request_context request,
              const http::refusal &why) override;
  void output_ready() override;
  void held(std::size_t before, std::size_t after) noexcept override;
  [[nodiscard]] std::string peer_address() const override { return client_address(); }
  void misbehaved(std::string_view why) noexcept override;
  /// Answers a request the reader refused (or that did not arrive in time), then closes.
  void refuse(const http::refusal &why);
  /// Appends `bytes`, then `more`, to what goes out and sends what the socket takes now. When `more`
  /// lies in `shared`, what the socket does not take of it stays there, not copied.
  void write(std::string_view bytes, std::string_view more = {}, std::shared_ptr<const std::string> shared = {});
  /// Sends what the socket takes of `first` then `second` at once: how many bytes (0: it takes none
  /// now), or nullopt when the connection is broken.
  std::optional<std::size_t> send_parts(std::string_view first, std::string_view second);
  /// An answer is (partly) waiting for the client to read it.
  [[nodiscard]] bool sending() const noexcept { return !out_.empty() || shared_out_ != nullptr; }
  void flush();
  /// The answer is written (or queued): read on, or close once it is out.
  void finish_answer(bool keep_alive);
  [[nodiscard]] bool keeps_alive(const filters::request_context &request) const noexcept;
  void update_interest();
  void begin_close();
  void close();

  /// A drained output buffer keeps at most this much capacity: a large answer's memory goes back.
  static constexpr std::size_t kept_output_capacity = 16 * 1024;
  /// Reads per readiness event before other connections get their turn.
  static constexpr int reads_per_event = 4;

  loop_front &front_;
  io::unique_fd socket_;
  http::request_reader reader_;
  phase phase_ = phase::reading;
  then then_ = then::read_on;
  std::string out_;                                // not sent yet; counted in the plane's unsent bytes
  std::shared_ptr<const std::string> shared_out_;  // a shared body going out after out_, from shared_sent_
  std::size_t shared_sent_ = 0;
  std::size_t lingered_ = 0;           // read and dropped since it began to close
  std::optional<tls_stream> tls_;      // on a TLS listener
  std::unique_ptr<h2_session> h2_;     // once it speaks HTTP/2
  std::string sniffed_;                // a cleartext connection's first bytes, while they may be h2c's preface
  bool may_be_h2c_ = false;            // its first bytes are still to be read (cleartext, HTTP/2 on)
  bool answer_bytes_moved_ = false;    // HTTP/2: answer bytes left the streams since the stall timer last started
  std::string client_subject_;         // of the client certificate the handshake verified
  std::uint32_t handshake_wants_ = 0;  // EPOLLIN or EPOLLOUT: what the TLS handshake waits for
  std::uint32_t watched_ = 0;          // the events epoll watches for
  bool paused_ = false;                // not reading while a request is served (pipelined bytes are waiting)
  bool peer_closed_ = false;           // the client will send nothing more
  bool in_serve_ = false;              // serve_buffered() is on the stack: an answer given at once does not re-enter it
  bool continue_due_ = false;          // the head being read asked for 100 Continue
  std::chrono::steady_clock::time_point first_byte_{};  // of the request being read
  std::stop_source stop_;
  std::shared_ptr<connection> self_;  // while open: the loop's hold on it
};

}  // namespace agg::front
