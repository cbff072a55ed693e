#include "upstream/upstream_server.hpp"

#include "upstream/api_request.hpp"
#include "upstream/fixtures.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <pthread.h>
#include <time.h>

#include <array>
#include <atomic>
#include <charconv>
#include <map>
#include <optional>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

namespace upstream {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t max_header_bytes = 16 * 1024;
constexpr std::size_t max_body_bytes = 1 << 20;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    unsigned value = 0;
    if (in[i] == '%' && i + 2 < in.size() &&
        std::from_chars(in.data() + i + 1, in.data() + i + 3, value, 16).ptr == in.data() + i + 3) {
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += in[i] == '+' ? ' ' : in[i];
    }
  }
  return out;
}

query_params parse_query(std::string_view query) {
  query_params params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (!pair.empty())
      params.emplace(percent_decode(pair.substr(0, eq)),
                     eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1)));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return params;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 400 ? "Status" : "Error";
  }
}

/// `extra_headers`: complete header lines, each ending in CRLF.
std::string http_response(int status, std::string_view body, bool close, std::string_view content_type,
                          std::string_view extra_headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string{reason_phrase(status)} +
                    "\r\nContent-Type: " + std::string{content_type} +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

/// A parsed request head, enough for this server: where it goes and whether the connection stays.
struct request_head {
  std::string_view method;
  std::string_view path;
  std::string_view query;
  bool keep_alive = true;
  std::size_t content_length = 0;
  bool malformed = false;
  std::vector<std::pair<std::string_view, std::string_view>> headers;  ///< name, value (leading spaces cut)
};

request_head parse_head(std::string_view head) {
  request_head r;
  const std::size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1) {
    r.malformed = true;
    return r;
  }
  r.method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  const std::size_t question = target.find('?');
  r.path = target.substr(0, question);
  if (question != std::string_view::npos) r.query = target.substr(question + 1);
  r.keep_alive = version == "HTTP/1.1";
  std::string_view rest = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
  while (!rest.empty()) {
    const std::size_t end = rest.find("\r\n");
    const std::string_view header = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
    const std::size_t colon = header.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = header.substr(0, colon);
    std::string_view value = header.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.emplace_back(name, value);
    if (iequals(name, "connection")) {
      if (iequals(value, "close")) r.keep_alive = false;
      if (iequals(value, "keep-alive")) r.keep_alive = true;
    } else if (iequals(name, "content-length")) {
      const auto length = whole_number(value, 0, static_cast<long long>(max_body_bytes));
      if (!length) r.malformed = true;
      r.content_length = length.value_or(0);
    }
  }
  return r;
}

class session;

/// `{"method":...,"target":...,"headers":{name: value},"body":...}` of a request: what arrived, for tests.
std::string echo_json(const request_head &head, std::string_view body) {
  boost::json::object headers;
  for (const auto &[given, value] : head.headers) {
    std::string name{given};
    for (char &c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    headers[name] = value;
  }
  std::string target{head.path};
  if (!head.query.empty()) {
    target += '?';
    target += head.query;
  }
  return boost::json::serialize(boost::json::object{
      {"method", head.method}, {"target", target}, {"headers", std::move(headers)}, {"body", body}});
}

}  // namespace

struct detail::server_state {
  // Counters first: sessions still owned by pending handlers update them while `io` is destroyed.
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> max_in_flight{0};
  std::atomic<std::uint64_t> tls_handshakes{0};
  std::atomic<std::uint64_t> tls_resumed{0};

  upstream_options options;
  std::optional<asio::ssl::context> tls;  ///< set when it serves HTTPS
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  std::map<std::size_t, std::vector<std::shared_ptr<session>>> barriers;  // io thread only
  std::map<std::string, std::uint64_t, std::less<>> calls_by_key;         // io thread only: `key=` counters
  std::thread thread;

  void accept();
  void note_request_started() {
    requests.fetch_add(1, std::memory_order_relaxed);
    const auto now = in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
    if (now > max_in_flight.load(std::memory_order_relaxed)) max_in_flight.store(now, std::memory_order_relaxed);
  }
};

namespace {

/// One client connection: reads a request, answers it (after its delay), then reads the next.
/// Over TLS when the server has a context: the same session, its bytes through an SSL stream.
class session : public std::enable_shared_from_this<session> {
 public:
  session(detail::server_state &server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)), timer_(server.io) {
    if (server.tls) tls_.emplace(socket_, *server.tls);
  }
  session(const session &) = delete;
  session &operator=(const session &) = delete;
  ~session() {
    if (answering_) server_.in_flight.fetch_sub(1, std::memory_order_relaxed);
  }

