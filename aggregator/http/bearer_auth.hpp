#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agg::http {

/// True when `given` equals `expected`, in a time that depends only on their lengths: a wrong
/// token's running time says nothing about how much of it was right.
bool same_secret(std::string_view given, std::string_view expected) noexcept;

/// True when `given` is one of `expected`, checking every one (same_secret, no early exit).
bool same_as_any(std::string_view given, const std::vector<std::string> &expected) noexcept;

/// The credential after `scheme` in an Authorization value (`Bearer abc` -> `abc`; the scheme is
/// case-insensitive, RFC 7235); nullopt when the value uses another scheme or carries nothing.
std::optional<std::string_view> credential_after(std::string_view authorization, std::string_view scheme) noexcept;

/// A bearer-token check (RFC 6750, `Authorization: Bearer <token>`) in front of some endpoints,
/// whichever server asks it. Thread-safe (immutable).
class bearer_auth {
 public:
  /// `tokens`: each one grants access; none: every request passes. `realm` names what is protected.
  bearer_auth(std::vector<std::string> tokens, std::string realm);

  /// True when no token is configured, i.e. every request passes.
  [[nodiscard]] bool open() const noexcept { return tokens_.empty(); }

  /// A request that may not pass: the status (401 without a bearer token, 403 with a wrong one),
  /// the JSON error body, and for a 401 the `WWW-Authenticate` value to send.
  struct refusal {
    int status;
    std::string body;
    std::optional<std::string> challenge;
  };
  /// Nullopt when a request with this `Authorization` header (none: nullopt) may pass.
  [[nodiscard]] std::optional<refusal> check(std::optional<std::string_view> authorization) const;

 private:
  std::vector<std::string> tokens_;
  std::string challenge_;
};

}  // namespace agg::http
