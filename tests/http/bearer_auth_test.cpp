#include "aggregator/http/bearer_auth.hpp"

#include <catch2/catch.hpp>

using agg::http::bearer_auth;
using agg::http::same_secret;

namespace {

int status_for(const bearer_auth &auth, const char *authorization) {
  const auto refusal =
      auth.check(authorization != nullptr ? std::optional<std::string_view>{authorization} : std::nullopt);
  return refusal ? refusal->status : 200;
}

}  // namespace

TEST_CASE("same_secret compares whole secrets, whatever their lengths") {
  CHECK(same_secret("secret-token", "secret-token"));
  CHECK_FALSE(same_secret("secret-tokeN", "secret-token"));
  CHECK_FALSE(same_secret("secret", "secret-token"));
  CHECK_FALSE(same_secret("secret-token-and-more", "secret-token"));
  CHECK_FALSE(same_secret("", "secret-token"));
  CHECK(same_secret("", ""));
}

TEST_CASE("a bearer check answers 401 without credentials and 403 with a wrong token") {
  const bearer_auth auth{{"first-token-0123456789", "second-token-0123456789"}, "test"};
  CHECK(status_for(auth, "Bearer first-token-0123456789") == 200);
  CHECK(status_for(auth, "bearer second-token-0123456789") == 200);  // the scheme is case-insensitive
  CHECK(status_for(auth, nullptr) == 401);
  CHECK(status_for(auth, "Basic dXNlcjpwYXNz") == 401);
  CHECK(status_for(auth, "Bearer ") == 401);
  CHECK(status_for(auth, "Bearer first-token-012345678") == 403);
  CHECK(status_for(auth, "Bearer first-token-0123456789 ") == 403);

  const auto refusal = auth.check(std::nullopt);
  REQUIRE(refusal);
  CHECK(refusal->challenge == "Bearer realm=\"test\"");
  CHECK(refusal->body.find("\"unauthorized\"") != std::string::npos);
  CHECK_FALSE(auth.check("Bearer nope-nope-nope")->challenge);
}

TEST_CASE("a bearer check without tokens lets everything through") {
  const bearer_auth open{{}, "test"};
  CHECK(open.open());
  CHECK(status_for(open, nullptr) == 200);
  CHECK(status_for(open, "Bearer anything") == 200);
}
