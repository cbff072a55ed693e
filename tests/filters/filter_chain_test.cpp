#include "aggregator/filters/filter_chain.hpp"

#include <catch2/catch.hpp>

#include "tests/support/recording_responder.hpp"

using namespace agg;
using agg::testing::recording_responder;

namespace {

/// Writes what it sees into a shared journal: `<name>:in`, `<name>:out`, `<name>:done`; answers the
/// request with `answer_with` when given.
class journal_filter final : public filters::request_filter {
 public:
  journal_filter(std::string name, std::vector<std::string> &journal, std::optional<int> answer_with = {})
      : name_(std::move(name)), journal_(journal), answer_with_(answer_with) {}
  std::optional<http::response> on_request(filters::exchange &) const override {
    journal_.push_back(name_ + ":in");
    if (answer_with_) return http::response::error(*answer_with_, "early", name_);
    return std::nullopt;
  }
  void on_response(filters::request_context &, http::response &answer) const override {
    journal_.push_back(name_ + ":out");
    answer.with_header("X-Seen-By", name_);
  }
  void on_complete(const filters::request_context &, int status, std::size_t) const override {
    journal_.push_back(name_ + ":done " + std::to_string(status));
  }

 private:
  std::string name_;
  std::vector<std::string> &journal_;
  std::optional<int> answer_with_;
};

/// Names the endpoint every request goes to.
class to_endpoint final : public filters::request_filter {
 public:
  explicit to_endpoint(const filters::endpoint &e) noexcept : endpoint_(e) {}
  std::optional<http::response> on_request(filters::exchange &x) const override {
    x.request().match.answer = &endpoint_;
    return std::nullopt;
  }

 private:
  const filters::endpoint &endpoint_;
};

}  // namespace

TEST_CASE("a request goes in through the filters in order, the answer out in reverse, then all hear it is done") {
  std::vector<std::string> journal;
  const agg::testing::fixed_answer endpoint{200};
  const auto chain =
      agg::testing::chain_of(std::make_unique<journal_filter>("a", journal),
                             std::make_unique<journal_filter>("b", journal), std::make_unique<to_endpoint>(endpoint));
  const auto to = std::make_shared<recording_responder>();
  chain.serve(agg::testing::exchange_for(chain, to, agg::testing::request_for("GET", "/")));
  CHECK(journal == std::vector<std::string>{"a:in", "b:in", "b:out", "a:out", "a:done 200", "b:done 200"});
  CHECK(endpoint.served == 1);
  REQUIRE(to->answers.size() == 1);
  CHECK(to->answers[0].headers.back().value == "a");  // the first filter sees the answer last
}

TEST_CASE("a filter that answers ends the request there: later filters and the endpoint never see it") {
  std::vector<std::string> journal;
  const agg::testing::fixed_answer endpoint{200};
  const auto chain = agg::testing::chain_of(
      std::make_unique<journal_filter>("a", journal), std::make_unique<journal_filter>("b", journal, 401),
      std::make_unique<journal_filter>("c", journal), std::make_unique<to_endpoint>(endpoint));
  const auto to = std::make_shared<recording_responder>();
  chain.serve(agg::testing::exchange_for(chain, to, agg::testing::request_for("GET", "/")));
  CHECK(endpoint.served == 0);
  REQUIRE(to->answers.size() == 1);
  CHECK(to->answers[0].status == 401);
  // Every answer passes every filter's way out, whoever gave it (c's too: ids, timing, logs).
  CHECK(journal ==
        std::vector<std::string>{"a:in", "b:in", "c:out", "b:out", "a:out", "a:done 401", "b:done 401", "c:done 401"});
}

TEST_CASE("a refused request takes only the way out, and a stream is complete when it ends") {
  std::vector<std::string> journal;
  const auto chain = agg::testing::chain_of(std::make_unique<journal_filter>("a", journal));
  auto to = std::make_shared<recording_responder>();
  chain.refuse(agg::testing::exchange_for(chain, to, agg::testing::request_for("GET", "/")),
               {431, "headers_too_large", "too many"});
  CHECK(journal == std::vector<std::string>{"a:out", "a:done 431"});
  REQUIRE(to->answers.size() == 1);
  CHECK(to->answers[0].status == 431);

  journal.clear();
  to = std::make_shared<recording_responder>();
  auto x = agg::testing::exchange_for(chain, to, agg::testing::request_for("GET", "/stream"));
  x.begin_stream(http::response{.status = 200, .content_type = "application/x-ndjson"});
  x.stream_chunk("{}\n");
  CHECK(journal == std::vector<std::string>{"a:out"});
  x.end_stream();
  CHECK(journal == std::vector<std::string>{"a:out", "a:done 200"});
  CHECK(to->chunks == std::vector<std::string>{"{}\n"});
  CHECK(to->ended);
}
