#include "upstream/upstream_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <map>
#include <optional>
#include <string_view>
#include <thread>
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

std::map<std::string, std::string, std::less<>> parse_query(std::string_view query) {
  std::map<std::string, std::string, std::less<>> params;
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

std::optional<long long> whole_number(std::string_view text, long long min, long long max) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return value;
}

std::string http_response(int status, std::string_view reason, std::string_view body, bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string{reason} +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
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

}  // namespace

struct detail::server_state {
  // Counters first: sessions still owned by pending handlers update them while `io` is destroyed.
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> max_in_flight{0};

  upstream_options options;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  std::map<std::size_t, std::vector<std::shared_ptr<session>>> barriers;  // io thread only
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
class session : public std::enable_shared_from_this<session> {
 public:
  session(detail::server_state &server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)), timer_(server.io) {}
  session(const session &) = delete;
  session &operator=(const session &) = delete;
  ~session() {
    if (answering_) server_.in_flight.fetch_sub(1, std::memory_order_relaxed);
  }

  void read_more() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                              if (ec) return;  // peer closed or server stopping: the session ends with its last handler
                              self->buffer_.append(self->chunk_.data(), n);
                              self->handle_buffered();
                            });
  }

  /// Called when every waiter of this request's barrier has arrived.
  void release() { wait_then_send(); }

 private:
  void handle_buffered() {
    const std::size_t head_end = buffer_.find("\r\n\r\n");
    if (head_end == std::string::npos) {
      if (buffer_.size() > max_header_bytes)
        return send(431, "Request Header Fields Too Large", R"({"error":"headers too large"})", true);
      return read_more();
    }
    const request_head head = parse_head(std::string_view{buffer_}.substr(0, head_end));
    if (head.malformed) return send(400, "Bad Request", R"({"error":"malformed request"})", true);
    const std::size_t consumed = head_end + 4 + head.content_length;
    if (buffer_.size() < consumed) return read_more();  // the body is still coming

    answering_ = true;
    server_.note_request_started();
    keep_alive_ = head.keep_alive;
    const auto params = parse_query(head.query);
    const std::string path{head.path};
    buffer_.erase(0, consumed);
    respond(path, params);
  }

  void respond(const std::string &path, const std::map<std::string, std::string, std::less<>> &params) {
    if (path == "/health") return send(200, "OK", R"({"status":"ok"})");
    if (path != "/api/" && path != "/api") return send(404, "Not Found", R"({"error":"not found"})");

    delay_ = server_.options.delay;
    if (const auto it = params.find("delay_ms"); it != params.end()) {
      const auto ms = whole_number(it->second, 0, 3'600'000);
      if (!ms) return send(400, "Bad Request", R"({"error":"delay_ms must be 0..3600000"})");
      delay_ = std::chrono::milliseconds{*ms};
    }
    const auto task = params.find("task_id");
    const std::string task_json =
        task == params.end() ? "null" : boost::json::serialize(boost::json::string{task->second});
    reply_body_ = R"({"message":"Hello World","task_id":)" + task_json + "}";

    if (const auto it = params.find("barrier"); it != params.end()) {
      const auto n = whole_number(it->second, 1, 100'000);
      if (!n) return send(400, "Bad Request", R"({"error":"barrier must be 1..100000"})");
      auto &waiting = server_.barriers[static_cast<std::size_t>(*n)];
      waiting.push_back(shared_from_this());
      if (waiting.size() < static_cast<std::size_t>(*n)) return;
      const auto released = std::move(waiting);
      server_.barriers.erase(static_cast<std::size_t>(*n));
      for (const auto &s : released) s->release();
      return;
    }
    wait_then_send();
  }

  void wait_then_send() {
    if (delay_.count() == 0) return send(200, "OK", reply_body_);
    timer_.expires_after(delay_);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->send(200, "OK", self->reply_body_);
    });
  }

  /// Writes a response; the connection closes after it when the client asked or `force_close`.
  void send(int status, std::string_view reason, std::string_view body, bool force_close = false) {
    const bool close = force_close || !keep_alive_;
    out_ = http_response(status, reason, body, close);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), close](boost::system::error_code ec, std::size_t) {
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
  asio::steady_timer timer_;
  std::array<char, 4096> chunk_{};
  std::string buffer_;
  std::string reply_body_;
  std::string out_;
  std::chrono::milliseconds delay_{0};
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
    std::make_shared<session>(*this, std::move(socket))->read_more();
    accept();
  });
}

upstream_server::upstream_server(const upstream_options &options) : state_(std::make_shared<detail::server_state>()) {
  state_->options = options;
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

upstream_stats upstream_server::stats() const noexcept {
  return {state_->connections_accepted.load(std::memory_order_relaxed),
          state_->requests.load(std::memory_order_relaxed), state_->in_flight.load(std::memory_order_relaxed),
          state_->max_in_flight.load(std::memory_order_relaxed)};
}

}  // namespace upstream