  /// Reads requests (after the TLS handshake, over TLS); a failed handshake ends the session.
  void start() {
    if (!tls_) return read_more();
    tls_->async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return self->end();  // e.g. no client certificate where one is required
      self->server_.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
      if (SSL_session_reused(self->tls_->native_handle()) == 1)
        self->server_.tls_resumed.fetch_add(1, std::memory_order_relaxed);
      self->read_more();
    });
  }

  /// Reads for as long as the connection lives, also while a request waits for its delay: the
  /// bytes of a pipelined request are kept for later, and a client that leaves ends the session
  /// (and its place in `in_flight`) at once.
  void read_more() {
    auto on_read = [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      if (ec) return self->end();  // peer closed or server stopping
      self->buffer_.append(self->chunk_.data(), n);
      if (!self->answering_) self->handle_buffered();
      self->read_more();
    };
    if (tls_)
      tls_->async_read_some(asio::buffer(chunk_), std::move(on_read));
    else
      socket_.async_read_some(asio::buffer(chunk_), std::move(on_read));
  }

  /// Called when every waiter of this request's barrier has arrived.
  void release() { wait_then_send(); }

 private:
  void handle_buffered() {
    const std::size_t head_end = buffer_.find("\r\n\r\n");
    if (head_end == std::string::npos) {
      if (buffer_.size() > max_header_bytes) send(431, R"({"error":"headers too large"})", true);
      return;  // the rest of the head is still coming
    }
    const request_head head = parse_head(std::string_view{buffer_}.substr(0, head_end));
    if (head.malformed) return send(400, R"({"error":"malformed request"})", true);
    const std::size_t consumed = head_end + 4 + head.content_length;
    if (buffer_.size() < consumed) return;  // the body is still coming

    answering_ = true;
    server_.note_request_started();
    keep_alive_ = head.keep_alive;
    const auto params = parse_query(head.query);
    const std::string path{head.path};
    if (path == "/echo")  // before the buffer the head points into changes
      echo_ = echo_json(head, std::string_view{buffer_}.substr(head_end + 4, head.content_length));
    buffer_.erase(0, consumed);
    status_ = 200;
    fault_ = fault::none;
    extra_headers_.clear();
    respond(path, params);
  }

  void respond(const std::string &path, const query_params &params) {
    if (path == "/health") return send(200, R"({"status":"ok"})");
    if (path == "/echo") return send(200, echo_);
    if (path == "/calls") {
      const auto given = params.find("key");
      const std::string key = given == params.end() ? std::string{} : given->second;
      const auto counted = server_.calls_by_key.find(key);
      const std::uint64_t calls = counted == server_.calls_by_key.end() ? 0 : counted->second;
      return send(200, R"({"key":)" + boost::json::serialize(boost::json::string{key}) + R"(,"calls":)" +
                           std::to_string(calls) + "}");
    }
    std::string problem;
    const std::optional<std::string> fixture = fixture_body(path, params, problem);
    if (!problem.empty()) return send(400, problem);
    if (!fixture && path != "/api/" && path != "/api") return send(404, R"({"error":"not found"})");

    const auto read = read_api_request(params, server_.options.delay);
    if (const auto *error = std::get_if<std::string>(&read)) return send(400, *error);
    const auto &request = std::get<api_request>(read);
    planned_answer planned = plan_answer(request, ++server_.calls_by_key[request.key]);
    status_ = planned.status;
    delay_ = planned.delay;
    extra_headers_ += planned.headers;
    reply_body_ = std::move(planned.body);
    if (fixture && status_ >= 200 && status_ <= 299) reply_body_ = *fixture;
    fault_ = request.injected;

    if (request.barrier > 0) {
      const std::size_t n = request.barrier;
      auto &waiting = server_.barriers[n];
      waiting.push_back(shared_from_this());
      if (waiting.size() < n) return;
      const auto released = std::move(waiting);
      server_.barriers.erase(n);
      for (const auto &s : released) s->release();
      return;
    }
    wait_then_send();
  }

  void wait_then_send() {
    if (delay_.count() == 0) return deliver();
    timer_.expires_after(delay_);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->deliver();
    });
  }

  /// The planned answer, or the planned fault, once the delay is over.
  void deliver() {
    switch (fault_) {
      case fault::none:
      case fault::oversized: return send(status_, reply_body_);
      case fault::garbage: return send(200, "<html>this is not JSON</html>", false, "text/html");
      case fault::binary:  // a lone continuation byte, an overlong NUL, a cut-off euro sign, 0xFF
        return send(200, std::string{"bin\x80|\xC0\x80|\xE2\x82|\xFF|\xE2\x82\xAC", 16}, false,
                    "application/octet-stream");
      case fault::reset_before_headers: return reset();
      case fault::reset_after_headers:
        return write_then("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
                          [](session &s) { s.reset(); });
      case fault::stall:  // the session stays until the client gives up
        return write_then(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"partial\":",
            [](session &) {});
      case fault::endless_body:
        return write_then("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                          [](session &s) { s.trickle(); });
    }
  }

  /// Aborts the connection with a TCP reset (SO_LINGER 0), as a crashed server would.
  void reset() {
    boost::system::error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }

  /// Writes `out_` whole, over TLS when the session has it.
  template <typename Handler>
  void write_out(Handler handler) {
    if (tls_)
      asio::async_write(*tls_, asio::buffer(out_), std::move(handler));
    else
      asio::async_write(socket_, asio::buffer(out_), std::move(handler));
  }

  template <typename Next>
  void write_then(std::string bytes, Next next) {
    out_ = std::move(bytes);
    write_out([self = shared_from_this(), next](boost::system::error_code ec, std::size_t) {
      if (!ec) next(*self);
    });
  }

  /// Sends one small chunk every 10 ms until the client goes away.
  void trickle() {
    timer_.expires_after(std::chrono::milliseconds{10});
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->write_then("8\r\n{\"x\":1},\r\n", [](session &s) { s.trickle(); });
    });
  }

  /// Closes the connection and stops the timer; pending handlers then release the session.
  void end() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  /// Writes a response; the connection closes after it when the client asked or `force_close`.
  void send(int status, std::string_view body, bool force_close = false,
            std::string_view content_type = "application/json") {
    const bool close = force_close || !keep_alive_;
    out_ = http_response(status, body, close, content_type, extra_headers_);
    write_out([self = shared_from_this(), close](boost::system::error_code ec, std::size_t) {
      if (self->answering_) self->server_.in_flight.fetch_sub(1, std::memory_order_relaxed);
      self->answering_ = false;
      if (ec || close) {
        boost::system::error_code ignored;
        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
        return;
      }
      self->handle_buffered();  // a pipelined request may already be waiting
    });
  }

  detail::server_state &server_;
  tcp::socket socket_;
  std::optional<asio::ssl::stream<tcp::socket &>> tls_;  // over socket_, when the server serves HTTPS
  asio::steady_timer timer_;
  std::array<char, 4096> chunk_{};
  std::string buffer_;
  std::string reply_body_;
  std::string echo_;
  std::string out_;
  std::string extra_headers_;  // header lines of the answer being prepared
  std::chrono::milliseconds delay_{0};
  int status_ = 200;
  fault fault_ = fault::none;
  bool keep_alive_ = true;
  bool answering_ = false;
};

}  // namespace

