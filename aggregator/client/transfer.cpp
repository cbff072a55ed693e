#include "aggregator/client/transfer.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>

#include "aggregator/text/character_rules.hpp"

namespace agg::client {

namespace {

using clock = std::chrono::steady_clock;

std::atomic<std::uint64_t> connections_opened{0};
std::atomic<std::uint64_t> connections_reused{0};

/// The time the transfer may take: its own timeout, or less when the deadline comes first.
std::chrono::milliseconds time_allowed(const calls::upstream_call &call, clock::time_point now, bool &by_deadline) {
  by_deadline = false;
  if (call.deadline == clock::time_point::max()) return call.timeout;
  const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(call.deadline - now);
  by_deadline = remaining <= call.timeout;  // a tie: the deadline (the request's limit) decides
  return by_deadline ? remaining : call.timeout;
}

/// The User-Agent and Accept-Encoding lines, written once. Set through CURLOPT_USERAGENT and
/// CURLOPT_ACCEPT_ENCODING alone, curl formats each anew for every transfer (an aprintf, then the
/// request's own printf: 3 % of the instructions per aggregation, byte by byte); given among the
/// call's header lines, it copies them into the request once. CURLOPT_ACCEPT_ENCODING stays set
/// (to ""), which is what makes curl decode the answer, and sees the line there.
constexpr std::string_view user_agent_line = "User-Agent: aggregator/0.1";

/// What curl writes for CURLOPT_ACCEPT_ENCODING "": every coding this libcurl decodes, its order.
const std::string &accept_encoding_line() {
  static const std::string line = [] {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    std::string codings;
    const auto add = [&codings](std::string_view coding) { (codings += codings.empty() ? "" : ", ") += coding; };
    if ((info->features & CURL_VERSION_LIBZ) != 0) {
      add("deflate");
      add("gzip");
    }
    if ((info->features & CURL_VERSION_BROTLI) != 0) add("br");
    if ((info->features & CURL_VERSION_ZSTD) != 0) add("zstd");
    return codings.empty() ? std::string{} : "Accept-Encoding: " + codings;
  }();
  return line;
}

/// True when `line` is a `name` header.
bool names(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line[name.size()] == ':' &&
         text::equal_ignoring_case(line.substr(0, name.size()), name);
}

}  // namespace

void transfer::link_header_lines(const calls::upstream_call &call, bool compression) {
  // curl reads these nodes and never writes through them, nor frees them (the call's strings and
  // the lines above outlive the transfer).
  const auto node = [](std::string_view line) { return curl_slist{const_cast<char *>(line.data()), nullptr}; };
  header_nodes_.reserve(call.headers.size() + 2);
  bool own_agent = false;
  bool own_encoding = false;  // a call's own line of either name wins
  for (const std::string &line : call.headers) {
    header_nodes_.push_back(node(line));
    own_agent = own_agent || names(line, "User-Agent");
    own_encoding = own_encoding || names(line, "Accept-Encoding");
  }
  if (!own_agent) header_nodes_.push_back(node(user_agent_line));
  if (compression && !own_encoding && !accept_encoding_line().empty())
    header_nodes_.push_back(node(accept_encoding_line()));
  for (std::size_t i = 0; i + 1 < header_nodes_.size(); ++i) header_nodes_[i].next = &header_nodes_[i + 1];
}

transfer::transfer(easy_handle &easy, const calls::upstream_call &call, const client_options &options, CURLU *origin,
                   std::size_t receive_buffer)
    : easy_(easy),
      max_body_bytes_(call.max_body_bytes),
      wants_cache_control_(call.wants_cache_control),
      return_headers_(call.return_headers),
      budget_(call.budget) {
  const auto allowed = time_allowed(call, started_, limited_by_deadline_);
  if (allowed.count() <= 0) {
    expired_ = true;
    return;
  }
  if (budget_ && budget_->spent()) {
    budget_spent_ = true;
    return;
  }
  // Every option a call may change is set on every call (new_handle() set the rest once), so a pooled
  // handle never carries anything over from its previous call and needs no curl_easy_reset.
  // A pre-parsed call goes as its origin, parsed once per loop, and its request target as it is
  // (CURLOPT_REQUEST_TARGET, copied into the request with one memcpy). Given the whole URL, curl
  // printed the query into the request byte by byte, and again into a path for its auth code:
  // with the URL's own parse and copy, 6 % of the instructions per aggregation.
  const char *target = nullptr;
  if (origin != nullptr && call.origin_length != 0) {
    target = call.url.c_str() + call.origin_length;
    if (*target != '/') target = (target_text_ = "/" + std::string{target}).c_str();  // "" or "?query"
  }
  easy_.set(CURLOPT_REQUEST_TARGET, target);
  // The URL string too: curl keeps it for messages, and with it set does not rebuild one from the
  // parsed form.
  easy_.set(CURLOPT_URL, call.url.c_str());
  easy_.set(CURLOPT_CURLU, target != nullptr ? origin : nullptr);
  easy_.set(CURLOPT_TIMEOUT_MS, static_cast<long>(allowed.count()));
  easy_.set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  easy_.set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(call.max_body_bytes));
  easy_.set(CURLOPT_WRITEDATA, static_cast<void *>(this));
  easy_.set(CURLOPT_ERRORBUFFER, curl_message_.data());
  easy_.set(CURLOPT_NOPROGRESS, 1L);
  // curl allocates the buffer as the transfer starts and frees it at its end, and takes a new size
  // only in between: every transfer of a pooled handle gets its own. A handle whose transfer was
  // removed before it reached a connection still holds its buffer: curl refuses a new size
  // (CURLE_BAD_FUNCTION_ARGUMENT), and this transfer reads into that one.
  const long buffer = static_cast<long>(receive_buffer != 0 ? receive_buffer : options.receive_buffer_bytes);
  if (const CURLcode rc = curl_easy_setopt(easy_.get(), CURLOPT_BUFFERSIZE, buffer);
      rc != CURLE_OK && rc != CURLE_BAD_FUNCTION_ARGUMENT)
    throw curl_error("curl_easy_setopt(CURLOPT_BUFFERSIZE)", rc);
  set_method(call);
  over_tls_ = call.url.starts_with("https:");
  bool compression = true;
  if (options.customised()) compression = set_origin_options(call, options);
  link_header_lines(call, compression);
  easy_.set(CURLOPT_HTTPHEADER, header_nodes_.empty() ? nullptr : header_nodes_.data());
}

