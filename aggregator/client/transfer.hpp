#pragma once

#include <curl/curl.h>

#include <boost/container/small_vector.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/client/client_options.hpp"
#include "aggregator/client/curl_handles.hpp"

namespace agg::client {

/// Connections the process's upstream transfers opened, and transfers that reused one, since it
/// started (both paths: loops and the blocking one). Any thread.
struct connection_counts {
  std::uint64_t opened = 0;
  std::uint64_t reused = 0;
};
connection_counts connections_so_far() noexcept;

/// One call bound to an easy handle: the only place where request options are set, so the async
/// and the sync path send exactly the same request. Pinned in memory (curl holds `this` for the
/// body callback); the handle and the call are borrowed and must outlive the transfer (curl reads
/// the call's header lines in place).
class transfer {
 public:
  /// `easy` must come from new_handle(). With `origin` (the call's scheme, host and port, parsed
  /// once), curl gets that and the call's request target as it is, and neither parses the URL
  /// string nor prints its query. `receive_buffer` (0: client.receive_buffer_bytes) is the size of
  /// the buffer curl reads the answer into.
  transfer(easy_handle &easy, const calls::upstream_call &call, const client_options &options, CURLU *origin = nullptr,
           std::size_t receive_buffer = 0);
  transfer(const transfer &) = delete;
  transfer &operator=(const transfer &) = delete;
  ~transfer();

  /// A handle with the options every call shares already set: once per handle, not once per call.
  static easy_handle new_handle();

  [[nodiscard]] easy_handle &easy() const noexcept { return easy_; }
  /// True when the call is to share a connection with its origin's other calls (HTTP/2): a loop
  /// puts all of them in one multi handle, the one `origin_hash()` picks.
  [[nodiscard]] bool multiplexed() const noexcept { return multiplexed_; }
  [[nodiscard]] std::size_t origin_hash() const noexcept { return origin_hash_; }
  /// True when the call is not to be sent: its deadline had passed before it could start, or its
  /// aggregation's responses had reached their limit. Run nothing; take skipped_reply().
  [[nodiscard]] bool skipped() const noexcept { return expired_ || budget_spent_; }
  /// The reply of a call that skipped() says is not sent.
  calls::upstream_reply skipped_reply() const;
  /// Makes curl abort the transfer, within about a second, once `stop` is requested: for the
  /// blocking path, where no loop can remove the handle. The token must outlive the transfer.
  void abort_on(const std::stop_token &stop);
  /// Builds the reply from curl's result code once the transfer is over; call once.
  calls::upstream_reply finish(CURLcode result);
  /// The bytes of the answer as they arrived, head and body (0 before one arrived).
  [[nodiscard]] std::size_t answer_bytes() const noexcept;
  /// The reply of a transfer that was stopped before it finished.
  calls::upstream_reply cancelled(std::string_view detail) const;

 private:
  /// The request's method and body (a GET resets what an earlier call on the handle set).
  void set_method(const calls::upstream_call &call);
  /// The call's HTTP version and TLS options: its origin's, the client's or curl's defaults.
  /// Returns whether the origin's answers are asked for compressed.
  bool set_origin_options(const calls::upstream_call &call, const client_options &options);
  void link_header_lines(const calls::upstream_call &call, bool compression);
  void set_tls(const calls::upstream_call &call, const client_options &options, const tls_options &tls);
  static std::size_t on_body(char *data, std::size_t size, std::size_t count, void *self) noexcept;
  static int on_progress(void *self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept;

  easy_handle &easy_;
  std::size_t max_body_bytes_;
  bool wants_cache_control_;
  const std::vector<std::string> *return_headers_;
  bool limited_by_deadline_ = false;  // the deadline, not the call's own timeout, bounds the transfer
  bool expired_ = false;
  bool budget_spent_ = false;  // the aggregation's budget, before the call started or while it ran
  std::shared_ptr<calls::byte_budget> budget_;
  const std::stop_token *abort_on_ = nullptr;
  /// The call's header lines, then User-Agent and Accept-Encoding, as curl reads them: list nodes
  /// of ours over the call's own strings (curl only reads a list it is given), where
  /// curl_slist_append made a node and a copy per line. A call's usual lines (Via, traceparent and
  /// the two above) fit in the transfer itself: no allocation.
  boost::container::small_vector<curl_slist, 6> header_nodes_;
  header_list connect_to_;   // with a TLS server_name: the URL names it, the connection goes to the URL's host
  std::string url_text_;     // the URL curl is given when it is not the call's own
  std::string target_text_;  // the request target, when the call's URL has no path of its own
  bool body_too_large_ = false;
  bool over_tls_ = false;
  bool multiplexed_ = false;
  std::size_t origin_hash_ = 0;
  std::string body_;
  std::array<char, CURL_ERROR_SIZE> curl_message_{};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace agg::client