void detail::server_state::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {  // out of descriptors, most likely: try again shortly instead of spinning
      accept_retry.expires_after(std::chrono::milliseconds{10});
      accept_retry.async_wait([this](boost::system::error_code wait_ec) {
        if (!wait_ec) accept();
      });
      return;
    }
    connections_accepted.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<session>(*this, std::move(socket))->start();
    accept();
  });
}

upstream_server::upstream_server(const upstream_options &options) : state_(std::make_shared<detail::server_state>()) {
  state_->options = options;
  if (!options.tls_cert.empty()) {
    auto &tls = state_->tls.emplace(asio::ssl::context::tls_server);
    tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    tls.use_certificate_chain_file(options.tls_cert);
    tls.use_private_key_file(options.tls_key, asio::ssl::context::pem);
    if (!options.tls_client_ca.empty()) {  // mutual TLS: no connection without a certificate it signed
      tls.load_verify_file(options.tls_client_ca);
      tls.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
  }
  const tcp::endpoint endpoint{asio::ip::make_address(options.host), options.port};
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen(asio::socket_base::max_listen_connections);
  state_->accept();
}

upstream_server::~upstream_server() {
  stop();
  if (state_->thread.joinable()) state_->thread.join();
  state_->barriers.clear();
}

std::uint16_t upstream_server::port() const noexcept {
  boost::system::error_code ec;
  return state_->acceptor.local_endpoint(ec).port();
}

void upstream_server::run() { state_->io.run(); }

void upstream_server::start() {
  state_->thread = std::thread([s = state_] { s->io.run(); });
}

void upstream_server::stop() { state_->io.stop(); }

std::chrono::nanoseconds upstream_server::cpu_time() const noexcept {
  if (!state_->thread.joinable()) return std::chrono::nanoseconds{0};
  clockid_t id{};
  timespec used{};
  if (pthread_getcpuclockid(state_->thread.native_handle(), &id) != 0 || clock_gettime(id, &used) != 0)
    return std::chrono::nanoseconds{0};
  return std::chrono::seconds{used.tv_sec} + std::chrono::nanoseconds{used.tv_nsec};
}

upstream_stats upstream_server::stats() const noexcept {
  return {state_->connections_accepted.load(std::memory_order_relaxed),
          state_->requests.load(std::memory_order_relaxed),
          state_->in_flight.load(std::memory_order_relaxed),
          state_->max_in_flight.load(std::memory_order_relaxed),
          state_->tls_handshakes.load(std::memory_order_relaxed),
          state_->tls_resumed.load(std::memory_order_relaxed)};
}

}  // namespace upstream
