#include "aggregator/http/request_reader.hpp"

// Boost 1.81's core/detail/string_view.hpp (under Beast) uses std::ostream without including it.
#include <ostream>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <optional>

#include "aggregator/text/character_rules.hpp"

namespace agg::http {

namespace beast_http = boost::beast::http;
using boost::beast::error_code;
using boost::beast::string_view;

std::optional<std::string_view> request::header(std::string_view name) const noexcept {
  for (const auto &h : headers)
    if (text::equal_ignoring_case(h.name, name)) return std::string_view{h.value};
  return std::nullopt;
}

std::optional<std::string> request::joined(std::string_view name) const {
  // RFC 9110, 5.3: field lines of one name are one list, joined with commas; Cookie's with "; "
  // (RFC 6265, 5.4), its own separator.
  const std::string_view separator = text::equal_ignoring_case(name, "Cookie") ? "; " : ", ";
  std::optional<std::string> all;
  for (const auto &h : headers) {
    if (!text::equal_ignoring_case(h.name, name)) continue;
    if (all)
      all->append(separator).append(h.value);
    else
      all = h.value;
  }
  return all;
}

std::size_t request::count(std::string_view name) const noexcept {
  return static_cast<std::size_t>(std::count_if(headers.begin(), headers.end(), [name](const header_field &h) {
    return text::equal_ignoring_case(h.name, name);
  }));
}

namespace {

/// RFC 9112's Host: a host (a name, an IPv4 address or a bracketed IPv6 one) and an optional port,
/// never empty (an http URI has a host: RFC 9110, 4.2.1).
bool valid_host(std::string_view value) {
  const auto authority = boost::urls::parse_authority(value);
  return authority && !authority->has_userinfo() && !authority->encoded_host().empty();
}

/// Methods whose requests may carry a body here; any other that announces one is refused, because a
/// server that does not read such a body would take it for the next request (request smuggling).
bool takes_body(std::string_view method) noexcept { return method == "POST" || method == "PUT" || method == "PATCH"; }

}  // namespace

/// Beast's parser with our callbacks: fields and body go straight into a `request`, limits and
/// framing rules are checked as each part arrives, and a refusal stops the parse.
class request_reader::parser final : public beast_http::basic_parser<true> {
 public:
  explicit parser(const request_limits &limits) : limits_(limits) {
    header_limit(static_cast<std::uint32_t>(limits.max_head_bytes));
    body_limit(limits.max_body_bytes);
    eager(true);  // parse the body in the same put() as the head
  }

  request message;
  std::optional<refusal> refused;
  bool expects_continue = false;

 private:
  void refuse(error_code &ec, int status, std::string code, std::string text) {
    refused = refusal{status, std::move(code), std::move(text)};
    ec = beast_http::error::bad_value;  // stops the parse; `refused` says why
  }

  void on_request_impl(beast_http::verb method, string_view method_text, string_view target, int version,
                       error_code &ec) override {
    if (version != 10 && version != 11)
      return refuse(ec, 505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
    if (target.size() > limits_.max_target_bytes)
      return refuse(ec, 414, "uri_too_long",
                    "the request target is longer than " + std::to_string(limits_.max_target_bytes) + " bytes");
    if (method == beast_http::verb::unknown)
      return refuse(ec, 501, "not_implemented", "unknown method " + std::string{method_text});
    message.method.assign(method_text.data(), method_text.size());
    message.target.assign(target.data(), target.size());
    message.version = version;
  }

  void on_response_impl(int, string_view, int, error_code &) override {}

  void on_field_impl(beast_http::field, string_view name, string_view value, error_code &ec) override {
    if (++fields_ > limits_.max_headers)
      return refuse(ec, 431, "headers_too_large",
                    "more than " + std::to_string(limits_.max_headers) + " header fields");
    if (head_done_) return;  // a chunked body's trailer: counted, not kept
    message.headers.push_back({std::string{name}, std::string{value}});
  }

  void on_header_impl(error_code &ec) override {
    head_done_ = true;
    message.keep_alive = keep_alive();
    const std::size_t hosts = message.count("Host");
    if (hosts > 1 || (hosts == 0 && message.version == 11))
      return refuse(ec, 400, "bad_request", "an HTTP/1.1 request needs exactly one Host header");
    if (const auto host = message.header("Host"); host && !valid_host(*host))
      return refuse(ec, 400, "bad_request", "the Host header is not a host and an optional port");
    if (message.count("Content-Length") > 1)
      return refuse(ec, 400, "bad_content_length", "more than one Content-Length header");
    if (const std::size_t codings = message.count("Transfer-Encoding"); codings > 0) {
      if (message.header("Content-Length"))
        return refuse(ec, 400, "bad_transfer_encoding", "Content-Length and Transfer-Encoding together");
      if (codings > 1 || !text::equal_ignoring_case(text::trimmed(*message.header("Transfer-Encoding")), "chunked"))
        return refuse(ec, 400, "bad_transfer_encoding", "the only transfer coding served is a single chunked");
    }
    if (message.header("Content-Encoding"))
      return refuse(ec, 415, "unsupported_media_type", "request bodies must not be content-encoded");
    const bool has_body = chunked() || content_length().value_or(0) > 0;
    if (has_body && !takes_body(message.method))
      return refuse(ec, 400, "body_not_allowed", "a " + message.method + " request must not carry a body");
    if (const auto expect = message.header("Expect")) {
      if (!text::equal_ignoring_case(*expect, "100-continue"))
        return refuse(ec, 417, "expectation_failed", "the only expectation served is 100-continue");
      expects_continue = has_body && message.version == 11;
    }
  }

  void on_body_init_impl(const boost::optional<std::uint64_t> &length, error_code &) override {
    if (length) message.body.reserve(static_cast<std::size_t>(*length));  // within body_limit
  }

  std::size_t on_body_impl(string_view body, error_code &) override {
    message.body.append(body.data(), body.size());
    return body.size();
  }

  void on_chunk_header_impl(std::uint64_t, string_view, error_code &) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code &) override {
    message.body.append(body.data(), body.size());
    return body.size();
  }

