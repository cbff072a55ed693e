#include "aggregator/auth/jwt_verifier.hpp"

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cmath>

#include "aggregator/io/unique_handle.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::auth {

namespace json = boost::json;

namespace {

using jwk_handle = io::unique_handle<cjose_jwk_t, cjose_jwk_release>;
void release_jws(cjose_jws_t *jws) { cjose_jws_release(jws); }
using jws_handle = io::unique_handle<cjose_jws_t, release_jws>;

constexpr std::array<std::string_view, 12> signature_algorithms{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                                                "ES256", "ES384", "ES512", "HS256", "HS384", "HS512"};
constexpr std::size_t min_rsa_bits = 2048;
constexpr std::size_t min_secret_bytes = 32;

/// The key type an algorithm needs.
cjose_jwk_kty_t key_type_of(std::string_view alg) noexcept {
  if (alg.starts_with("ES")) return CJOSE_JWK_KTY_EC;
  if (alg.starts_with("HS")) return CJOSE_JWK_KTY_OCT;
  return CJOSE_JWK_KTY_RSA;
}

/// The bits of an EC key for ES256/384/512 (P-521's are 521).
std::size_t ec_bits_of(std::string_view alg) noexcept {
  if (alg == "ES256") return 256;
  if (alg == "ES384") return 384;
  return 521;
}

/// Base64url without padding (RFC 7515 section 2): what each part of a token and each key member
/// cjose decodes must be. Checked before cjose sees them: Debian's cjose 0.6.2.1 aborts the process
/// (an assert in its decoder) on a '=' inside such a value, where later versions return an error.
bool is_base64url(std::string_view text) noexcept { return text.empty() || text::made_of(text, "-_"); }

/// The JWK members cjose decodes as base64url (RFC 7518 section 6).
constexpr std::array<std::string_view, 11> base64url_members{"n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y", "k"};

std::string cjose_reason(const cjose_err &err) {
  return err.message != nullptr ? std::string{err.message} : std::string{"unknown cjose error"};
}

}  // namespace

/// One key of a set: what picks it and what it may verify.
struct key_set::key {
  std::string kid;
  std::optional<std::string> alg;  ///< the key's own `alg`: a token must use that one
  cjose_jwk_kty_t type = CJOSE_JWK_KTY_RSA;
  std::size_t bits = 0;
  std::optional<jwk_handle> jwk;        ///< null when unusable
  std::optional<std::string> unusable;  ///< why it cannot verify anything
};

bool is_signature_algorithm(std::string_view alg) noexcept {
  return std::find(signature_algorithms.begin(), signature_algorithms.end(), alg) != signature_algorithms.end();
}

bool is_hmac_algorithm(std::string_view alg) noexcept { return alg.starts_with("HS") && is_signature_algorithm(alg); }

key_set::~key_set() = default;
key_set::key_set(key_set &&) noexcept = default;
key_set &key_set::operator=(key_set &&) noexcept = default;

