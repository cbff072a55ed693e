#include "aggregator/http/loop_guard.hpp"

#include <charconv>
#include <cstdio>
#include <random>

namespace agg::http {

namespace {

unsigned hops_of(std::optional<std::string_view> hops) {
  unsigned n = 0;
  if (!hops) return 0;
  const auto [end, ec] = std::from_chars(hops->data(), hops->data() + hops->size(), n);
  return ec == std::errc{} && end == hops->data() + hops->size() ? n : 0;
}

}  // namespace

std::string_view instance_via() {
  static const std::string via = [] {
    std::random_device random;
    const auto id = (static_cast<unsigned long long>(random()) << 32) | random();
    char text[48];
    const int n = std::snprintf(text, sizeof text, "1.1 aggregator-%016llx", id);
    return std::string(text, static_cast<std::size_t>(n));
  }();
  return via;
}

std::optional<std::string> loop_refusal(std::optional<std::string_view> via, std::optional<std::string_view> hops,
                                        unsigned max_hops) {
  const std::string_view self = instance_via().substr(4);  // "aggregator-<id>"
  if (via && via->find(self) != std::string_view::npos)
    return "this request has passed through this aggregator already (" + std::string{self} +
           " is in its Via header): a route calls the service itself";
  const unsigned count = hops_of(hops);
  if (count >= max_hops)
    return "this request has passed through " + std::to_string(count) + " aggregators (" + std::string{hops_header} +
           "); server.max_hops is " + std::to_string(max_hops);
  return std::nullopt;
}

std::vector<std::string> hop_lines(std::optional<std::string_view> via, std::optional<std::string_view> hops) {
  std::string chain = via && !via->empty() ? std::string{*via} + ", " : std::string{};
  chain += instance_via();
  return {"Via: " + chain, std::string{hops_header} + ": " + std::to_string(hops_of(hops) + 1)};
}

}  // namespace agg::http
