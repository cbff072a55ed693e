#pragma once

#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aggregator/io/unique_handle.hpp"
#include "tests/support/raw_http.hpp"

namespace agg::testing {

/// An HTTP/2 client (libnghttp2's client session) on one cleartext connection (h2c, prior
/// knowledge), driven step by step from the test: it queues requests, resets, pings and raw bytes,
/// then sends and reads until what the test waits for has happened. For clients no browser would
/// be: ones that reset every stream, flood PINGs, or never open their window.
class h2_client {
 public:
  /// What one stream got.
  struct stream_state {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    int data_frames = 0;
    bool closed = false;
    std::uint32_t error = 0;  ///< of its close: NGHTTP2_NO_ERROR, or the reset's code
  };

  /// Connects and queues the preface with `settings` (push off unless they say otherwise).
  explicit h2_client(std::uint16_t port, std::vector<nghttp2_settings_entry> settings = {})
      : socket_(port), session_(make_session(this), "nghttp2_session_client_new") {
    settings.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
    nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  }

  [[nodiscard]] bool connected() const noexcept { return socket_.connected(); }

  /// Queues a request: GET unless `body` is given (then POST); `headers` as extra fields.
  std::int32_t request(const std::string &path, std::vector<std::pair<std::string, std::string>> headers = {},
                       std::optional<std::string> body = std::nullopt) {
    std::vector<std::pair<std::string, std::string>> fields{
        {":method", body ? "POST" : "GET"}, {":scheme", "http"}, {":authority", "127.0.0.1"}, {":path", path}};
    fields.insert(fields.end(), headers.begin(), headers.end());
    std::vector<nghttp2_nv> nv;
    for (auto &[name, value] : fields)
      nv.push_back({reinterpret_cast<std::uint8_t *>(name.data()), reinterpret_cast<std::uint8_t *>(value.data()),
                    name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider provider{};
    if (body) {
      bodies_.push_back(std::move(*body));
      provider.source.ptr = &bodies_.back();
      provider.read_callback = [](nghttp2_session *, std::int32_t, std::uint8_t *into, std::size_t length,
                                  std::uint32_t *flags, nghttp2_data_source *source, void *) -> ssize_t {
        auto &rest = *static_cast<std::string *>(source->ptr);
        const std::size_t n = std::min(length, rest.size());
        std::copy_n(rest.data(), n, into);
        rest.erase(0, n);
        if (rest.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
      };
    }
    const std::int32_t id =
        nghttp2_submit_request(session_.get(), nullptr, nv.data(), nv.size(), body ? &provider : nullptr, nullptr);
    if (id > 0) streams_[id];
    return id;
  }
  /// Queues RST_STREAM (CANCEL) for `id`.
  void reset(std::int32_t id) { nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL); }
  /// Queues a PING.
  void ping() { nghttp2_submit_ping(session_.get(), NGHTTP2_FLAG_NONE, nullptr); }

  /// Sends what the session queued; false when the server no longer takes bytes.
  bool flush() {
    for (;;) {
      const std::uint8_t *data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
      if (n <= 0) return n == 0;
      if (!socket_.send(std::string{reinterpret_cast<const char *>(data), static_cast<std::size_t>(n)})) return false;
    }
  }
  /// Sends `bytes` as they are (frames no session would write), after what the session queued.
  bool send_raw(const std::string &bytes) { return flush() && socket_.send(bytes); }

  /// Sends what is queued, then reads and answers (SETTINGS and PING acknowledgements, window
  /// updates) until `done()` holds, the server closes the connection, or `wait` passes: done()'s
  /// last value. done() is asked after each read and at least every 10 ms.
  bool run_until(const std::function<bool()> &done, std::chrono::milliseconds wait = std::chrono::seconds{20}) {
    const auto until = std::chrono::steady_clock::now() + wait;
    char buffer[16384];
    while (!done()) {
      if (!flush() || closed_) return done();
      if (std::chrono::steady_clock::now() >= until) return done();
      // done() may turn true with nothing to read (the service's own state): asked again every 10 ms.
      if (!socket_.readable_within(std::chrono::milliseconds{10})) continue;
      const ssize_t n = socket_.receive(buffer, sizeof buffer);
      if (n <= 0) {
        closed_ = true;
        return done();
      }
      if (nghttp2_session_mem_recv(session_.get(), reinterpret_cast<const std::uint8_t *>(buffer),
                                   static_cast<std::size_t>(n)) < 0)
        protocol_error_ = true;
    }
    return true;
  }
  /// Runs until stream `id` is closed.
  bool finish(std::int32_t id, std::chrono::milliseconds wait = std::chrono::seconds{20}) {
    return run_until([&] { return streams_[id].closed; }, wait);
  }

  [[nodiscard]] const stream_state &stream(std::int32_t id) { return streams_[id]; }
  /// Forgets what stream `id` got (a long-running client keeps only the streams it still waits for).
  void forget(std::int32_t id) { streams_.erase(id); }
  /// The GOAWAY the server sent: its error code and last stream.
  [[nodiscard]] std::optional<std::pair<std::uint32_t, std::int32_t>> goaway() const noexcept { return goaway_; }
  /// The server closed the connection.
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  /// A value the server's SETTINGS announced.
  [[nodiscard]] std::uint32_t server_setting(nghttp2_settings_id id) const {
    return nghttp2_session_get_remote_settings(session_.get(), id);
  }

 private:
  static nghttp2_session *make_session(h2_client *self) {
    nghttp2_session_callbacks *callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    const io::unique_handle<nghttp2_session_callbacks, nghttp2_session_callbacks_del> owned{
        callbacks, "nghttp2_session_callbacks_new"};
    nghttp2_session_callbacks_set_on_header_callback(
        callbacks, [](nghttp2_session *, const nghttp2_frame *frame, const std::uint8_t *name, std::size_t name_length,
                      const std::uint8_t *value, std::size_t value_length, std::uint8_t, void *user) {
          auto &s = static_cast<h2_client *>(user)->streams_[frame->hd.stream_id];
          const std::string key{reinterpret_cast<const char *>(name), name_length};
          const std::string text{reinterpret_cast<const char *>(value), value_length};
          if (key == ":status" && text != "100") s.status = std::stoi(text);
          s.headers[key] = text;
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        callbacks,
        [](nghttp2_session *, std::uint8_t, std::int32_t id, const std::uint8_t *data, std::size_t length, void *user) {
          static_cast<h2_client *>(user)->streams_[id].body.append(reinterpret_cast<const char *>(data), length);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        callbacks, [](nghttp2_session *, const nghttp2_frame *frame, void *user) {
          auto *client = static_cast<h2_client *>(user);
          if (frame->hd.type == NGHTTP2_DATA) ++client->streams_[frame->hd.stream_id].data_frames;
          if (frame->hd.type == NGHTTP2_GOAWAY)
            client->goaway_ = std::pair{frame->goaway.error_code, frame->goaway.last_stream_id};
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        callbacks, [](nghttp2_session *, std::int32_t id, std::uint32_t error, void *user) {
          auto &s = static_cast<h2_client *>(user)->streams_[id];
          s.closed = true;
          s.error = error;
          return 0;
        });
    nghttp2_session *session = nullptr;
    nghttp2_session_client_new(&session, callbacks, self);
    return session;
  }

  raw_connection socket_;
  io::unique_handle<nghttp2_session, nghttp2_session_del> session_;
  std::map<std::int32_t, stream_state> streams_;
  std::list<std::string> bodies_;  // request bodies being sent (a list: they stay where they are)
  std::optional<std::pair<std::uint32_t, std::int32_t>> goaway_;
  bool closed_ = false;
  bool protocol_error_ = false;
};

/// The status of `GET path` on a new h2c connection to `port` (0: no answer within 20 s).
inline int h2_status(std::uint16_t port, const std::string &path) {
  h2_client client{port};
  const auto id = client.request(path);
  return client.finish(id) ? client.stream(id).status : 0;
}

/// An HTTP/2 frame as raw bytes (RFC 9113, 4.1): for the frames a misbehaving client sends.
inline std::string h2_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const std::string &payload) {
  std::string out;
  const auto length = static_cast<std::uint32_t>(payload.size());
  out += static_cast<char>((length >> 16) & 0xff);
  out += static_cast<char>((length >> 8) & 0xff);
  out += static_cast<char>(length & 0xff);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  for (const int shift : {24, 16, 8, 0}) out += static_cast<char>((stream >> shift) & 0xff);
  return out + payload;
}

}  // namespace agg::testing
