#include "aggregator/client/fetch_blocking.hpp"

#include "aggregator/client/transfer.hpp"

namespace agg::client {

upstream_reply fetch_blocking(const upstream_call &call, const client_options &options) {
  thread_local easy_handle easy;
  easy.reset();
  transfer t{easy, call, options};
  return t.finish(curl_easy_perform(easy.get()));
}

}  // namespace agg::client
