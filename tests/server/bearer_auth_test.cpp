#include "aggregator/server/bearer_auth.hpp"

#include <catch2/catch.hpp>

#include <httplib.h>

using agg::server::bearer_auth;
using agg::server::same_secret;

namespace {

int status_for(const bearer_auth &auth, const char *authorization) {
  httplib::Request request;
  if (authorization != nullptr) request.headers.emplace("Authorization", authorization);
  httplib::Response response;
  return auth.admit(request, response) ? 200 : response.status;
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

  httplib::Request request;
  httplib::Response response;
  REQUIRE_FALSE(auth.admit(request, response));
  CHECK(response.get_header_value("WWW-Authenticate") == "Bearer realm=\"test\"");
  CHECK(response.body.find("\"unauthorized\"") != std::string::npos);
}

TEST_CASE("a bearer check without tokens lets everything through") {
  const bearer_auth open{{}, "test"};
  CHECK(open.open());
  CHECK(status_for(open, nullptr) == 200);
  CHECK(status_for(open, "Bearer anything") == 200);
}
