#include "aggregator/server/http_front.hpp"

#include <httplib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <system_error>
#include <variant>

#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/fanout/gather.hpp"
#include "aggregator/fanout/render.hpp"
#include "aggregator/server/client_connection.hpp"
#include "aggregator/server/json_response.hpp"

namespace agg::server {

namespace {

using clock = std::chrono::steady_clock;

/// The connection the calling worker thread is serving, while it serves one.
thread_local const client_connection *serving = nullptr;

client::unique_fd make_stop_fd() {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  return client::unique_fd{fd};
}

}  // namespace

/// cpp-httplib's server with what its setters cannot do: a real listen backlog (0.11.4 compiles in
/// listen(fd, 5); listening again on the bound socket raises it), and connections served through
/// our own stream, which tells the front its socket and waits for keep-alive requests without
/// polling.
class http_front::listener : public httplib::Server {
 public:
  listener() : stop_fd_(make_stop_fd()) {}

  bool raise_backlog(int backlog) const { return ::listen(svr_sock_, backlog) == 0; }
  /// Server::stop() does nothing until the accept loop has started; shutting the bound socket
  /// down as well makes the loop end whenever it starts, so an early stop cannot be lost. Idle
  /// keep-alive connections end at once.
  void halt() {
    const std::uint64_t one = 1;
    if (::write(stop_fd_.get(), &one, sizeof one) < 0) std::perror("aggregator: eventfd write");
    stop();
    if (const auto fd = svr_sock_.load(); fd != INVALID_SOCKET) ::shutdown(fd, SHUT_RDWR);
  }

 private:
  // Replaces cpp-httplib's per-connection loop (same keep-alive rules, same request processing).
  bool process_and_close_socket(socket_t sock) override {
    using std::chrono::microseconds;
    using std::chrono::milliseconds;
    using std::chrono::seconds;
    const auto read_timeout =
        std::chrono::duration_cast<milliseconds>(seconds{read_timeout_sec_} + microseconds{read_timeout_usec_});
    const auto write_timeout =
        std::chrono::duration_cast<milliseconds>(seconds{write_timeout_sec_} + microseconds{write_timeout_usec_});
    client_connection connection{sock, stop_fd_.get(), read_timeout, write_timeout};
    serving = &connection;
    bool ok = false;
    for (std::size_t left = keep_alive_max_count_;
         left > 0 && svr_sock_ != INVALID_SOCKET && connection.wait_for_request(seconds{keep_alive_timeout_sec_});
         --left) {
      bool closed = false;
      ok = process_request(connection, left == 1, closed, nullptr);
      if (!ok || closed) break;
    }
    serving = nullptr;
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }

  client::unique_fd stop_fd_;
};

http_front::http_front(const config::service_config &config, client::upstream_client &client)
    : config_(config), client_(client), listener_(std::make_unique<listener>()) {
  for (const auto &route : config_.routes) {
    endpoints_.emplace(route.path, endpoint{&route, fanout::execution_mode::async});
    endpoints_.emplace(route.sync_path(), endpoint{&route, fanout::execution_mode::sync});
  }

  listener &server = *listener_;
  server.set_tcp_nodelay(true);  // without it every keep-alive response waits ~40 ms (Nagle)
  server.set_keep_alive_max_count(10'000);
  server.set_keep_alive_timeout(30);
  server.set_read_timeout(30);
  server.set_payload_max_length(1 << 20);
  // One worker serves a connection for its whole keep-alive life: the pool bounds open connections.
  // cpp-httplib owns and deletes the queue it gets from this factory.
  const std::size_t threads = config_.server.threads;
  server.new_task_queue = [threads] { return std::make_unique<httplib::ThreadPool>(threads).release(); };

  const auto handler = [this](const httplib::Request &request, httplib::Response &response) {
    dispatch(request, response);
  };
  // One catch-all per method: we route by exact path, which also tells 404 from 405.
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
  server.Options(".*", handler);

  // Errors cpp-httplib produces itself (malformed request, body too large) get a JSON body too;
  // a body a handler already set is kept.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse{[](const httplib::Request &, httplib::Response &response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        response.set_content(error_json_for_status(response.status), "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }});
  // Without a handler cpp-httplib would put e.what() into a header; log it and say nothing inside.
  server.set_exception_handler([](const httplib::Request &request, httplib::Response &response, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "aggregator: %s %s failed: %s\n", request.method.c_str(), request.path.c_str(), e.what());
    } catch (...) {
      std::fprintf(stderr, "aggregator: %s %s failed\n", request.method.c_str(), request.path.c_str());
    }
    response.status = 500;
    response.set_content(error_json("internal", "internal error"), "application/json");
  });
}

