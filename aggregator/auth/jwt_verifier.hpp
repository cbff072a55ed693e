#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aggregator/runtime/lru_map.hpp"

struct cjose_jwk_int;

namespace agg::auth {

/// The JOSE algorithms a token may be signed with (RFC 7518 names); `none` is never one of them.
bool is_signature_algorithm(std::string_view alg) noexcept;
/// HS256, HS384, HS512: a shared secret, never beside public keys.
bool is_hmac_algorithm(std::string_view alg) noexcept;

/// The keys tokens are verified with, chosen by `kid`: a JWKS (RFC 7517) read with cjose, or one
/// HMAC secret. A key that cannot serve (an RSA key under 2048 bits, a key for encryption, an
/// algorithm not allowed) stays in the set with the reason, so a token naming it hears why.
/// Immutable; shared by the verifier and the tokens being checked while a refresh replaces it.
class key_set {
 public:
  struct key;
  ~key_set();
  key_set(key_set &&) noexcept;
  key_set &operator=(key_set &&) noexcept;

  /// The keys of a JWKS document for tokens signed with `algorithms`, or why the document is not
  /// one (not JSON, no `keys` array, a key cjose cannot import).
  static std::variant<key_set, std::string> parse_jwks(std::string_view jwks,
                                                       const std::vector<std::string> &algorithms);
  /// One HMAC key (at least 32 bytes: HS256's own size) for the HS* `algorithms`.
  static std::variant<key_set, std::string> from_secret(std::string_view secret,
                                                        const std::vector<std::string> &algorithms);

  /// The key `kid` names; no kid: the only key, if there is one. Null when none matches.
  [[nodiscard]] const key *find(std::optional<std::string_view> kid) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept;
  /// How many keys can verify a token (the others say why they cannot).
  [[nodiscard]] std::size_t usable() const noexcept;

 private:
  key_set() = default;
  std::vector<key> keys_;
  friend class jwt_verifier;
};

/// What the verifier checks beyond the signature (the config's `auth.jwt`).
struct jwt_rules {
  std::string issuer;                  ///< `iss` must equal it (empty: any)
  std::vector<std::string> audiences;  ///< `aud` must name one of them (none: any)
  std::vector<std::string> algorithms{"RS256", "ES256"};
  std::chrono::seconds leeway{30};  ///< clock skew allowed on exp, nbf and iat
  std::size_t cache_entries = 10'000;
};

/// A token that verified: its claims set, its subject, and when it stops being valid.
struct verified_token {
  std::shared_ptr<const boost::json::value> claims;  ///< an object
  std::string subject;                               ///< `sub`, empty when it has none
  std::chrono::system_clock::time_point expires;
};

/// Why a token is refused: the RFC 6750 error (`invalid_token`) is implied, this says what was wrong.
struct token_refusal {
  std::string reason;
  bool unknown_key = false;  ///< its kid names no key: a newer key set might
};

/// Checks JWS compact tokens (RFC 7519) against a key set: size and shape, the header (`alg` in the
/// allow-list, never `none`, no `crit`, a `kid` naming a key of the algorithm's type), the signature
/// (cjose), then the claims: `exp` required, `nbf` and `iat` not in the future, `iss` and `aud` as the
/// rules say, each within the leeway. Tokens that verified are remembered until they expire (an LRU
/// of `cache_entries`, keyed by the token's text: an exact match): the signature is checked once
/// per token, not per request.
/// Thread-safe; the keys may be replaced while tokens are checked.
class jwt_verifier {
 public:
  using clock = std::chrono::system_clock;
  static constexpr std::size_t max_token_bytes = 8192;

  jwt_verifier(jwt_rules rules, key_set keys);

  [[nodiscard]] std::variant<verified_token, token_refusal> verify(std::string_view token,
                                                                   clock::time_point now = clock::now()) const;
  /// Verifies with the keys alone, skipping and filling nothing of the cache (what the cache saves).
  [[nodiscard]] std::variant<verified_token, token_refusal> verify_uncached(std::string_view token,
                                                                            clock::time_point now) const;
  /// From now on tokens are checked with `keys`; the tokens the cache remembers stay valid (their
  /// signatures were checked) until they expire.
  void replace_keys(key_set keys);
  [[nodiscard]] std::shared_ptr<const key_set> keys() const;
  [[nodiscard]] const jwt_rules &rules() const noexcept { return rules_; }

 private:
  [[nodiscard]] std::optional<std::string> check_claims(const boost::json::object &claims, clock::time_point now) const;

  jwt_rules rules_;
  mutable std::mutex mutex_;  // guards keys_ and verified_
  std::shared_ptr<const key_set> keys_;
  mutable runtime::lru_map<std::string, verified_token> verified_;
};

/// The SHA-256 of `bytes` (OpenSSL), as 32 raw bytes or 64 lowercase hex digits.
std::string sha256(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);

}  // namespace agg::auth