std::variant<key_set, std::string> key_set::parse_jwks(std::string_view jwks,
                                                       const std::vector<std::string> &algorithms) {
  boost::system::error_code ec;
  const json::value document = json::parse(jwks, ec);
  if (ec) return "the JWKS is not JSON: " + ec.message();
  const json::object *root = document.if_object();
  const json::value *keys = root != nullptr ? root->if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) return std::string{"the JWKS has no \"keys\" array"};
  key_set set;
  for (std::size_t i = 0; i < keys->get_array().size(); ++i) {
    const std::string where = "keys[" + std::to_string(i) + "]";
    const json::object *o = keys->get_array()[i].if_object();
    if (o == nullptr) return where + " is not an object";
    key k;
    if (const json::value *kid = o->if_contains("kid")) {
      if (!kid->is_string()) return where + ".kid is not a string";
      k.kid = std::string{kid->get_string()};
    }
    if (const json::value *alg = o->if_contains("alg")) {
      if (!alg->is_string()) return where + ".alg is not a string";
      k.alg = std::string{alg->get_string()};
    }
    for (const std::string_view member : base64url_members)
      if (const json::value *v = o->if_contains(member);
          v != nullptr && v->is_string() && !is_base64url(v->get_string()))
        return where + "." + std::string{member} + " is not base64url (A-Z a-z 0-9 - _, no padding)";
    const std::string text = json::serialize(*o);
    cjose_err err{};
    cjose_jwk_t *imported = cjose_jwk_import(text.c_str(), text.size(), &err);
    if (imported == nullptr) return where + " is not a key cjose can import: " + cjose_reason(err);
    k.jwk.emplace(imported, "cjose_jwk_import");
    k.type = cjose_jwk_get_kty(imported, &err);
    k.bits = cjose_jwk_get_keysize(imported, &err);
    const json::value *use = o->if_contains("use");
    const bool allowed = std::any_of(algorithms.begin(), algorithms.end(), [&k](const std::string &a) {
      return key_type_of(a) == k.type && (!k.alg || *k.alg == a);
    });
    if (use != nullptr && !(use->is_string() && use->get_string() == "sig"))
      k.unusable = "key " + k.kid + " is not for signatures (use is not \"sig\")";
    else if (k.type == CJOSE_JWK_KTY_OCT)
      k.unusable = "key " + k.kid + " is a shared secret: HMAC keys come from auth.jwt.secret_file, never a JWKS";
    else if (k.type == CJOSE_JWK_KTY_RSA && k.bits < min_rsa_bits)
      k.unusable = "key " + k.kid + " is an RSA key of " + std::to_string(k.bits) + " bits, under 2048";
    else if (!allowed)
      k.unusable = "key " + k.kid + " serves no algorithm of auth.jwt.algorithms";
    if (k.unusable) k.jwk.reset();
    set.keys_.push_back(std::move(k));
  }
  return set;
}

std::variant<key_set, std::string> key_set::from_secret(std::string_view secret,
                                                        const std::vector<std::string> &algorithms) {
  if (secret.size() < min_secret_bytes) return std::string{"the HMAC secret must have at least 32 bytes"};
  cjose_err err{};
  cjose_jwk_t *made =
      cjose_jwk_create_oct_spec(reinterpret_cast<const std::uint8_t *>(secret.data()), secret.size(), &err);
  if (made == nullptr) return "cannot make an HMAC key: " + cjose_reason(err);
  key_set set;
  key k;
  k.type = CJOSE_JWK_KTY_OCT;
  k.bits = secret.size() * 8;
  k.jwk.emplace(made, "cjose_jwk_create_oct_spec");
  if (std::none_of(algorithms.begin(), algorithms.end(), [](const std::string &a) { return is_hmac_algorithm(a); }))
    k.unusable = "the secret serves no algorithm of auth.jwt.algorithms";
  set.keys_.push_back(std::move(k));
  return set;
}

const key_set::key *key_set::find(std::optional<std::string_view> kid) const noexcept {
  if (!kid) return keys_.size() == 1 ? &keys_.front() : nullptr;
  const auto found = std::find_if(keys_.begin(), keys_.end(), [&kid](const key &k) { return k.kid == *kid; });
  return found == keys_.end() ? nullptr : &*found;
}

std::size_t key_set::size() const noexcept { return keys_.size(); }

std::size_t key_set::usable() const noexcept {
  return static_cast<std::size_t>(std::count_if(keys_.begin(), keys_.end(), [](const key &k) { return !k.unusable; }));
}

jwt_verifier::jwt_verifier(jwt_rules rules, key_set keys)
    : rules_(std::move(rules)),
      keys_(std::make_shared<const key_set>(std::move(keys))),
      verified_(rules_.cache_entries) {}

void jwt_verifier::replace_keys(key_set keys) {
  auto fresh = std::make_shared<const key_set>(std::move(keys));
  const std::lock_guard lock{mutex_};
  keys_ = std::move(fresh);
}

std::shared_ptr<const key_set> jwt_verifier::keys() const {
  const std::lock_guard lock{mutex_};
  return keys_;
}

