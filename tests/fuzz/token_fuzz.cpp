// JWT verification: any bytes as a bearer token, against keys of every kind the verifier takes (RSA,
// EC, a key too small to serve). A token either verifies (then its claims are an object with an
// `exp`) or is refused with a reason; never an exception, a crash or a leak. The first bytes pick
// the algorithms allowed, so the HMAC path is driven too.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aggregator/auth/jwt_verifier.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

// Fixed public keys (RFC 7517 appendix A.1's EC key, and a 2048-bit RSA modulus), so that seeds
// signed with them find the signature path.
constexpr std::string_view jwks = R"({"keys":[
  {"kty":"EC","crv":"P-256","kid":"ec-1","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"sig"},
  {"kty":"RSA","kid":"rsa-1","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}]})";

const agg::auth::jwt_verifier &verifier(bool hmac) {
  static const agg::auth::jwt_verifier public_keys{
      agg::auth::jwt_rules{"https://issuer.test", {"aggregator"}, {"RS256", "ES256"}, std::chrono::seconds{30}, 64},
      std::get<agg::auth::key_set>(agg::auth::key_set::parse_jwks(jwks, {"RS256", "ES256"}))};
  static const agg::auth::jwt_verifier secret{
      agg::auth::jwt_rules{"", {}, {"HS256", "HS384"}, std::chrono::seconds{30}, 64},
      std::get<agg::auth::key_set>(agg::auth::key_set::from_secret("0123456789abcdef0123456789abcdef", {"HS256"}))};
  return hmac ? secret : public_keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0) return 0;
  const bool hmac = (data[0] & 1) != 0;
  const std::string_view token{reinterpret_cast<const char *>(data) + 1, size - 1};
  const auto &v = verifier(hmac);
  // Seeds carry long-expired tokens: check them at a fixed time when they were valid too.
  for (const auto now : {agg::auth::jwt_verifier::clock::now(),
                         agg::auth::jwt_verifier::clock::time_point{std::chrono::seconds{1'700'000'000}}}) {
    auto result = v.verify_uncached(token, now);
    if (const auto *refused = std::get_if<agg::auth::token_refusal>(&result)) {
      AGG_FUZZ_CHECK(!refused->reason.empty());
      continue;
    }
    const auto &ok = std::get<agg::auth::verified_token>(result);
    AGG_FUZZ_CHECK(ok.claims && ok.claims->is_object() && ok.claims->get_object().contains("exp"));
  }
  return 0;
}
