#include "bench/h2_flood.hpp"

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "aggregator/io/unique_handle.hpp"
#include "tests/support/h2_client.hpp"
#include "tests/support/raw_http.hpp"

namespace agg::bench {

namespace {

/// Streams a flood connection opens at a time.
constexpr int streams_per_round = 100;
constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The HPACK block of `GET target` (nghttp2's encoder): sent again and again as it is, which is
/// sound since it refers to no entry of the dynamic table.
std::string request_block(const std::string &target) {
  nghttp2_hd_deflater *made = nullptr;
  if (nghttp2_hd_deflate_new(&made, 0) != 0) throw std::runtime_error("nghttp2_hd_deflate_new failed");
  const io::unique_handle<nghttp2_hd_deflater, nghttp2_hd_deflate_del> deflater{made, "nghttp2_hd_deflate_new"};
  std::string fields[][2] = {{":method", "GET"}, {":scheme", "http"}, {":authority", "flood"}, {":path", target}};
  std::vector<nghttp2_nv> nv;
  for (auto &[name, value] : fields)
    nv.push_back({reinterpret_cast<std::uint8_t *>(name.data()), reinterpret_cast<std::uint8_t *>(value.data()),
                  name.size(), value.size(), NGHTTP2_NV_FLAG_NO_INDEX});
  std::string out(nghttp2_hd_deflate_bound(deflater.get(), nv.data(), nv.size()), '\0');
  const ssize_t n = nghttp2_hd_deflate_hd(deflater.get(), reinterpret_cast<std::uint8_t *>(out.data()), out.size(),
                                          nv.data(), nv.size());
  if (n < 0) throw std::runtime_error(std::string{"nghttp2_hd_deflate_hd: "} + nghttp2_strerror(static_cast<int>(n)));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

h2_flood::h2_flood(h2_flood_settings settings) : settings_(std::move(settings)) {
  if (settings_.host != "127.0.0.1") throw std::invalid_argument("the HTTP/2 flood goes to 127.0.0.1 only");
  for (std::size_t i = 0; i < settings_.rapid_reset; ++i) threads_.emplace_back([this] { run(kind::rapid_reset); });
  for (std::size_t i = 0; i < settings_.many_streams; ++i) threads_.emplace_back([this] { run(kind::many_streams); });
  for (std::size_t i = 0; i < settings_.zero_window; ++i) threads_.emplace_back([this] { run(kind::zero_window); });
}

h2_flood::~h2_flood() {
  running_ = false;
  for (auto &t : threads_) t.join();
}

void h2_flood::run(kind what) {
  const std::string block = request_block(settings_.reset_target);
  const std::string cancel{"\0\0\0\x08", 4};  // RST_STREAM's CANCEL
  while (running_) {
    if (what == kind::rapid_reset) {
      // Raw frames, a hundred HEADERS + RST_STREAM pairs per write: faster than any client session.
      const testing::raw_connection c{settings_.port};
      if (!c.connected() || !c.send(std::string{preface} + testing::h2_frame(NGHTTP2_SETTINGS, 0, 0, ""))) continue;
      ++open_;
      bool alive = true;
      for (std::uint32_t id = 1; running_ && alive && id < (1U << 30);) {
        std::string batch;
        for (int i = 0; i < streams_per_round; ++i, id += 2)
          batch += testing::h2_frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM | NGHTTP2_FLAG_END_HEADERS, id, block) +
                   testing::h2_frame(NGHTTP2_RST_STREAM, 0, id, cancel);
        alive = c.send(batch);
        char dropped[16384];
        while (alive && c.readable_within(std::chrono::milliseconds{0})) alive = c.receive(dropped, sizeof dropped) > 0;
      }
      --open_;
    } else {
      std::vector<nghttp2_settings_entry> settings;
      if (what == kind::zero_window) settings.push_back({NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0});
      testing::h2_client c{settings_.port, settings};
      if (!c.connected()) continue;
      ++open_;
      while (running_ && !c.closed()) {
        std::vector<std::int32_t> ids;
        for (int i = 0; i < streams_per_round; ++i)
          ids.push_back(c.request(what == kind::zero_window ? settings_.stalled_target : "/health"));
        const auto all_done = [&] {
          for (const auto id : ids)
            if (!c.stream(id).closed) return false;
          return true;
        };
        c.run_until([&] { return !running_ || c.closed() || all_done(); }, std::chrono::hours{1});
        for (const auto id : ids) {
          if (c.stream(id).closed && c.stream(id).status == 200) ++answers_;
          c.forget(id);
        }
        if (what == kind::zero_window) c.run_until([&] { return !running_ || c.closed(); }, std::chrono::hours{1});
      }
      --open_;
    }
    if (running_) ++closed_;
  }
}

}  // namespace agg::bench
