#include "aggregator/filters/routing_filter.hpp"

#include <boost/url/parse.hpp>

#include <cassert>

#include "aggregator/config/url_template.hpp"

namespace agg::filters {

namespace {

/// `target` with every byte that may not stand in a URI percent-encoded (spaces aside, which the
/// reader never lets through): clients send `[`, `|`, `{` or UTF-8 raw in queries, and browsers
/// encode them; after this Boost.URL reads both alike.
std::string encoded_target(std::string_view target) {
  return config::percent_encode_except(target, "-._~!$&'()*+,;=:@/?%");
}

}  // namespace

std::optional<http::response> routing_filter::on_request(exchange &x) const {
  request_context &r = x.request();
  const std::string target_text = encoded_target(r.request.target);
  const auto target = boost::urls::parse_origin_form(target_text);
  if (!target) {
    // An absolute or asterisk form, or a broken escape: what else the client sends is suspect too.
    http::response refused =
        http::response::error(400, "bad_target", "the request target is not a valid path and query");
    refused.closes_connection = true;
    return refused;
  }
  // Matched as sent, never decoded first: /api%2Ffast or /api/f%61st must not reach /api/fast
  // behind a proxy that matches raw paths. No endpoint's path has a percent sign.
  r.path = target->encoded_path();
  for (const auto &param : target->params()) {
    // `?`, `?num=1&` and `?&num=1` leave empty pairs, which say nothing: ignored, as browsers and
    // frameworks do. `?=x` says something and stays, to be refused as an unknown parameter.
    if (param.key.empty() && !param.has_value) continue;
    r.query.emplace(param.key, param.value);
  }
  r.match = table_.resolve(r);
  assert(r.match.answer != nullptr);
  if (r.match.route) r.route = r.match.route->name;  // the metrics and the log name it from here on
  return std::nullopt;
}

}  // namespace agg::filters
