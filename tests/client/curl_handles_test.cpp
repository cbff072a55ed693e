#include "aggregator/client/curl_handles.hpp"

#include <catch2/catch.hpp>

using agg::client::curl_error;
using agg::client::easy_handle;
using agg::client::header_list;
using agg::client::multi_handle;

TEST_CASE("handles own their curl objects and move without double cleanup") {
  easy_handle a;
  CURL *raw = a.get();
  REQUIRE(raw != nullptr);
  easy_handle b = std::move(a);
  CHECK(b.get() == raw);
  multi_handle m;
  CHECK(m.get() != nullptr);
  header_list headers;
  headers.append("X-Test: 1");
  CHECK(headers.get() != nullptr);
}

TEST_CASE("a rejected option is reported as an exception naming the call") {
  easy_handle easy;
  CHECK_THROWS_AS(easy.set(CURLOPT_PROTOCOLS_STR, "no-such-protocol"), curl_error);
  multi_handle multi;
  CHECK_THROWS_AS(multi.set(static_cast<CURLMoption>(99999), 1L), curl_error);
}
