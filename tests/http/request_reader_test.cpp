#include "aggregator/http/request_reader.hpp"

#include <catch2/catch.hpp>

#include <string>

using agg::http::request_limits;
using agg::http::request_reader;
using progress = request_reader::progress;

namespace {

/// Feeds `bytes` in one slice; the progress after it.
progress feed_all(request_reader &reader, const std::string &bytes) { return reader.feed(bytes); }

/// The refusal status for `bytes` fed at once, or 0 when they were not refused.
int refused_with(const std::string &bytes, const request_limits &limits = {}) {
  request_reader reader{limits};
  return feed_all(reader, bytes) == progress::refused ? reader.why().status : 0;
}

const std::string get_health = "GET /health?x=1 HTTP/1.1\r\nHost: a\r\nX-Request-Id: r1\r\n\r\n";

}  // namespace

TEST_CASE("a request sliced into single bytes comes out whole") {
  request_reader reader{{}};
  progress last = progress::need_more;
  for (const char c : get_health) {
    REQUIRE(last == progress::need_more);
    last = reader.feed(std::string_view{&c, 1});
  }
  REQUIRE(last == progress::complete);
  const auto request = reader.take();
  CHECK(request.method == "GET");
  CHECK(request.target == "/health?x=1");
  CHECK(request.version == 11);
  CHECK(request.keep_alive);
  CHECK(request.header("x-request-id") == "r1");
  CHECK(request.body.empty());
  CHECK_FALSE(reader.has_buffered());
}

TEST_CASE("pipelined requests come out one at a time, in order") {
  request_reader reader{{}};
  REQUIRE(reader.feed(get_health + "DELETE /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") ==
          progress::complete);
  CHECK(reader.take().target == "/health?x=1");
  CHECK(reader.has_buffered());
  REQUIRE(reader.feed({}) == progress::complete);
  const auto second = reader.take();
  CHECK(second.method == "DELETE");
  CHECK_FALSE(second.keep_alive);
  CHECK(reader.feed({}) == progress::need_more);
}

TEST_CASE("a chunked body is read without its framing, trailers are not kept") {
  request_reader reader{{}};
  REQUIRE(reader.feed("POST /api/jobs HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: t\r\n\r\n") == progress::complete);
  const auto request = reader.take();
  CHECK(request.body == "abcdefg");
  CHECK_FALSE(request.header("X-Trailer"));
}

TEST_CASE("a body over the limit is refused as soon as its length is known") {
  const request_limits limits{.max_body_bytes = 10};
  request_reader reader{limits};
  // The head alone: not one byte of the body has been sent.
  CHECK(reader.feed("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n") == progress::refused);
  CHECK(reader.why().status == 413);
  CHECK(reader.why().code == "payload_too_large");
  CHECK(refused_with("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", limits) == 0);
}

TEST_CASE("a chunked body is held to the same limit") {
  const request_limits limits{.max_body_bytes = 10};
  request_reader reader{limits};
  REQUIRE(reader.feed("PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") == progress::need_more);
  CHECK(reader.feed("8\r\n01234567\r\n") == progress::need_more);
  CHECK(reader.feed("8\r\n01234567\r\n") == progress::refused);
  CHECK(reader.why().status == 413);
}

