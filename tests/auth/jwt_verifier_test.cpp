#include "aggregator/auth/jwt_verifier.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "tests/support/jwt_minting.hpp"

using namespace agg;
using agg::testing::assemble;
using agg::testing::claims_for;
using agg::testing::mint;

namespace {

const testing::signing_key &rsa_key() {
  static const auto key = testing::make_key("rsa-1", "RS256");
  return key;
}
const testing::signing_key &ec_key() {
  static const auto key = testing::make_key("ec-1", "ES256");
  return key;
}

auth::jwt_rules rules() {
  auth::jwt_rules r;
  r.issuer = "https://issuer.test";
  r.audiences = {"aggregator", "other"};
  return r;
}

auth::key_set keys_of(const std::string &jwks, const std::vector<std::string> &algorithms = {"RS256", "ES256"}) {
  auto parsed = auth::key_set::parse_jwks(jwks, algorithms);
  REQUIRE(std::holds_alternative<auth::key_set>(parsed));
  return std::get<auth::key_set>(std::move(parsed));
}

auth::jwt_verifier standard_verifier() {
  return auth::jwt_verifier{rules(),
                            keys_of(testing::jwks_of({testing::public_jwk(rsa_key()), testing::public_jwk(ec_key())}))};
}

/// The reason `token` is refused; fails the test when it verifies.
std::string refusal_of(const auth::jwt_verifier &v, std::string_view token) {
  auto result = v.verify(token);
  const auto *refused = std::get_if<auth::token_refusal>(&result);
  REQUIRE(refused != nullptr);
  return refused->reason;
}

}  // namespace

TEST_CASE("RS256 and ES256 tokens verify against the JWKS key their kid names, and give their claims") {
  const auto v = standard_verifier();
  for (const auto *key : {&rsa_key(), &ec_key()}) {
    auto result = v.verify(mint(*key, claims_for("alice", {{"tenant", {{"id", "t-7"}}}})));
    const auto *ok = std::get_if<auth::verified_token>(&result);
    REQUIRE(ok != nullptr);
    CHECK(ok->subject == "alice");
    CHECK(ok->claims->at_pointer("/tenant/id") == "t-7");
  }
}

TEST_CASE("a token's claims are checked: exp required and not past, nbf and iat not ahead, iss and aud as configured") {
  const auto v = standard_verifier();
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(refusal_of(v, mint(rsa_key(), claims_for("a", {{"exp", now - 60}}))) == "the token has expired");
  // Within the leeway (30 s) it still passes.
  CHECK(std::holds_alternative<auth::verified_token>(v.verify(mint(rsa_key(), claims_for("a", {{"exp", now - 10}})))));
  CHECK(refusal_of(v, mint(rsa_key(), claims_for("a", {{"nbf", now + 600}}))) == "the token is not valid yet (nbf)");
  CHECK(refusal_of(v, mint(rsa_key(), claims_for("a", {{"iat", now + 600}}))) ==
        "the token was issued in the future (iat)");
  CHECK(refusal_of(v, mint(rsa_key(), claims_for("a", {{"iss", "https://evil.test"}}))) ==
        "the token's issuer is not https://issuer.test");
  CHECK(refusal_of(v, mint(rsa_key(), claims_for("a", {{"aud", "someone-else"}}))) ==
        "the token is not for this audience (aud)");
  CHECK(std::holds_alternative<auth::verified_token>(
      v.verify(mint(rsa_key(), claims_for("a", {{"aud", boost::json::array{"x", "other"}}})))));
  boost::json::object no_exp = claims_for("a");
  no_exp.erase("exp");
  CHECK(refusal_of(v, mint(rsa_key(), no_exp)) == "the token has no exp claim");
  CHECK(refusal_of(v, mint(rsa_key(), claims_for("a", {{"exp", "tomorrow"}}))) == "exp is not a number");
  CHECK(refusal_of(v, mint(rsa_key(), claims_for("a", {{"exp", 1e300}}))).empty() == false);
}

