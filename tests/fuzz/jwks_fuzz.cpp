// JWKS parsing: any bytes as a key set document (a jwks_file, or what a jwks_url answers). It
// either parses (every key then usable or saying why not) or is refused with a reason; never an
// exception, a crash or a leak. A set that parses is used once, so keys cjose imported half-right
// meet the verifier too.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aggregator/auth/jwt_verifier.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char *>(data), size};
  auto parsed = agg::auth::key_set::parse_jwks(text, {"RS256", "ES256", "PS256", "ES384"});
  if (const auto *problem = std::get_if<std::string>(&parsed)) {
    AGG_FUZZ_CHECK(!problem->empty());
    return 0;
  }
  auto &keys = std::get<agg::auth::key_set>(parsed);
  AGG_FUZZ_CHECK(keys.usable() <= keys.size());
  const agg::auth::jwt_verifier v{agg::auth::jwt_rules{}, std::move(keys)};
  // A header naming no kid, with a signature of the wrong size for every algorithm.
  const auto result =
      v.verify_uncached("eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln", agg::auth::jwt_verifier::clock::now());
  AGG_FUZZ_CHECK(std::holds_alternative<agg::auth::token_refusal>(result));
  return 0;
}
