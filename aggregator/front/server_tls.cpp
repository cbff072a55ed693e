#include "aggregator/front/server_tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <ctime>
#include <stdexcept>

#include "aggregator/config/tls_files.hpp"

namespace agg::front {

namespace {

/// The protocols ALPN chooses among, in the server's order of preference (RFC 7301's wire form).
constexpr unsigned char alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char alpn_h2_first[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char session_id_context[] = "aggregator";

/// ALPN: h2 when HTTP/2 is on and the client offers it, else HTTP/1.1 when the client offers it; a
/// client that offers only other protocols is not refused an answer here (it gets no ALPN and may
/// try HTTP/1.1 anyway).
int select_protocol(SSL *, const unsigned char **out, unsigned char *out_length, const unsigned char *offered,
                    unsigned int offered_length, void *h2) {
  unsigned char *chosen = nullptr;
  const bool with_h2 = h2 != nullptr;
  if (SSL_select_next_proto(&chosen, out_length, with_h2 ? alpn_h2_first : alpn_http11,
                            with_h2 ? sizeof alpn_h2_first : sizeof alpn_http11, offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

tls_problem problem(std::string key, const std::string &what) {
  return tls_problem{std::move(key), what + ": " + config::openssl_reason()};
}

/// The certificate's notAfter in seconds since the epoch; 0 when it cannot be read.
std::int64_t expiry_of(SSL_CTX *context) {
  const X509 *certificate = SSL_CTX_get0_certificate(context);
  if (certificate == nullptr) return 0;
  std::tm when{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &when) != 1) return 0;
  return static_cast<std::int64_t>(::timegm(&when));
}

}  // namespace

std::variant<ssl_context, tls_problem> make_server_context(const config::server_tls_config &tls, bool offer_h2) {
  ERR_clear_error();
  SSL_CTX *made = SSL_CTX_new(TLS_server_method());
  if (made == nullptr) return problem("cert_file", "OpenSSL could not make a TLS context");
  ssl_context context{made, "SSL_CTX_new"};
  SSL_CTX *ctx = context.get();
  if (SSL_CTX_set_min_proto_version(ctx, tls.min_version) != 1)
    return problem("min_version", "OpenSSL refused the minimum version");
  // No renegotiation (a client could make the server redo handshakes at will); the server's cipher
  // order; no TLS compression (CRIME).
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  // Writes as the socket takes them, retried from wherever the unsent bytes now lie; an idle
  // connection gives its record buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1)
    return problem("cert_file", "no PEM certificate chain in " + tls.cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    if (mismatch) {
      ERR_clear_error();
      return tls_problem{"key_file", tls.key_file + " does not match the certificate in " + tls.cert_file};
    }
    return problem("key_file", "no PEM private key in " + tls.key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    return problem("key_file", tls.key_file + " does not match the certificate in " + tls.cert_file);
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1)
      return problem("client_ca_file", "no CA certificates in " + tls.client_ca_file);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names == nullptr) return problem("client_ca_file", "no CA names in " + tls.client_ca_file);
    SSL_CTX_set_client_CA_list(ctx, names);  // the context owns the list now
    // Asked for, not demanded: a route says whether it needs one. One presented must verify.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  // Resumption: tickets (OpenSSL's default) and the server's session cache, within this context.
  if (SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof session_id_context - 1) != 1)
    return problem("cert_file", "OpenSSL refused the session id context");
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  // The callback's argument only says whether h2 is offered (any non-null pointer).
  SSL_CTX_set_alpn_select_cb(ctx, select_protocol, offer_h2 ? const_cast<unsigned char *>(alpn_h2_first) : nullptr);
  return context;
}

namespace {

/// make_server_context's context, or a throw that says why not.
ssl_context context_or_throw(const config::server_tls_config &settings, bool offer_h2) {
  auto made = make_server_context(settings, offer_h2);
  if (auto *why = std::get_if<tls_problem>(&made))
    throw std::runtime_error("server.tls." + why->key + ": " + why->reason);
  return std::get<ssl_context>(std::move(made));
}

}  // namespace

server_tls::server_tls(const config::server_tls_config &settings, bool offer_h2)
    : settings_(settings), offer_h2_(offer_h2), context_(context_or_throw(settings, offer_h2)) {
  not_after_.store(expiry_of(context_.get()), std::memory_order_relaxed);
}

ssl_session server_tls::new_session(int fd) const {
  SSL *made = nullptr;
  {
    const std::lock_guard lock{mutex_};
    made = SSL_new(context_.get());  // holds a reference to the context: a reload does not pull it away
  }
  ssl_session session{made, "SSL_new"};
  if (SSL_set_fd(session.get(), fd) != 1) throw std::runtime_error("SSL_set_fd failed: " + config::openssl_reason());
  SSL_set_accept_state(session.get());
  return session;
}

std::optional<std::string> server_tls::reload() {
  auto made = make_server_context(settings_, offer_h2_);
  if (auto *why = std::get_if<tls_problem>(&made)) return "server.tls." + why->key + ": " + why->reason;
  ssl_context fresh = std::get<ssl_context>(std::move(made));
  not_after_.store(expiry_of(fresh.get()), std::memory_order_relaxed);
  const std::lock_guard lock{mutex_};
  context_ = std::move(fresh);  // the old one goes when its last connection does
  return std::nullopt;
}

void server_tls::count(outcome what) noexcept {
  switch (what) {
    case outcome::full: full_.fetch_add(1, std::memory_order_relaxed); break;
    case outcome::resumed: resumed_.fetch_add(1, std::memory_order_relaxed); break;
    case outcome::failed: failed_.fetch_add(1, std::memory_order_relaxed); break;
    case outcome::timed_out: timed_out_.fetch_add(1, std::memory_order_relaxed); break;
  }
}

handshake_counts server_tls::counts() const noexcept {
  return {full_.load(std::memory_order_relaxed), resumed_.load(std::memory_order_relaxed),
          failed_.load(std::memory_order_relaxed), timed_out_.load(std::memory_order_relaxed)};
}

std::string verified_peer_subject(SSL *ssl) {
  const X509 *certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  const io::unique_handle<BIO, BIO_free> out{BIO_new(BIO_s_mem()), "BIO_new"};
  if (X509_NAME_print_ex(out.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) < 0) return {};
  char *text = nullptr;
  const long length = BIO_get_mem_data(out.get(), &text);
  return length > 0 ? std::string{text, static_cast<std::size_t>(length)} : std::string{};
}

}  // namespace agg::front
