#include "upstream/session.hpp"

// Boost 1.81's core/detail/string_view.hpp (under Beast) uses std::ostream without including it.
#include <ostream>

#include <boost/asio/write.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/url/parse.hpp>

#include "upstream/fixtures.hpp"

namespace upstream {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

constexpr std::size_t max_header_bytes = 16 * 1024;
constexpr std::size_t max_body_bytes = 1 << 20;

/// `extra_headers`: complete header lines, each ending in CRLF.
std::string http_response(int status, std::string_view body, bool close, std::string_view content_type,
                          std::string_view extra_headers) {
  const auto reason = beast_http::obsolete_reason(static_cast<beast_http::status>(status));
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string{reason.data(), reason.size()} +
                    "\r\nContent-Type: " + std::string{content_type} +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

/// `{"method":...,"target":...,"headers":{name: value},"body":...,"json":...}` of a request: what
/// arrived, for tests; `json` is the body parsed when it is JSON (else null), as httpbin's echo has it.
std::string echo_json(const beast_http::request<beast_http::string_body> &request) {
  boost::json::object headers;
  for (const auto &field : request) {
    std::string name{field.name_string()};
    for (char &c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    headers[name] = std::string_view{field.value().data(), field.value().size()};
  }
  const auto method = request.method_string();
  const auto target = request.target();
  boost::system::error_code not_json;
  boost::json::value json = boost::json::parse(request.body(), not_json);
  if (not_json) json = nullptr;
  return boost::json::serialize(boost::json::object{{"method", std::string_view{method.data(), method.size()}},
                                                    {"target", std::string_view{target.data(), target.size()}},
                                                    {"headers", std::move(headers)},
                                                    {"body", request.body()},
                                                    {"json", std::move(json)}});
}

}  // namespace

session::session(detail::server_state &server, asio::ip::tcp::socket socket)
    : server_(server), socket_(std::move(socket)), timer_(server.io) {
  if (server.tls) tls_.emplace(socket_, *server.tls);
  next_request();
  server.connections_open.fetch_add(1, std::memory_order_relaxed);
}

session::~session() {
  server_.connections_open.fetch_sub(1, std::memory_order_relaxed);
  if (answering_) server_.in_flight.fetch_sub(1, std::memory_order_relaxed);
}

void session::next_request() {
  parser_.emplace();
  parser_->header_limit(max_header_bytes);
  parser_->body_limit(max_body_bytes);
  parser_->eager(true);
}

void session::start() {
  if (!tls_) return read_more();
  tls_->async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return self->end();  // e.g. no client certificate where one is required
    self->server_.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
    if (SSL_session_reused(self->tls_->native_handle()) == 1)
      self->server_.tls_resumed.fetch_add(1, std::memory_order_relaxed);
    self->read_more();
  });
}

// Reads for as long as the connection lives, also while a request waits for its delay: the bytes of
// a pipelined request are kept for later, and a client that leaves ends the session (and its place
// in `in_flight`) at once.
void session::read_more() {
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

void session::handle_buffered() {
  while (!parser_->is_done()) {
    boost::beast::error_code ec;
    const std::size_t used = parser_->put(asio::buffer(buffer_.data(), buffer_.size()), ec);
    buffer_.erase(0, used);
    if (ec == beast_http::error::need_more) return;  // the rest is still coming
    if (ec == beast_http::error::header_limit) return send(431, R"({"error":"headers too large"})", true);
    if (ec) return send(400, R"({"error":"malformed request"})", true);
    if (used == 0) return;
  }
  const auto request = parser_->release();
  next_request();
  const auto target_text = request.target();
  const auto target = boost::urls::parse_origin_form(std::string_view{target_text.data(), target_text.size()});
  if (!target) return send(400, R"({"error":"malformed request"})", true);

  answering_ = true;
  server_.note_request_started();
  keep_alive_ = request.keep_alive();
  boost::urls::encoding_opts forms;
  forms.space_as_plus = true;  // what HTML forms send
  query_params params;
  for (const auto &param : target->params(forms)) params.emplace(param.key, param.value);
  const std::string path = target->path();
  if (path == "/echo") echo_ = echo_json(request);
  status_ = 200;
  fault_ = fault::none;
  extra_headers_.clear();
  respond(path, params);
}

void session::respond(const std::string &path, const query_params &params) {
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

void session::wait_then_send() {
  if (delay_.count() == 0) return deliver();
  timer_.expires_after(delay_);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->deliver();
  });
}

// The planned answer, or the planned fault, once the delay is over.
void session::deliver() {
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

// Aborts the connection with a TCP reset (SO_LINGER 0), as a crashed server would.
void session::reset() {
  boost::system::error_code ignored;
  socket_.set_option(asio::socket_base::linger(true, 0), ignored);
  socket_.close(ignored);
}

template <typename Handler>
void session::write_out(Handler handler) {
  if (tls_)
    asio::async_write(*tls_, asio::buffer(out_), std::move(handler));
  else
    asio::async_write(socket_, asio::buffer(out_), std::move(handler));
}

template <typename Next>
void session::write_then(std::string bytes, Next next) {
  out_ = std::move(bytes);
  write_out([self = shared_from_this(), next](boost::system::error_code ec, std::size_t) {
    if (!ec) next(*self);
  });
}

// Sends one small chunk every 10 ms until the client goes away.
void session::trickle() {
  timer_.expires_after(std::chrono::milliseconds{10});
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return;
    self->write_then("8\r\n{\"x\":1},\r\n", [](session &s) { s.trickle(); });
  });
}

// Closes the connection and stops the timer; pending handlers then release the session.
void session::end() {
  boost::system::error_code ignored;
  timer_.cancel();
  socket_.close(ignored);
}

// Writes a response; the connection closes after it when the client asked or `force_close`.
void session::send(int status, std::string_view body, bool force_close, std::string_view content_type) {
  const bool close = force_close || !keep_alive_;
  out_ = http_response(status, body, close, content_type, extra_headers_);
  write_out([self = shared_from_this(), close](boost::system::error_code ec, std::size_t) {
    if (self->answering_) self->server_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    self->answering_ = false;
    if (ec || close) {
      boost::system::error_code ignored;
      self->socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      return;
    }
    self->handle_buffered();  // a pipelined request may already be waiting
  });
}

}  // namespace upstream
