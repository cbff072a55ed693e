#pragma once

// Test fixtures for JWTs: keys made with cjose, their JWKS, and tokens signed with them (or built
// by hand, for the malformed kinds no signer would make).

#include <cjose/cjose.h>
#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "aggregator/io/unique_handle.hpp"

namespace agg::testing {

inline void release_header(cjose_header_t *h) { cjose_header_release(h); }
inline void release_signed(cjose_jws_t *j) { cjose_jws_release(j); }
using jwk_ptr = io::unique_handle<cjose_jwk_t, cjose_jwk_release>;

/// A signing key and what names it.
struct signing_key {
  std::shared_ptr<jwk_ptr> jwk;
  std::string kid;
  std::string alg;
};

inline signing_key make_key(const std::string &kid, const std::string &alg, std::size_t rsa_bits = 2048) {
  static const std::uint8_t exponent[] = {0x01, 0x00, 0x01};
  cjose_err err{};
  cjose_jwk_t *made = alg.starts_with("ES") ? cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err)
                                            : cjose_jwk_create_RSA_random(rsa_bits, exponent, 3, &err);
  auto jwk = std::make_shared<jwk_ptr>(made, "cjose_jwk_create");
  if (!cjose_jwk_set_kid(jwk->get(), kid.data(), kid.size(), &err)) throw std::runtime_error("cjose_jwk_set_kid");
  return {std::move(jwk), kid, alg};
}

inline signing_key make_secret(const std::string &secret, const std::string &alg = "HS256") {
  cjose_err err{};
  auto jwk = std::make_shared<jwk_ptr>(
      cjose_jwk_create_oct_spec(reinterpret_cast<const std::uint8_t *>(secret.data()), secret.size(), &err),
      "cjose_jwk_create_oct_spec");
  return {std::move(jwk), "", alg};
}

/// The public JWK of `key` (as a JWKS member), with `extra` members added.
inline boost::json::object public_jwk(const signing_key &key, const boost::json::object &extra = {}) {
  cjose_err err{};
  char *text = cjose_jwk_to_json(key.jwk->get(), false, &err);
  if (text == nullptr) throw std::runtime_error("cjose_jwk_to_json");
  boost::json::object o = boost::json::parse(text).as_object();
  cjose_get_dealloc()(text);
  for (const auto &kv : extra) o[kv.key()] = kv.value();
  return o;
}

inline std::string jwks_of(const std::vector<boost::json::object> &keys) {
  boost::json::array a;
  for (const auto &k : keys) a.push_back(k);
  return boost::json::serialize(boost::json::object{{"keys", a}});
}

/// Claims valid for an hour from now, for `sub`, with `extra` added.
inline boost::json::object claims_for(const std::string &sub, const boost::json::object &extra = {}) {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  boost::json::object c{
      {"sub", sub}, {"iat", now}, {"exp", now + 3600}, {"iss", "https://issuer.test"}, {"aud", "aggregator"}};
  for (const auto &kv : extra) c[kv.key()] = kv.value();
  return c;
}

/// A token signed with `key` (cjose), its header `alg`, `kid` and `extra` members.
inline std::string mint(const signing_key &key, const boost::json::object &claims,
                        const boost::json::object &extra_header = {}) {
  cjose_err err{};
  const io::unique_handle<cjose_header_t, release_header> header{cjose_header_new(&err), "cjose_header_new"};
  cjose_header_set(header.get(), CJOSE_HDR_ALG, key.alg.c_str(), &err);
  if (!key.kid.empty()) cjose_header_set(header.get(), CJOSE_HDR_KID, key.kid.c_str(), &err);
  for (const auto &kv : extra_header) {
    const std::string raw = boost::json::serialize(kv.value());
    cjose_header_set_raw(header.get(), std::string{kv.key()}.c_str(), raw.c_str(), &err);
  }
  const std::string payload = boost::json::serialize(claims);
  const io::unique_handle<cjose_jws_t, release_signed> jws{
      cjose_jws_sign(key.jwk->get(), header.get(), reinterpret_cast<const std::uint8_t *>(payload.data()),
                     payload.size(), &err),
      "cjose_jws_sign"};
  const char *compact = nullptr;
  if (!cjose_jws_export(jws.get(), &compact, &err)) throw std::runtime_error("cjose_jws_export");
  return compact;
}

inline std::string base64url(std::string_view bytes) {
  cjose_err err{};
  char *out = nullptr;
  std::size_t size = 0;
  if (!cjose_base64url_encode(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size(), &out, &size, &err))
    throw std::runtime_error("cjose_base64url_encode");
  std::string text{out, size};
  cjose_get_dealloc()(out);
  return text;
}

/// A token assembled by hand from header and payload texts, with `signature` (already base64url).
inline std::string assemble(std::string_view header, std::string_view payload, std::string_view signature = "c2ln") {
  return base64url(header) + "." + base64url(payload) + "." + std::string{signature};
}

}  // namespace agg::testing