TEST_CASE("every malformed kind of token is a refusal with its reason, never an exception") {
  const auto v = standard_verifier();
  const std::string good = mint(rsa_key(), claims_for("alice"));
  CHECK(refusal_of(v, "") == "the token is not a signed JWT (three base64url parts separated by dots)");
  CHECK(refusal_of(v, "a.b") == "the token is not a signed JWT (three base64url parts separated by dots)");
  CHECK(refusal_of(v, "a.b.c.d").find("three base64url parts") != std::string::npos);
  CHECK(refusal_of(v, "!!!.***.???").find("three base64url parts") != std::string::npos);
  // Padding inside a part: Debian's cjose would abort the process on it, so it never gets there.
  CHECK(refusal_of(v, "eyJhbGciOiJSUzI1NiJ9=CA.e30.c2ln").find("three base64url parts") != std::string::npos);
  CHECK(refusal_of(v, "e30.e30.c2ln").find("does not parse") != std::string::npos);
  CHECK(refusal_of(v, assemble(R"({"alg":"RS256","kid":"rsa-1"})", R"([1,2,3])")) != "");
  CHECK(refusal_of(v, std::string(9000, 'a')) == "the token is longer than 8192 bytes");
  CHECK(refusal_of(v, assemble(R"({"alg":"none"})", R"({"sub":"root"})", "")) != "");
  CHECK(refusal_of(v, assemble(R"({"alg":"none","kid":"rsa-1"})", R"({"sub":"root"})", "")) ==
        "alg none is never accepted");
  CHECK(refusal_of(v, mint(rsa_key(), claims_for("alice"), {{"crit", boost::json::array{"exp"}}})) ==
        "the token has crit header parameters, which this service does not understand");
  const auto stranger = testing::make_key("unknown-kid", "RS256");
  auto unknown = v.verify(mint(stranger, claims_for("alice")));
  REQUIRE(std::holds_alternative<auth::token_refusal>(unknown));
  CHECK(std::get<auth::token_refusal>(unknown).reason == "no key has kid unknown-kid");
  CHECK(std::get<auth::token_refusal>(unknown).unknown_key);
  // An ES256 header naming the RSA key: the key's type decides, never the header.
  testing::signing_key confused = ec_key();
  confused.kid = "rsa-1";
  CHECK(refusal_of(v, mint(confused, claims_for("alice"))) == "key rsa-1 is not a key for ES256");
  // A token signed by another key under a known kid.
  testing::signing_key forged = stranger;
  forged.kid = "rsa-1";
  CHECK(refusal_of(v, mint(forged, claims_for("alice"))) == "the signature does not verify");
  // Payload swapped under a valid signature.
  const std::string tampered = good.substr(0, good.find('.') + 1) +
                               testing::base64url(boost::json::serialize(claims_for("root"))) +
                               good.substr(good.rfind('.'));
  CHECK(refusal_of(v, tampered) == "the signature does not verify");
  // HS256 is not among the algorithms: an RSA public key never becomes an HMAC secret.
  CHECK(refusal_of(v, mint(testing::make_secret(std::string(32, 'k')), claims_for("alice"), {{"kid", "rsa-1"}})) ==
        "alg HS256 is not among auth.jwt.algorithms");
}

TEST_CASE(
    "a JWKS key that cannot serve stays in the set with its reason: small RSA keys, HMAC secrets, encryption keys") {
  const auto small = testing::make_key("small", "RS256", 1024);
  const auto enc = testing::make_key("enc", "RS256");
  const std::string jwks = testing::jwks_of(
      {testing::public_jwk(small), testing::public_jwk(enc, {{"use", "enc"}}),
       boost::json::object{{"kty", "oct"}, {"kid", "secret"}, {"k", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}},
       testing::public_jwk(rsa_key())});
  const auth::jwt_verifier v{rules(), keys_of(jwks)};
  CHECK(v.keys()->size() == 4);
  CHECK(v.keys()->usable() == 1);
  CHECK(refusal_of(v, mint(small, claims_for("a"))) == "key small is an RSA key of 1024 bits, under 2048");
  CHECK(refusal_of(v, mint(enc, claims_for("a"))) == "key enc is not for signatures (use is not \"sig\")");
  CHECK(refusal_of(v, mint(testing::make_secret("secret-secret-secret-secret-secret"), claims_for("a"),
                           {{"kid", "secret"}})) == "alg HS256 is not among auth.jwt.algorithms");
}