TEST_CASE("a body on a method that takes none is refused, so it cannot pass for the next request") {
  CHECK(refused_with("GET /health HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello") == 400);
  CHECK(refused_with("HEAD /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
  CHECK(refused_with("DELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx") == 400);
  CHECK(refused_with("GET /health HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n") == 0);
  request_reader reader{{}};
  reader.feed("GET /health HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
  CHECK(reader.why().code == "body_not_allowed");
}

TEST_CASE("ambiguous framing is refused") {
  const std::string post = "POST /x HTTP/1.1\r\nHost: a\r\n";
  CHECK(refused_with(post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(refused_with(post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") == 400);
  CHECK(refused_with(post + "Transfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n") == 400);
  CHECK(refused_with(post + "Transfer-Encoding: gzip\r\n\r\n") == 400);
  CHECK(refused_with(post + "Transfer-Encoding: gzip, chunked\r\n\r\n") == 400);
  CHECK(refused_with(post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(refused_with(post + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc") == 400);
  CHECK(refused_with(post + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabc") == 400);
  CHECK(refused_with(post + "Content-Length: -3\r\n\r\n") == 400);
  CHECK(refused_with(post + "Content-Length: 99999999999999999999999\r\n\r\n") == 400);
  CHECK(refused_with(post + "Content-Length: 3x\r\n\r\n") == 400);
  CHECK(refused_with("GET / HTTP/1.1\nHost: a\n\n") == 400);  // bare line feeds
}

TEST_CASE("a content-encoded request body is refused with 415") {
  CHECK(refused_with("POST /x HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc") == 415);
}

TEST_CASE("heads past their limits are refused with 431, targets with 414") {
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 100; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
  CHECK(refused_with(many + "\r\n") == 431);  // 101 fields
  CHECK(refused_with("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(17'000, 'a') + "\r\n\r\n") == 431);
  CHECK(refused_with("GET /" + std::string(9'000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n") == 414);
  CHECK(refused_with("GET /" + std::string(20'000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n") == 414);
  CHECK(refused_with("GET /" + std::string(8'000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
}

TEST_CASE("100-continue is asked for once, before the body, other expectations get 417") {
  request_reader reader{{}};
  CHECK(reader.feed("POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n") ==
        progress::continue_expected);
  CHECK(reader.feed("a") == progress::need_more);
  CHECK(reader.feed("bc") == progress::complete);
  CHECK(reader.take().body == "abc");
  CHECK(reader.feed("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n") == progress::complete);
  CHECK(refused_with("POST /x HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx") == 417);
}

TEST_CASE("unknown methods get 501, other HTTP versions 505, a missing Host 400") {
  CHECK(refused_with("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n") == 501);
  CHECK(refused_with("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == 505);
  CHECK(refused_with("GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(refused_with("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  // RFC 9112: a Host that is no host and optional port is refused too.
  for (const char *host : {"x y", "[::1", "", "user@h", "h:port", "h:1:2"}) {
    INFO(host);
    CHECK(refused_with(std::string{"GET / HTTP/1.1\r\nHost: "} + host + "\r\n\r\n") == 400);
  }
  for (const char *host : {"example.com", "127.0.0.1:8080", "[::1]:8080", "h"}) {
    INFO(host);
    CHECK(refused_with(std::string{"GET / HTTP/1.1\r\nHost: "} + host + "\r\n\r\n") == 0);
  }
  request_reader old{{}};
  REQUIRE(old.feed("GET / HTTP/1.0\r\n\r\n") == progress::complete);
  CHECK_FALSE(old.take().keep_alive);
}

TEST_CASE("after a refusal the reader never resynchronises") {
  request_reader reader{{}};
  REQUIRE(reader.feed("GARBAGE\r\n\r\n") == progress::refused);
  CHECK(reader.feed(get_health) == progress::refused);
}

TEST_CASE("started() tells a connection that sent part of a request from an idle one") {
  request_reader reader{{}};
  CHECK_FALSE(reader.started());
  reader.feed("GE");
  CHECK(reader.started());
}

TEST_CASE("repeated headers are one list: values joined with commas, cookies with semicolons") {
  agg::http::request r;
  r.headers = {{"Cookie", "a=1"}, {"X-Tag", "x"}, {"cookie", "b=2"}, {"X-Tag", "y"}};
  CHECK(r.joined("Cookie") == "a=1; b=2");
  CHECK(r.joined("x-tag") == "x, y");
  CHECK_FALSE(r.joined("X-Other"));
  CHECK(r.header("Cookie") == "a=1");
}