namespace {

/// The CA file curl uses when told none (the system store Debian's libcurl was built with).
const char *default_ca_file() {
  static const std::string file = [] {
    easy_handle probe;
    char *path = nullptr;
    return curl_easy_getinfo(probe.get(), CURLINFO_CAINFO, &path) == CURLE_OK && path != nullptr ? std::string{path}
                                                                                                 : std::string{};
  }();
  return file.empty() ? nullptr : file.c_str();
}

}  // namespace

bool transfer::set_origin_options(const calls::upstream_call &call, const client_options &options) {
  static const origin_options defaults;
  const origin_options *own = options.options_of(call.origin());
  const origin_options &origin = own != nullptr ? *own : defaults;
  // HTTP/2 over TLS is agreed by ALPN (HTTP/1.1 when the server offers no h2); without TLS only by
  // prior knowledge, which the config allows only where libcurl does it right.
  long version = CURL_HTTP_VERSION_1_1;
  if (origin.http == http_version::v2)
    version = over_tls_ ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  if (origin.http == http_version::automatic) version = CURL_HTTP_VERSION_2TLS;
  multiplexed_ = version != CURL_HTTP_VERSION_1_1 && (over_tls_ || origin.http == http_version::v2);
  if (multiplexed_) origin_hash_ = std::hash<std::string_view>{}(call.origin());
  easy_.set(CURLOPT_HTTP_VERSION, version);
  // Parallel calls wait for the connection being made and share it, rather than each opening one.
  easy_.set(CURLOPT_PIPEWAIT, multiplexed_ ? 1L : 0L);
  easy_.set(CURLOPT_ACCEPT_ENCODING, origin.compression ? "" : nullptr);
  if (over_tls_) set_tls(call, options, origin.tls);
  return origin.compression;
}

void transfer::set_tls(const calls::upstream_call &call, const client_options &options, const tls_options &tls) {
  const std::string &ca = !tls.ca_file.empty() ? tls.ca_file : options.ca_file;
  easy_.set(CURLOPT_CAINFO, ca.empty() ? default_ca_file() : ca.c_str());
  easy_.set(CURLOPT_SSLCERT, tls.cert_file.empty() ? nullptr : tls.cert_file.c_str());
  easy_.set(CURLOPT_SSLKEY, tls.key_file.empty() ? nullptr : tls.key_file.c_str());
  easy_.set(CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  easy_.set(CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  if (tls.server_name.empty()) return;
  // curl asks for and verifies the URL's host: the URL names `server_name`, and CONNECT_TO sends
  // the connection where the route's URL points.
  boost::urls::url url{boost::urls::parse_uri(call.url).value()};
  const std::string host{url.encoded_host()};
  const std::string port = url.has_port() ? std::string{url.port()} : "443";
  url.set_host(tls.server_name);
  url_text_ = std::string{url.buffer()};
  connect_to_.append(tls.server_name + ":" + port + ":" + host + ":" + port);
  easy_.set(CURLOPT_URL, url_text_.c_str());
  easy_.set(CURLOPT_CURLU, static_cast<CURLU *>(nullptr));
  easy_.set(CURLOPT_CONNECT_TO, connect_to_.get());
}

void transfer::set_method(const calls::upstream_call &call) {
  // A GET resets what an earlier call on this pooled handle may have set; another method is named.
  if (call.body) {
    easy_.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body->size()));
    easy_.set(CURLOPT_POSTFIELDS, call.body->data());
  } else {
    easy_.set(CURLOPT_HTTPGET, 1L);
  }
  easy_.set(CURLOPT_CUSTOMREQUEST,
            call.method == "GET" || (call.body && call.method == "POST") ? nullptr : std::string{call.method}.c_str());
}

