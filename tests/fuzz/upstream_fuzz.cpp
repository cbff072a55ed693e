// The bundled upstream's request handling: bytes in, through its listener and Boost.Beast parser,
// to its answer (faults included: a reset or a stall is an answer too). It must never crash, and
// must keep answering /health on the next connection.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/wire.hpp"
#include "upstream/upstream_server.hpp"

namespace {

struct server {
  upstream::upstream_server upstream{upstream::upstream_options{"127.0.0.1", 0, std::chrono::milliseconds{0}}};
  server() { upstream.start(); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static server s;
  const std::string_view bytes{reinterpret_cast<const char *>(data), size};
  // A delayed or stalled answer is cut short: 100 ms of silence ends the exchange.
  agg::fuzz::exchange(s.upstream.port(), bytes, agg::fuzz::closing_request, std::chrono::milliseconds{100});
  agg::fuzz::check_still_serving(s.upstream.port());
  return 0;
}
