#include "aggregator/config/url_template.hpp"

#include <catch2/catch.hpp>

#include <boost/url/parse.hpp>

#include <string>

using agg::config::percent_encode;
using agg::config::url_template;

namespace {

url_template parsed(std::string_view text) {
  auto result = url_template::parse(text);
  REQUIRE(std::holds_alternative<url_template>(result));
  return std::get<url_template>(std::move(result));
}

}  // namespace

TEST_CASE("a template fills each slot with its value") {
  const auto t = parsed("http://127.0.0.1:9008/api/{kind}?task_id={i}&n={i}");
  const auto url = t.expand(
      [](const agg::config::template_slot &s) { return s.name == "i" ? std::string{"3"} : std::string{"users"}; });
  CHECK(url == "http://127.0.0.1:9008/api/users?task_id=3&n=3");
  std::vector<std::string> names;
  for (const auto &slot : t.slots()) names.push_back(slot.name);
  CHECK(names == std::vector<std::string>{"kind", "i", "i"});
}

TEST_CASE("malformed templates are rejected with a reason") {
  CHECK(std::holds_alternative<std::string>(url_template::parse("http://h/{unclosed")));
  CHECK(std::holds_alternative<std::string>(url_template::parse("http://h/}")));
  CHECK(std::holds_alternative<std::string>(url_template::parse("http://h/{bad name}")));
  CHECK(std::holds_alternative<std::string>(url_template::parse("http://user:pw@h/")));
  CHECK(std::holds_alternative<std::string>(url_template::parse("/relative/{i}")));
}

TEST_CASE("values that try to leave the configured host stay in the path") {
  const auto t = parsed("http://127.0.0.1:9008/api/?q={q}");
  for (const std::string attack : {"@evil.example", "//evil.example/x", "../../admin", "http://evil.example/",
                                   "%0d%0aHost: evil", "\r\nX: y", "[::1]:80", "a#frag", "a?b=c&d=e", "a/b"}) {
    const std::string url = t.expand([&](const agg::config::template_slot &) { return attack; });
    INFO(url);
    const auto u = boost::urls::parse_uri(url);
    REQUIRE(u);
    CHECK(u->host() == "127.0.0.1");
    CHECK(u->port() == "9008");
    CHECK(u->path() == "/api/");
    CHECK_FALSE(u->has_fragment());
    CHECK(u->encoded_query().find('&') == std::string_view::npos);
  }
}

TEST_CASE("percent_encode leaves only unreserved letters, digits, -, _ and ~") {
  CHECK(percent_encode("abcXYZ019-_~") == "abcXYZ019-_~");
  CHECK(percent_encode("a b/.%") == "a%20b%2F%2E%25");
  CHECK(percent_encode("\xc3\xa9") == "%C3%A9");
}