http_front::~http_front() = default;

std::uint16_t http_front::bind() {
  const auto &where = config_.server;
  int port = where.port;
  if (port == 0) {
    port = listener_->bind_to_any_port(where.host);
  } else if (!listener_->bind_to_port(where.host, port)) {
    port = -1;
  }
  if (port <= 0)
    throw std::runtime_error("cannot listen on " + where.host + ":" + std::to_string(where.port) +
                             " (address in use, or not an address of this machine)");
  if (!listener_->raise_backlog(where.backlog)) throw std::runtime_error("listen() with a larger backlog failed");
  return static_cast<std::uint16_t>(port);
}

bool http_front::run() {
  const bool clean = listener_->listen_after_bind();
  return clean || stop_requested_.load();
}

void http_front::stop() {
  stop_requested_.store(true);
  listener_->halt();
}

void http_front::dispatch(const httplib::Request &request, httplib::Response &response) const {
  const auto started = clock::now();
  const bool readable = request.method == "GET" || request.method == "HEAD";
  const auto target = endpoints_.find(request.path);
  const bool known = target != endpoints_.end() || request.path == "/health" || request.path == "/";
  if (!known) {
    send_json(response, 404, error_json("not_found", "no endpoint at " + request.path + "; GET / lists them"), started);
    return;
  }
  if (!readable) {
    response.set_header("Allow", "GET, HEAD");
    send_json(response, 405, error_json("method_not_allowed", request.method + " is not allowed here; use GET"),
              started);
    return;
  }
  if (request.path == "/health") {
    send_json(response, 200, R"({"status":"ok"})", started);
  } else if (request.path == "/") {
    serve_index(response);
    send_json(response, 200, std::move(response.body), started);
  } else {
    serve_aggregate(target->second, request, response);
    send_json(response, response.status, std::move(response.body), started);
  }
}

void http_front::serve_aggregate(const endpoint &target, const httplib::Request &request,
                                 httplib::Response &response) const {
  const fanout::query_params query(request.params.begin(), request.params.end());
  const auto header = [&request](std::string_view name) -> std::optional<std::string> {
    const std::string key{name};
    if (!request.has_header(key)) return std::nullopt;
    return request.get_header_value(key);
  };
  auto planned = fanout::make_plan(*target.route, query, header);
  if (const auto *error = std::get_if<fanout::request_error>(&planned)) {
    response.status = error->status;
    response.body = error_json(error->code, error->message);
    return;
  }
  const auto &plan = std::get<fanout::fan_out_plan>(planned);
  // A client that goes away cancels its aggregation: nobody is left to read the answer.
  aggregations_in_flight_.fetch_add(1, std::memory_order_relaxed);
  struct leaving {
    std::atomic<std::size_t> &count;
    ~leaving() { count.fetch_sub(1, std::memory_order_relaxed); }
  } const counted{aggregations_in_flight_};
  std::stop_source stop;
  std::optional<disconnect_watcher::registration> watching;
  if (serving != nullptr) watching.emplace(watcher_.watch(serving->socket(), stop));
  const fanout::aggregate result = target.mode == fanout::execution_mode::async
                                       ? fanout::run_async(client_, plan, stop.get_token())
                                       : fanout::run_sync(client_.options(), plan, stop.get_token());
  fanout::rendered_aggregate rendered = fanout::render(result);
  response.status = rendered.status;
  response.set_header("X-Aggregate-Complete", rendered.complete ? "true" : "false");
  response.body = std::move(rendered.body);
}

void http_front::serve_index(httplib::Response &response) const {
  boost::json::array endpoints;
  for (const auto &route : config_.routes) {
    endpoints.push_back(boost::json::object{{"path", route.path}, {"route", route.name}, {"mode", "async"}});
    endpoints.push_back(boost::json::object{{"path", route.sync_path()}, {"route", route.name}, {"mode", "sync"}});
  }
  endpoints.push_back(boost::json::object{{"path", "/health"}});
  response.body = boost::json::serialize(boost::json::object{{"endpoints", std::move(endpoints)}});
}

}  // namespace agg::server
