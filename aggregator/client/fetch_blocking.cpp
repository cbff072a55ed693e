#include "aggregator/client/fetch_blocking.hpp"

#include "aggregator/client/transfer.hpp"

namespace agg::client {

calls::upstream_reply fetch_blocking(const calls::upstream_call &call, const client_options &options,
                                     const std::stop_token &stop) {
  thread_local easy_handle easy = transfer::new_handle();
  transfer t{easy, call, options};
  if (t.skipped()) return t.skipped_reply();
  if (stop.stop_requested()) return t.cancelled(calls::cancelled_by_request);
  t.abort_on(stop);
  return t.finish(curl_easy_perform(easy.get()));
}

}  // namespace agg::client
