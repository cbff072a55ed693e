#pragma once

// Boost 1.81's core/detail/string_view.hpp (under Beast) uses std::ostream without including it.
#include <ostream>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <string_view>

namespace agg::testing {

/// One HTTP/1.1 response read from the front of some bytes by Boost.Beast's parser: what the tests,
/// the fuzz targets and the flood benchmark know of the answers they get.
struct response_read {
  std::size_t used = 0;            ///< the bytes it took once it is whole (a 1xx, a head and its body); 0 before
  bool head_done = false;          ///< its status and headers are in `message`
  boost::beast::error_code error;  ///< why the bytes are not a response; empty while they may become one
  boost::beast::http::response<boost::beast::http::string_body> message;  ///< as far as it was read
};

/// Reads the response at the front of `bytes`; `to_head`: it answers a HEAD, so its length names a
/// body that does not follow.
inline response_read read_response_at(std::string_view bytes, bool to_head = false) {
  namespace http = boost::beast::http;
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.skip(to_head);
  parser.body_limit(boost::none);
  response_read out;
  std::size_t used = 0;
  while (!parser.is_done()) {
    boost::beast::error_code ec;
    const std::size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == http::error::need_more && used < bytes.size() && n != 0) continue;
    if (ec && ec != http::error::need_more) out.error = ec;
    if (ec || n == 0) break;
  }
  out.head_done = parser.is_header_done();
  out.used = parser.is_done() ? used : 0;
  if (out.head_done) out.message = parser.release();
  return out;
}

}  // namespace agg::testing
