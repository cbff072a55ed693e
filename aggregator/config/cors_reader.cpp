#include "aggregator/config/cors_reader.hpp"

#include <algorithm>

#include "aggregator/config/origin_reader.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::config {

namespace json = boost::json;

namespace {

/// The strings at `path` joined by ", " as a header lists them, each one `valid` or an error `what`.
template <typename Valid>
std::string header_list(config_checker &c, const json::value &v, const std::string &path, const Valid &valid,
                        std::string_view what) {
  std::string joined;
  const json::array *a = c.strings(v, path);
  if (a == nullptr) return joined;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const json::string *s = (*a)[i].if_string();
    if (s == nullptr || !valid(std::string_view{*s})) {
      c.fail(element(path, i), std::string{what});
      continue;
    }
    if (!joined.empty()) joined += ", ";
    joined += *s;
  }
  return joined;
}

/// One `allow_origins` member into `out`.
void read_origin(config_checker &c, std::string_view given, const std::string &path, cors_policy &out) {
  if (given == "*") {
    out.any_origin = true;
    return;
  }
  const std::size_t scheme_end = given.find("://");
  const std::size_t star = given.find('*');
  if (star == std::string_view::npos) {
    if (origin_key(given).empty() || given.back() == '/')
      return c.fail(path,
                    "must be an origin as a browser sends it (https://app.example.com, no path), "
                    "https://*.example.com, or *");
    out.exact_origins.emplace_back(given);
    return;
  }
  // https://*.example.com[:port]: the star is the whole first label, and the rest an origin.
  if (scheme_end == std::string_view::npos || star != scheme_end + 3 || given.substr(star + 1, 1) != "." ||
      given.find('*', star + 1) != std::string_view::npos ||
      origin_key(std::string{given.substr(0, star)} + "x" + std::string{given.substr(star + 1)}).empty())
    return c.fail(path, "a pattern is https://*.example.com: a * as the whole first label of the host, once");
  out.origin_patterns.emplace_back(given.substr(0, star), given.substr(star + 1));
}

bool is_method(std::string_view m) noexcept {
  return !m.empty() && std::all_of(m.begin(), m.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
}

}  // namespace

void read_cors(config_checker &c, const json::value &v, const std::string &path, cors_policy &out) {
  const json::object *o = c.object(
      v, path, {"allow_origins", "allow_methods", "allow_headers", "expose_headers", "allow_credentials", "max_age_s"});
  if (o == nullptr) return;
  const std::string origins_path = child(path, "allow_origins");
  if (const json::value *origins = c.required(
          *o, path, "allow_origins", "is required: the origins whose pages may call (https://app.example.com)")) {
    if (const json::array *a = c.strings(*origins, origins_path)) {
      if (a->empty()) c.fail(origins_path, "must name at least one origin (or leave cors out)");
      for (std::size_t i = 0; i < a->size(); ++i) {
        if (const json::string *s = (*a)[i].if_string())
          read_origin(c, *s, element(origins_path, i), out);
        else
          c.fail(element(origins_path, i), "must be a string");
      }
    }
  }
  if (const json::value *m = o->if_contains("allow_methods"))
    out.allow_methods = header_list(c, *m, child(path, "allow_methods"), is_method, "must be a method: GET, POST, ...");
  if (const json::value *h = o->if_contains("allow_headers"))
    out.allow_headers = header_list(c, *h, child(path, "allow_headers"), text::is_header_name,
                                    "must be a header name (letters, digits, '-', '_')");
  if (const json::value *h = o->if_contains("expose_headers"))
    out.expose_headers = header_list(c, *h, child(path, "expose_headers"), text::is_header_name,
                                     "must be a header name (letters, digits, '-', '_')");
  c.boolean(*o, path, "allow_credentials", out.allow_credentials);
  long long max_age = out.max_age.count();
  c.integer(*o, path, "max_age_s", max_age, 0, 86'400);
  out.max_age = std::chrono::seconds{max_age};
  if (out.any_origin && out.allow_credentials)
    c.fail(origins_path,
           "* cannot go with allow_credentials: a page of any site could then act as the user; "
           "name the origins");
}

bool origin_allowed(const cors_policy &policy, std::string_view origin) noexcept {
  if (origin.empty()) return false;
  if (policy.any_origin) return true;
  for (const auto &exact : policy.exact_origins)
    if (exact.size() == origin.size() && text::equal_ignoring_case(exact, origin)) return true;
  for (const auto &[before, after] : policy.origin_patterns) {
    if (origin.size() <= before.size() + after.size() || !origin.starts_with(before) || !origin.ends_with(after))
      continue;
    const std::string_view labels = origin.substr(before.size(), origin.size() - before.size() - after.size());
    if (labels.front() != '.' && labels.back() != '.' && text::made_of(labels, ".-", false)) return true;
  }
  return false;
}

}  // namespace agg::config
