#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "upstream/api_request.hpp"
#include "upstream/server_state.hpp"

namespace upstream {

/// One client connection: reads a request (Boost.Beast's parser), answers it after its delay (or
/// with its fault), then the next. Over TLS when the server has a context: the same session, its
/// bytes through an SSL stream. Lives in a shared_ptr held by its pending handlers; io thread only.
class session : public std::enable_shared_from_this<session> {
 public:
  session(detail::server_state &server, boost::asio::ip::tcp::socket socket);
  session(const session &) = delete;
  session &operator=(const session &) = delete;
  ~session();

  /// Reads requests (after the TLS handshake, over TLS); a failed handshake ends the session.
  void start();
  /// Called when every waiter of this request's barrier has arrived.
  void release() { wait_then_send(); }

 private:
  using parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  void read_more();
  void handle_buffered();
  void respond(const std::string &path, const query_params &params);
  void wait_then_send();
  void deliver();
  void reset();
  template <typename Handler>
  void write_out(Handler handler);
  template <typename Next>
  void write_then(std::string bytes, Next next);
  void trickle();
  void end();
  void send(int status, std::string_view body, bool force_close = false,
            std::string_view content_type = "application/json");
  /// A parser for the next request, with the server's limits.
  void next_request();

  detail::server_state &server_;
  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket &>> tls_;  // over socket_, for HTTPS
  boost::asio::steady_timer timer_;
  std::array<char, 4096> chunk_{};
  std::string buffer_;  // received, not parsed yet
  std::optional<parser> parser_;
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

}  // namespace upstream