std::size_t transfer::on_body(char *data, std::size_t size, std::size_t count, void *self) noexcept {
  auto &t = *static_cast<transfer *>(self);
  const std::size_t bytes = size * count;
  if (t.body_.size() + bytes > t.max_body_bytes_) {
    t.body_too_large_ = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  if (t.budget_ && !t.budget_->take(bytes)) {
    t.body_too_large_ = t.budget_spent_ = true;
    return 0;
  }
  try {
    t.body_.append(data, bytes);
  } catch (...) {
    return 0;
  }
  return bytes;
}

easy_handle transfer::new_handle() {
  easy_handle easy;
  easy.set(CURLOPT_PROTOCOLS_STR, "http,https");
  easy.set(CURLOPT_HTTP_VERSION, long{CURL_HTTP_VERSION_1_1});  // h2c reuse is broken in 7.88
  easy.set(CURLOPT_NOSIGNAL, 1L);
  easy.set(CURLOPT_TCP_NODELAY, 1L);
  easy.set(CURLOPT_WRITEFUNCTION, &transfer::on_body);
  // Every encoding this libcurl decodes is asked for ("": gzip, br, zstd, deflate in Debian 12's);
  // the body callback sees the decoded bytes, so max_body_bytes and the route's budget count those,
  // and a small body that decodes huge (a decompression bomb) ends too_large as it grows.
  easy.set(CURLOPT_ACCEPT_ENCODING, "");
  easy.set(CURLOPT_XFERINFOFUNCTION, &transfer::on_progress);
  // Upstreams are called directly: no proxy, so curl skips its proxy environment look-ups (they
  // were 1.6 % of the aggregator's instructions per transfer).
  easy.set(CURLOPT_PROXY, "");
  easy.set(CURLOPT_NOPROXY, "");  // else curl reads no_proxy and NO_PROXY from the environment per transfer
  return easy;
}

transfer::~transfer() {
  // The handle outlives the transfer in a pool: leave it no pointer into this object.
  if (curl_easy_setopt(easy_.get(), CURLOPT_HTTPHEADER, nullptr) != CURLE_OK ||
      curl_easy_setopt(easy_.get(), CURLOPT_CURLU, nullptr) != CURLE_OK ||
      curl_easy_setopt(easy_.get(), CURLOPT_ERRORBUFFER, nullptr) != CURLE_OK ||
      curl_easy_setopt(easy_.get(), CURLOPT_WRITEDATA, nullptr) != CURLE_OK ||
      curl_easy_setopt(easy_.get(), CURLOPT_POSTFIELDS, nullptr) != CURLE_OK ||
      (connect_to_.get() != nullptr && curl_easy_setopt(easy_.get(), CURLOPT_CONNECT_TO, nullptr) != CURLE_OK))
    std::fputs("transfer: clearing the easy handle's pointers failed\n", stderr);
}

void transfer::abort_on(const std::stop_token &stop) {
  if (!stop.stop_possible()) return;
  abort_on_ = &stop;
  easy_.set(CURLOPT_XFERINFODATA, static_cast<void *>(this));
  easy_.set(CURLOPT_NOPROGRESS, 0L);
}

int transfer::on_progress(void *self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
  const auto &t = *static_cast<transfer *>(self);
  return t.abort_on_->stop_requested() ? 1 : 0;  // non-zero aborts with CURLE_ABORTED_BY_CALLBACK
}

namespace {

/// True when curl's message for a failed send or receive is a TLS alert from the server: with TLS
/// 1.3 a server refuses a client certificate (or its absence) after the handshake, on the first
/// read ("... SSL routines::tlsv13 alert certificate required"). A reset or an early close over TLS
/// ("SSL_read: Connection reset by peer") stays a transport failure.
bool tls_alert(const char *message) noexcept { return std::strstr(message, " alert ") != nullptr; }

/// Why a transfer that ended with `result` brought no HTTP response; ok when one arrived.
calls::outcome_kind classify(CURLcode result, bool body_too_large, bool over_tls, const char *message) noexcept {
  switch (result) {
    case CURLE_OK: return calls::outcome_kind::ok;
    case CURLE_OPERATION_TIMEDOUT: return calls::outcome_kind::timeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return calls::outcome_kind::connect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT: return calls::outcome_kind::tls;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      return over_tls && tls_alert(message) ? calls::outcome_kind::tls : calls::outcome_kind::transport;
    case CURLE_FILESIZE_EXCEEDED: return calls::outcome_kind::too_large;
    case CURLE_WRITE_ERROR: return body_too_large ? calls::outcome_kind::too_large : calls::outcome_kind::transport;
    case CURLE_ABORTED_BY_CALLBACK: return calls::outcome_kind::cancelled;
    default: return calls::outcome_kind::transport;
  }
}

}  // namespace

connection_counts connections_so_far() noexcept {
  return {connections_opened.load(std::memory_order_relaxed), connections_reused.load(std::memory_order_relaxed)};
}

calls::upstream_reply transfer::finish(CURLcode result) {
  calls::upstream_reply reply;
  reply.started = started_;
  reply.finished = std::chrono::steady_clock::now();
  reply.kind = classify(result, body_too_large_, over_tls_, curl_message_.data());
  if (curl_easy_getinfo(easy_.get(), CURLINFO_NUM_CONNECTS, &reply.connects) != CURLE_OK) reply.connects = 0;
  if (reply.connects > 0)
    connections_opened.fetch_add(static_cast<std::uint64_t>(reply.connects), std::memory_order_relaxed);
  else if (result == CURLE_OK)
    connections_reused.fetch_add(1, std::memory_order_relaxed);
  if (reply.kind == calls::outcome_kind::ok) {
    long status = 0;
    if (const CURLcode rc = curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status); rc != CURLE_OK)
      throw curl_error("curl_easy_getinfo(CURLINFO_RESPONSE_CODE)", rc);
    calls::set_response_status(reply, status);
    reply.body = std::move(body_);
    curl_off_t received = 0;
    if (curl_easy_getinfo(easy_.get(), CURLINFO_SIZE_DOWNLOAD_T, &received) == CURLE_OK && received > 0)
      reply.wire_bytes = static_cast<std::size_t>(received);
    if (reply.status == 429 || reply.status == 503) {
      // curl reads Retry-After in both forms (seconds, or an HTTP date) into seconds from now.
      curl_off_t seconds = 0;
      if (curl_easy_getinfo(easy_.get(), CURLINFO_RETRY_AFTER, &seconds) == CURLE_OK && seconds > 0)
        reply.retry_after = reply.finished + std::chrono::seconds{seconds};
    }
    curl_header *cache_control = nullptr;
    if (wants_cache_control_ &&
        curl_easy_header(easy_.get(), "Cache-Control", 0, CURLH_HEADER, -1, &cache_control) == CURLHE_OK)
      reply.cache_control = cache_control->value;
    if (return_headers_ != nullptr) {
      for (const auto &name : *return_headers_) {
        curl_header *found = nullptr;
        if (curl_easy_header(easy_.get(), name.c_str(), 0, CURLH_HEADER, -1, &found) == CURLHE_OK)
          reply.headers.emplace_back(name, found->value);
      }
    }
  } else {
    reply.error_detail = curl_message_[0] != '\0' ? std::string{curl_message_.data()} : curl_easy_strerror(result);
    if (reply.kind == calls::outcome_kind::too_large)
      reply.error_detail =
          budget_spent_ ? budget_->spent_detail() : "body larger than " + std::to_string(max_body_bytes_) + " bytes";
    if (reply.kind == calls::outcome_kind::cancelled) reply.error_detail = calls::cancelled_by_request;
    if (reply.kind == calls::outcome_kind::timeout && limited_by_deadline_) {
      reply.deadline_passed = true;
      reply.error_detail = "the aggregation's deadline passed before the upstream answered";
    }
  }
  return reply;
}

std::size_t transfer::answer_bytes() const noexcept {
  long head = 0;
  curl_off_t body = 0;
  if (curl_easy_getinfo(easy_.get(), CURLINFO_HEADER_SIZE, &head) != CURLE_OK || head < 0) head = 0;
  if (curl_easy_getinfo(easy_.get(), CURLINFO_SIZE_DOWNLOAD_T, &body) != CURLE_OK || body < 0) body = 0;
  return static_cast<std::size_t>(head) + static_cast<std::size_t>(body);
}

calls::upstream_reply transfer::skipped_reply() const {
  if (budget_spent_) return calls::failed_reply(calls::outcome_kind::too_large, budget_->spent_detail(), started_);
  calls::upstream_reply reply = calls::failed_reply(
      calls::outcome_kind::timeout, "the aggregation's deadline passed before the call started", started_);
  reply.deadline_passed = true;
  return reply;
}

calls::upstream_reply transfer::cancelled(std::string_view detail) const {
  return calls::failed_reply(calls::outcome_kind::cancelled, detail, started_);
}

}  // namespace agg::client
