#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregator/filters/filter_chain.hpp"
#include "aggregator/filters/request_filter.hpp"
#include "aggregator/filters/routing_filter.hpp"

namespace agg::testing {

/// A responder that keeps what it is given instead of writing it: what a filter or an endpoint
/// answered, as the connection would have received it.
class recording_responder final : public filters::responder {
 public:
  void send(const filters::request_context &, const http::response &answer) override { answers.push_back(answer); }
  void send_head(const filters::request_context &, const http::response &head) override { answers.push_back(head); }
  void send_chunk(std::string_view bytes) override { chunks.emplace_back(bytes); }
  void send_end(const filters::request_context &) override { ended = true; }
  [[nodiscard]] std::stop_source stop_source() override { return stop; }
  [[nodiscard]] bool open() const noexcept override { return true; }
  [[nodiscard]] std::string client_address() const override { return "192.0.2.1"; }  // TEST-NET-1

  std::vector<http::response> answers;
  std::vector<std::string> chunks;
  bool ended = false;
  std::stop_source stop;
};

/// A request for `target` by `method` with `headers`, as the reader would hand it on.
inline filters::request_context request_for(std::string method, std::string target,
                                            std::vector<http::header_field> headers = {}) {
  filters::request_context r;
  r.started = std::chrono::steady_clock::now();
  r.request.method = std::move(method);
  r.request.target = std::move(target);
  r.request.headers = std::move(headers);
  return r;
}

/// An exchange through `chain` (answers go to `to`), served on no loop.
inline filters::exchange exchange_for(const filters::filter_chain &chain, std::shared_ptr<recording_responder> to,
                                      filters::request_context request) {
  return filters::exchange{chain, std::move(to), std::move(request), nullptr};
}

/// The value of `answer`'s header `name` (the first); empty when it has none.
inline std::string header_value(const http::response &answer, std::string_view name) {
  for (const auto &h : answer.headers)
    if (h.name == name) return h.value;
  return {};
}

/// An endpoint that answers `status` and says it was reached.
class fixed_answer final : public filters::endpoint {
 public:
  explicit fixed_answer(int status) noexcept : status_(status) {}
  void serve(filters::exchange x) const override {
    ++served;
    x.respond(http::response::json(status_, R"({"served":true})"));
  }
  mutable int served = 0;

 private:
  int status_;
};

/// An endpoint table with one answer for every path: `match` (its `answer` set to `endpoint`).
class one_endpoint final : public filters::endpoint_table {
 public:
  one_endpoint(const filters::endpoint &endpoint, filters::endpoint_match match) : match_(std::move(match)) {
    match_.answer = &endpoint;
  }
  [[nodiscard]] filters::endpoint_match resolve(const filters::request_context &) const override { return match_; }

 private:
  filters::endpoint_match match_;
};

/// A chain of the given filters.
template <typename... Filters>
filters::filter_chain chain_of(std::unique_ptr<Filters>... given) {
  std::vector<std::unique_ptr<filters::request_filter>> list;
  (list.push_back(std::move(given)), ...);
  return filters::filter_chain{std::move(list)};
}

}  // namespace agg::testing
