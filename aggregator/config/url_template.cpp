#include "aggregator/config/url_template.hpp"

#include <boost/url/parse.hpp>

#include "aggregator/config/character_rules.hpp"

namespace agg::config {

namespace {

bool is_slot_name(std::string_view name) { return made_of(name, "_"); }

}  // namespace

std::variant<url_template, std::string> url_template::parse(std::string_view text) {
  url_template result;
  result.text_ = std::string{text};
  std::string sample;  // the template with every slot filled, to check it is a URL at all
  std::string literal;
  for (std::size_t pos = 0; pos < text.size();) {
    const char c = text[pos];
    if (c == '}') return std::string{"unmatched '}' at offset "} + std::to_string(pos);
    if (c != '{') {
      literal += c;
      sample += c;
      ++pos;
      continue;
    }
    const std::size_t close = text.find('}', pos);
    if (close == std::string_view::npos) return std::string{"unclosed '{' at offset "} + std::to_string(pos);
    const std::string_view name = text.substr(pos + 1, close - pos - 1);
    if (!is_slot_name(name)) return "slot '{" + std::string{name} + "}' is not a name (letters, digits, '_')";
    if (!literal.empty()) result.pieces_.emplace_back(std::move(literal));
    literal.clear();
    result.pieces_.emplace_back(slot{std::string{name}});
    sample += "x";
    pos = close + 1;
  }
  if (!literal.empty()) result.pieces_.emplace_back(std::move(literal));

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

std::string url_template::expand(const std::function<std::string(std::string_view)> &value_of) const {
  std::string url;
  url.reserve(text_.size() + 16);
  for (const auto &p : pieces_) {
    if (const auto *literal = std::get_if<std::string>(&p))
      url += *literal;
    else
      url += percent_encode(value_of(std::get<slot>(p).name));
  }
  return url;
}

std::vector<std::string> url_template::slot_names() const {
  std::vector<std::string> names;
  for (const auto &p : pieces_)
    if (const auto *s = std::get_if<slot>(&p)) names.push_back(s->name);
  return names;
}

std::string percent_encode_except(std::string_view text, std::string_view kept) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (made_of({&c, 1}, kept)) {
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