TEST_CASE("a JWKS that does not parse says why") {
  const std::vector<std::string> algorithms{"RS256"};
  const auto problem = [&](std::string_view text) {
    auto parsed = auth::key_set::parse_jwks(text, algorithms);
    REQUIRE(std::holds_alternative<std::string>(parsed));
    return std::get<std::string>(parsed);
  };
  CHECK(problem("not json").starts_with("the JWKS is not JSON"));
  CHECK(problem("[]") == "the JWKS has no \"keys\" array");
  CHECK(problem(R"({"keys":[1]})") == "keys[0] is not an object");
  CHECK(problem(R"({"keys":[{"kty":"RSA","n":"AQAB"}]})").starts_with("keys[0] is not a key cjose can import"));
  CHECK(problem(R"({"keys":[{"kty":"RSA","kid":7}]})") == "keys[0].kid is not a string");
  CHECK(problem(R"({"keys":[{"kty":"RSA","e":"AQAB","n":"AB=C"}]})") ==
        "keys[0].n is not base64url (A-Z a-z 0-9 - _, no padding)");
}

TEST_CASE("HMAC tokens verify with the secret alone, a short secret is refused") {
  auto keys = auth::key_set::from_secret(std::string(32, 's'), {"HS256"});
  REQUIRE(std::holds_alternative<auth::key_set>(keys));
  auth::jwt_rules r = rules();
  r.algorithms = {"HS256"};
  const auth::jwt_verifier v{r, std::get<auth::key_set>(std::move(keys))};
  CHECK(std::holds_alternative<auth::verified_token>(
      v.verify(mint(testing::make_secret(std::string(32, 's')), claims_for("svc")))));
  CHECK(refusal_of(v, mint(testing::make_secret(std::string(32, 't')), claims_for("svc"))) ==
        "the signature does not verify");
  CHECK(std::get<std::string>(auth::key_set::from_secret("short", {"HS256"})) ==
        "the HMAC secret must have at least 32 bytes");
}

TEST_CASE("a verified token is remembered until it expires: new keys do not undo it, expiry does") {
  auto v = standard_verifier();
  const auto now = auth::jwt_verifier::clock::now();
  const std::string token = mint(rsa_key(), claims_for("alice"));
  REQUIRE(std::holds_alternative<auth::verified_token>(v.verify(token, now)));
  v.replace_keys(keys_of(testing::jwks_of({testing::public_jwk(ec_key())})));
  CHECK(std::holds_alternative<auth::verified_token>(v.verify(token, now)));          // from the cache
  CHECK(std::holds_alternative<auth::token_refusal>(v.verify_uncached(token, now)));  // the keys alone refuse it
  CHECK(refusal_of(v, mint(rsa_key(), claims_for("bob"))) == "no key has kid rsa-1");
  auto later = v.verify(token, now + std::chrono::hours{2});
  REQUIRE(std::holds_alternative<auth::token_refusal>(later));
  CHECK(std::get<auth::token_refusal>(later).reason == "the token has expired");
}

TEST_CASE("tokens are verified from many threads at once while the keys are replaced") {
  auto v = standard_verifier();
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i)
    tokens.push_back(mint(i % 2 ? ec_key() : rsa_key(), claims_for("user-" + std::to_string(i))));
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      for (int round = 0; round < 20; ++round)
        for (const auto &token : tokens)
          verified += std::holds_alternative<auth::verified_token>(v.verify(token)) ? 1 : 0;
    });
  for (int i = 0; i < 20; ++i)
    v.replace_keys(keys_of(testing::jwks_of({testing::public_jwk(rsa_key()), testing::public_jwk(ec_key())})));
  for (auto &thread : threads) thread.join();
  CHECK(verified == 3 * 20 * 8);
}
