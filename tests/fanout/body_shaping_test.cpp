#include "aggregator/fanout/body_shaping.hpp"

#include <catch2/catch.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

using agg::config::body_shape;
using agg::fanout::shape_body;
namespace json = boost::json;

namespace {

json::value shaped(const body_shape &shape, const std::string &body, std::vector<std::string> &notes) {
  // In an arena, as the aggregation's bodies are.
  const json::storage_ptr arena = json::make_shared_resource<json::monotonic_resource>();
  json::value v = json::parse(body, arena);
  shape_body(shape, v, notes);
  return json::value(v);  // a copy in the default storage, to outlive the arena
}

constexpr const char *user = R"({"id":7,"name":"ann","address":{"city":"Oslo","zip":"0150"},"tags":["a","b"]})";

}  // namespace

TEST_CASE("select takes the value at a pointer, nothing there gives null and a note") {
  std::vector<std::string> notes;
  CHECK(shaped({.select = "/address/city"}, user, notes) == "Oslo");
  CHECK(notes.empty());
  CHECK(shaped({.select = "/nowhere"}, user, notes).is_null());
  CHECK(notes == std::vector<std::string>{"select '/nowhere' found nothing"});
}

TEST_CASE("allow keeps only the values at its pointers, nested where they were") {
  std::vector<std::string> notes;
  const auto v = shaped({.allow = {"/id", "/address/city", "/missing"}}, user, notes);
  CHECK(v == json::parse(R"({"id":7,"address":{"city":"Oslo"}})"));
  CHECK(notes == std::vector<std::string>{"allow '/missing' found nothing"});
}

TEST_CASE("deny removes members and elements, a deny that finds nothing is quiet") {
  std::vector<std::string> notes;
  const auto v = shaped({.deny = {"/address/zip", "/tags/0", "/nope", "/tags/9"}}, user, notes);
  CHECK(v == json::parse(R"({"id":7,"name":"ann","address":{"city":"Oslo"},"tags":["b"]})"));
  CHECK(notes.empty());
}

TEST_CASE("rename moves a value, making the objects on its way") {
  std::vector<std::string> notes;
  const auto v = shaped({.rename = {{"/name", "/person/first_name"}, {"/gone", "/x"}}}, user, notes);
  CHECK(v.at("person").at("first_name") == "ann");
  CHECK_FALSE(v.as_object().contains("name"));
  CHECK(notes == std::vector<std::string>{"rename '/gone' found nothing"});
}

TEST_CASE("shaping runs select, allow, deny, rename in that order") {
  std::vector<std::string> notes;
  const body_shape shape{
      .select = "/address", .allow = {"/city", "/zip"}, .deny = {"/zip"}, .rename = {{"/city", "/town"}}};
  CHECK(shaped(shape, user, notes) == json::parse(R"({"town":"Oslo"})"));
}