std::variant<verified_token, token_refusal> jwt_verifier::verify(std::string_view token, clock::time_point now) const {
  if (token.size() > max_token_bytes) return token_refusal{"the token is longer than 8192 bytes"};
  // Keyed by the token itself: an exact match, and no hashing beyond the map's own (a SHA-256 per
  // request cost more than the rest of the check). At most max_token_bytes per entry.
  const std::string key{token};
  {
    const std::lock_guard lock{mutex_};
    if (const verified_token *known = verified_.find(key)) {
      if (now < known->expires + rules_.leeway) return *known;
      verified_.erase(key);
      return token_refusal{"the token has expired"};
    }
  }
  auto checked = verify_uncached(token, now);
  if (const auto *good = std::get_if<verified_token>(&checked)) {
    const std::lock_guard lock{mutex_};
    verified_.find_or_add(key, [good] { return *good; });
  }
  return checked;
}

namespace {

/// A NumericDate claim (seconds since the epoch) as a time point; nullopt when it is not a number.
std::optional<std::chrono::system_clock::time_point> numeric_date(const json::value &v) {
  double seconds = 0;
  if (v.is_int64())
    seconds = static_cast<double>(v.get_int64());
  else if (v.is_uint64())
    seconds = static_cast<double>(v.get_uint64());
  else if (v.is_double())
    seconds = v.get_double();
  else
    return std::nullopt;
  // Far past or future values (1e300) must not overflow the clock: clamp to ±10 000 years.
  constexpr double limit = 10'000.0 * 366 * 86'400;
  if (!std::isfinite(seconds)) return std::nullopt;
  seconds = std::clamp(seconds, -limit, limit);
  return std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(seconds))};
}

}  // namespace

std::optional<std::string> jwt_verifier::check_claims(const json::object &claims, clock::time_point now) const {
  const json::value *exp = claims.if_contains("exp");
  if (exp == nullptr) return "the token has no exp claim";
  const auto expires = numeric_date(*exp);
  if (!expires) return "exp is not a number";
  if (now >= *expires + rules_.leeway) return "the token has expired";
  for (const char *name : {"nbf", "iat"}) {
    const json::value *v = claims.if_contains(name);
    if (v == nullptr) continue;
    const auto when = numeric_date(*v);
    if (!when) return std::string{name} + " is not a number";
    if (*when > now + rules_.leeway)
      return std::string{name} == "nbf" ? "the token is not valid yet (nbf)"
                                        : "the token was issued in the future (iat)";
  }
  if (!rules_.issuer.empty()) {
    const json::value *iss = claims.if_contains("iss");
    if (iss == nullptr || !iss->is_string() || iss->get_string() != rules_.issuer)
      return "the token's issuer is not " + rules_.issuer;
  }
  if (!rules_.audiences.empty()) {
    const json::value *aud = claims.if_contains("aud");
    const auto named = [this](const json::value &v) {
      return v.is_string() &&
             std::find(rules_.audiences.begin(), rules_.audiences.end(), v.get_string()) != rules_.audiences.end();
    };
    bool ok = aud != nullptr && named(*aud);
    if (aud != nullptr && aud->is_array()) ok = std::any_of(aud->get_array().begin(), aud->get_array().end(), named);
    if (!ok) return std::string{"the token is not for this audience (aud)"};
  }
  if (const json::value *sub = claims.if_contains("sub"); sub != nullptr && !sub->is_string())
    return std::string{"sub is not a string"};
  return std::nullopt;
}

