#include "aggregator/fanout/classify.hpp"

#include <catch2/catch.hpp>

using agg::calls::outcome_kind;

namespace {

struct classified {
  outcome_kind kind;
  boost::json::value body;
  std::string detail;
};

classified classify(long status, std::string body, bool accept_non_json = false) {
  agg::calls::upstream_reply reply;
  agg::calls::set_response_status(reply, status);
  reply.body = std::move(body);
  classified out{};
  out.body = agg::fanout::classify(reply, accept_non_json, {}, out.kind, out.detail);
  return out;
}

}  // namespace

TEST_CASE("a 2xx JSON body is ok and parsed, a 204 is ok with a null body") {
  const auto ok = classify(200, R"({"a":[1,2]})");
  CHECK(ok.kind == outcome_kind::ok);
  CHECK(ok.body.at("a").as_array().size() == 2);
  CHECK(ok.detail.empty());
  const auto empty = classify(204, "");
  CHECK(empty.kind == outcome_kind::ok);
  CHECK(empty.body.is_null());
}

TEST_CASE("a 2xx body that is not JSON is invalid_json, or a string when the route accepts such bodies") {
  const auto refused = classify(200, "<html>");
  CHECK(refused.kind == outcome_kind::invalid_json);
  CHECK(refused.body.is_null());
  CHECK(refused.detail.starts_with("upstream body is not JSON"));
  const auto kept = classify(200, "<html>", true);
  CHECK(kept.kind == outcome_kind::ok);
  CHECK(kept.body.as_string() == "<html>");
}

TEST_CASE("another status is http_status, its body unread, a call with no response keeps its reason") {
  const auto teapot = classify(503, R"({"error":"down"})");
  CHECK(teapot.kind == outcome_kind::http_status);
  CHECK(teapot.body.is_null());
  CHECK(teapot.detail == "upstream answered HTTP 503");
  agg::calls::upstream_reply refused = agg::calls::failed_reply(outcome_kind::connect, "refused");
  outcome_kind kind{};
  std::string detail;
  CHECK(agg::fanout::classify(refused, true, {}, kind, detail).is_null());
  CHECK(kind == outcome_kind::connect);
  CHECK(detail == "refused");
}
