// HTTP/2 frames from a client: any bytes after the connection preface, into the server session
// (front::h2_session over libnghttp2), split into two reads where the first byte says. Its requests
// are answered three ways (whole at once, streamed in chunks, whole after the read), so answers
// meet resets, window updates and GOAWAY. The session never crashes or leaks, every byte it holds
// for an answer is let go by the end, and what it sends is HTTP/2 frames (each header's length
// within the bytes sent).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aggregator/front/h2_session.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using agg::filters::request_context;
using agg::filters::responder;

/// What the connection would do, without a socket: answers, and counts what the session holds.
class fuzz_host final : public agg::front::h2_host {
 public:
  void serve(std::shared_ptr<responder> stream, request_context request) override {
    switch (served_++ % 3) {
      case 0: stream->send(request, agg::http::response::json(200, R"({"ok":true})")); break;
      case 1: {
        agg::http::response head;
        head.streamed = true;
        head.content_type = "application/x-ndjson";
        stream->send_head(request, head);
        stream->send_chunk("{\"line\":1}\n");
        later_.emplace_back(std::move(stream), std::move(request));
        break;
      }
      default: later_.emplace_back(std::move(stream), std::move(request)); break;
    }
  }
  void refuse(std::shared_ptr<responder> stream, request_context request, const agg::http::refusal &why) override {
    stream->send(request, agg::http::response::error(why.status, why.code, why.message));
  }
  void output_ready() override { ++nudged_; }
  void held(std::size_t before, std::size_t after) noexcept override {
    held_ += static_cast<long long>(after) - static_cast<long long>(before);
  }
  [[nodiscard]] std::string peer_address() const override { return "127.0.0.1"; }
  void misbehaved(std::string_view why) noexcept override { AGG_FUZZ_CHECK(!why.empty()); }

  /// The answers given after the read: a streamed one's end, or a whole one (and what a responder
  /// ignores: a chunk before a head, a second answer).
  void answer_later() {
    for (auto &[stream, request] : later_) {
      if (stream->open()) {
        stream->send_chunk("{\"line\":2}\n");
        stream->send_end(request);
        stream->send(request, agg::http::response::json(200, R"({"late":true})"));
        stream->send_chunk("{\"line\":3}\n");
      } else {
        AGG_FUZZ_CHECK(stream->stop_source().stop_requested());  // a closed stream's work is cancelled
      }
    }
    later_.clear();
  }
  [[nodiscard]] long long held() const noexcept { return held_; }

 private:
  unsigned served_ = 0;
  unsigned nudged_ = 0;
  long long held_ = 0;
  std::vector<std::pair<std::shared_ptr<responder>, request_context>> later_;
};

/// The frames in `out` are whole: each 9-byte header's length lies within them.
void check_frames(std::string_view out) {
  while (!out.empty()) {
    AGG_FUZZ_CHECK(out.size() >= 9);
    const std::size_t length = (static_cast<std::size_t>(static_cast<unsigned char>(out[0])) << 16) |
                               (static_cast<std::size_t>(static_cast<unsigned char>(out[1])) << 8) |
                               static_cast<unsigned char>(out[2]);
    AGG_FUZZ_CHECK(out.size() >= 9 + length);
    out.remove_prefix(9 + length);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0) return 0;
  static const agg::config::http2_config settings = [] {
    agg::config::http2_config s;
    s.max_concurrent_streams = 16;
    s.max_header_list_bytes = 4096;
    s.max_resets_per_s = 10;
    s.max_control_frames_per_s = 10;
    return s;
  }();
  static const agg::http::request_limits limits = [] {
    agg::http::request_limits l;
    l.max_body_bytes = 4096;
    l.max_target_bytes = 512;
    return l;
  }();
  fuzz_host host;
  {
    agg::front::h2_session session{host, settings, limits, {false, ""}};
    const std::string_view bytes{reinterpret_cast<const char *>(data) + 1, size - 1};
    const std::size_t split = std::min<std::size_t>(data[0], bytes.size());
    std::string out;
    bool going = session.receive("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    for (const std::string_view part : {bytes.substr(0, split), bytes.substr(split)}) {
      if (going) going = session.receive(part);
      session.produce(out, 1 << 20);
      host.answer_later();
      session.produce(out, 1 << 20);
    }
    check_frames(out);
    AGG_FUZZ_CHECK(session.open_streams() <= settings.max_concurrent_streams + 1);
    session.go_away();
    session.produce(out, 1 << 20);
  }
  AGG_FUZZ_CHECK(host.held() == 0);  // every answer byte held for a stream was let go
  return 0;
}