  void on_finish_impl(error_code &) override {}

  const request_limits &limits_;
  std::size_t fields_ = 0;
  bool head_done_ = false;
};

request_reader::request_reader(const request_limits &limits)
    : limits_(limits), parser_(std::make_unique<parser>(limits_)) {}

request_reader::~request_reader() = default;

namespace {

/// True when the request line ends in a well-formed HTTP version (`HTTP/2.0`) that is not 1.x:
/// Beast reports those and a garbled line alike.
bool names_other_version(std::string_view input) {
  const std::size_t end = input.find("\r\n");
  if (end == std::string_view::npos || end < 8) return false;
  const std::string_view version = input.substr(end - 8, 8);
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return version.starts_with("HTTP/") && digit(version[5]) && version[6] == '.' && digit(version[7]);
}

/// True when `input` starts with a whole request line that does not end in an HTTP version.
bool versionless_line(std::string_view input) {
  const std::size_t end = input.find('\n');
  if (end == std::string_view::npos) return false;
  std::string_view line = input.substr(0, end);
  if (line.ends_with('\r')) line.remove_suffix(1);
  const std::size_t space = line.rfind(' ');
  return space == std::string_view::npos || !line.substr(space + 1).starts_with("HTTP/");
}

/// True when a line of `input` ends with a line feed that no carriage return comes before.
bool has_bare_line_feed(std::string_view input) {
  for (std::size_t at = input.find('\n'); at != std::string_view::npos; at = input.find('\n', at + 1))
    if (at == 0 || input[at - 1] != '\r') return true;
  return false;
}

/// What a parse error of Beast's means for the client; `input` is what it could not parse, and
/// `line_read` whether the request line was parsed before.
refusal refusal_for(const error_code &ec, std::string_view input, bool line_read, const request_limits &limits) {
  if (ec == beast_http::error::header_limit) {
    // The request line alone fills the limit: the target is what is too long.
    if (!line_read)
      return {414, "uri_too_long",
              "the request target is longer than " + std::to_string(limits.max_target_bytes) + " bytes"};
    return {431, "headers_too_large",
            "the request head is larger than " + std::to_string(limits.max_head_bytes) + " bytes"};
  }
  if (ec == beast_http::error::body_limit)
    return {413, "payload_too_large",
            "the request body is larger than " + std::to_string(limits.max_body_bytes) + " bytes"};
  if (ec == beast_http::error::bad_content_length || ec == beast_http::error::multiple_content_length)
    return {400, "bad_content_length", "Content-Length is not one whole number"};
  if (ec == beast_http::error::bad_version && names_other_version(input))
    return {505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served"};
  if (ec == beast_http::error::bad_transfer_encoding)
    return {400, "bad_transfer_encoding", "Transfer-Encoding is not a single chunked"};
  if (has_bare_line_feed(input))
    return {400, "bad_request", "malformed HTTP request: a line ends with a bare line feed; lines end with CRLF"};
  return {400, "bad_request", "malformed HTTP request: " + ec.message()};
}

}  // namespace

request_reader::progress request_reader::parse(std::string_view input, std::size_t &consumed) {
  consumed = 0;
  while (consumed < input.size() && !parser_->is_done()) {
    error_code ec;
    const std::size_t used =
        parser_->put(boost::asio::const_buffer{input.data() + consumed, input.size() - consumed}, ec);
    consumed += used;
    if (ec == beast_http::error::need_more) {
      // A whole request line Beast still waits on (`GET / ` and CRLF: no version) will never do.
      if (parser_->message.method.empty() && versionless_line(input.substr(consumed))) {
        parser_->refused =
            refusal{400, "bad_request", "malformed HTTP request: the request line is not METHOD TARGET HTTP/1.x"};
        return progress::refused;
      }
      break;
    }
    if (ec) {
      if (!parser_->refused)
        parser_->refused = refusal_for(ec, input.substr(consumed), !parser_->message.method.empty(), limits_);
      return progress::refused;
    }
    if (used == 0) break;
  }
  if (parser_->is_done()) return progress::complete;
  if (parser_->expects_continue && parser_->is_header_done() && !continue_reported_) {
    continue_reported_ = true;
    return progress::continue_expected;
  }
  return progress::need_more;
}

request_reader::progress request_reader::feed(std::string_view bytes) {
  if (parser_->refused) return progress::refused;
  std::size_t consumed = 0;
  progress result = progress::need_more;
  if (pending_.empty()) {
    result = parse(bytes, consumed);
    if (result != progress::refused) pending_.assign(bytes.substr(consumed));
  } else {
    pending_.append(bytes);
    result = parse(pending_, consumed);
    if (result != progress::refused) pending_.erase(0, consumed);
  }
  return result;
}

request request_reader::take() {
  request done = std::move(parser_->message);
  parser_ = std::make_unique<parser>(limits_);
  continue_reported_ = false;
  return done;
}

const refusal &request_reader::why() const noexcept {
  static const refusal none{};
  return parser_->refused ? *parser_->refused : none;
}

bool request_reader::started() const noexcept { return !pending_.empty() || parser_->got_some(); }

const request &request_reader::partial() const noexcept { return parser_->message; }

}  // namespace agg::http