std::variant<verified_token, token_refusal> jwt_verifier::verify_uncached(std::string_view token,
                                                                          clock::time_point now) const {
  if (token.size() > max_token_bytes) return token_refusal{"the token is longer than 8192 bytes"};
  const std::size_t first = token.find('.');
  const std::size_t last = token.rfind('.');
  if (std::count(token.begin(), token.end(), '.') != 2 || !is_base64url(token.substr(0, first)) ||
      !is_base64url(token.substr(first + 1, last - first - 1)) || !is_base64url(token.substr(last + 1)))
    return token_refusal{"the token is not a signed JWT (three base64url parts separated by dots)"};
  cjose_err err{};
  cjose_jws_t *imported = cjose_jws_import(token.data(), token.size(), &err);
  if (imported == nullptr) return token_refusal{"the token does not parse: " + cjose_reason(err)};
  const jws_handle jws{imported, "cjose_jws_import"};
  cjose_header_t *header = cjose_jws_get_protected(jws.get());
  if (header == nullptr) return token_refusal{"the token has no header"};
  const char *alg_text = cjose_header_get(header, CJOSE_HDR_ALG, &err);
  if (alg_text == nullptr) return token_refusal{"the token's header has no alg"};
  const std::string_view alg{alg_text};
  if (alg == "none") return token_refusal{"alg none is never accepted"};
  if (std::find(rules_.algorithms.begin(), rules_.algorithms.end(), alg) == rules_.algorithms.end())
    return token_refusal{"alg " + std::string{alg} + " is not among auth.jwt.algorithms"};
  if (json_object_get(reinterpret_cast<json_t *>(header), "crit") != nullptr)
    return token_refusal{"the token has crit header parameters, which this service does not understand"};
  std::optional<std::string_view> kid;
  if (json_t *k = json_object_get(reinterpret_cast<json_t *>(header), "kid"); k != nullptr) {
    if (!json_is_string(k)) return token_refusal{"kid is not a string"};
    kid = json_string_value(k);
  }
  const std::shared_ptr<const key_set> set = keys();
  const key_set::key *key = set->find(kid);
  if (key == nullptr)
    return token_refusal{kid ? "no key has kid " + std::string{*kid} : std::string{"the token names no kid"}, true};
  if (key->unusable) return token_refusal{*key->unusable};
  if (key->type != key_type_of(alg) || (key->alg && *key->alg != alg) ||
      (key->type == CJOSE_JWK_KTY_EC && key->bits != ec_bits_of(alg)))
    return token_refusal{"key " + key->kid + " is not a key for " + std::string{alg}};
  if (!cjose_jws_verify(jws.get(), key->jwk->get(), &err)) return token_refusal{"the signature does not verify"};
  std::uint8_t *plain = nullptr;
  std::size_t plain_size = 0;
  if (!cjose_jws_get_plaintext(jws.get(), &plain, &plain_size, &err))
    return token_refusal{"the token has no payload: " + cjose_reason(err)};
  boost::system::error_code ec;
  json::value claims = json::parse(std::string_view{reinterpret_cast<const char *>(plain), plain_size}, ec);
  if (ec || !claims.is_object()) return token_refusal{"the token's claims are not a JSON object"};
  if (auto problem = check_claims(claims.get_object(), now)) return token_refusal{std::move(*problem)};
  verified_token verified;
  verified.expires = *numeric_date(claims.get_object().at("exp"));
  if (const json::value *sub = claims.get_object().if_contains("sub")) verified.subject = sub->get_string();
  verified.claims = std::make_shared<const json::value>(std::move(claims));
  return verified;
}

std::string sha256(std::string_view bytes) {
  // OpenSSL 3's EVP_Digest fetches the algorithm and makes a context on every call: here it is
  // fetched once, and each thread keeps one context.
  static const io::unique_handle<EVP_MD, EVP_MD_free> algorithm{EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                                "EVP_MD_fetch(SHA256)"};
  thread_local const io::unique_handle<EVP_MD_CTX, EVP_MD_CTX_free> context{EVP_MD_CTX_new(), "EVP_MD_CTX_new"};
  std::string out(32, '\0');
  unsigned int size = 0;
  if (EVP_DigestInit_ex2(context.get(), algorithm.get(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), reinterpret_cast<unsigned char *>(out.data()), &size) != 1 ||
      size != out.size())
    throw std::runtime_error("SHA-256 failed");
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (const unsigned char c : sha256(bytes)) {
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
}

}  // namespace agg::auth
