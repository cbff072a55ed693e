#include "aggregator/http/loop_guard.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <random>

#include "aggregator/text/character_rules.hpp"

namespace agg::http {

namespace {

unsigned hops_of(std::optional<std::string_view> hops) {
  unsigned n = 0;
  if (!hops) return 0;
  const auto [end, ec] = std::from_chars(hops->data(), hops->data() + hops->size(), n);
  return ec == std::errc{} && end == hops->data() + hops->size() ? n : 0;
}

/// True when one `Via` entry (`protocol received-by [comment]`) was added by an aggregator.
bool names_aggregator(std::string_view entry) noexcept {
  entry = text::trimmed(entry);
  const auto space = entry.find_first_of(" \t");
  if (space == std::string_view::npos) return false;
  return text::trimmed(entry.substr(space)).starts_with("aggregator-");
}

}  // namespace

unsigned aggregators_in(std::string_view via) noexcept {
  // Entries are separated by commas outside comments; a comment is in parentheses (RFC 9110 7.6.3).
  unsigned count = 0;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= via.size(); ++i) {
    const char c = i < via.size() ? via[i] : ',';
    if (c == '(') ++depth;
    if (c == ')' && depth > 0) --depth;
    if (c != ',' || (depth > 0 && i < via.size())) continue;
    count += names_aggregator(via.substr(start, i - start)) ? 1 : 0;
    start = i + 1;
    depth = 0;
  }
  return count;
}

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
  const unsigned named = via ? aggregators_in(*via) : 0;
  const unsigned counted = hops_of(hops);
  const unsigned count = std::max(named, counted);
  if (count >= max_hops)
    return "this request has passed through " + std::to_string(count) + " aggregators (" +
           (named >= counted ? std::string{"its Via header"} : std::string{hops_header}) + "); server.max_hops is " +
           std::to_string(max_hops);
  return std::nullopt;
}

std::vector<std::string> hop_lines(std::optional<std::string_view> via) {
  std::string chain = via && !via->empty() ? std::string{*via} + ", " : std::string{};
  chain += instance_via();
  return {"Via: " + chain};
}

}  // namespace agg::http
