#include "aggregator/config/url_template.hpp"

#include <boost/url/parse.hpp>

#include "aggregator/text/character_rules.hpp"

namespace agg::config {

std::variant<url_template, std::string> url_template::parse(std::string_view text) {
  auto parsed = text_template::parse(text);
  if (auto *problem = std::get_if<std::string>(&parsed)) return std::move(*problem);
  url_template result;
  result.template_ = std::get<text_template>(std::move(parsed));
  // The template with every slot filled, to check it is a URL at all.
  const std::string sample = result.template_.expand([](const template_slot &) { return std::string{"x"}; });
  const auto url = boost::urls::parse_absolute_uri(sample);
  if (!url) return std::string{"not a URL: "} + url.error().message();
  if (url->scheme() != "http" && url->scheme() != "https") return "not an http(s) URL";
  if (!url->has_authority() || url->encoded_host().empty()) return "the URL has no host";
  if (url->has_userinfo()) return "the URL must not carry user information";
  if (url->has_fragment()) return "the URL must not have a fragment";
  // Slots only after the authority: the first '/' after "scheme://" precedes the first '{'.
  const std::size_t authority_start = text.find("://") + 3;
  const std::size_t path_start = text.find('/', authority_start);
  const std::size_t first_slot = text.find('{');
  if (first_slot != std::string_view::npos && (path_start == std::string_view::npos || first_slot < path_start))
    return "slots may only stand in the path or query, never in the scheme, host or port";
  result.origin_length_ = path_start == std::string_view::npos ? text.find('?', authority_start) : path_start;
  if (result.origin_length_ == std::string_view::npos) result.origin_length_ = text.size();
  return result;
}

std::string url_template::expand(const std::function<std::string(const template_slot &)> &value_of) const {
  return template_.expand([&value_of](const template_slot &slot) { return percent_encode(value_of(slot)); });
}

std::string percent_encode_except(std::string_view text, std::string_view kept) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (text::made_of({&c, 1}, kept)) {
      out += c;
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0x0F];
    }
  }
  return out;
}

}  // namespace agg::config
