#include "aggregator/config/environment_values.hpp"

#include <algorithm>
#include <cstdlib>

namespace agg::config {

namespace json = boost::json;

std::optional<std::string> process_environment(std::string_view name) {
  const char *value = std::getenv(std::string{name}.c_str());
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string{value};
}

namespace {

bool is_name(std::string_view name) {
  const auto letter = [](char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_'; };
  return !name.empty() && letter(name.front()) &&
         std::all_of(name.begin(), name.end(), [&](char ch) { return letter(ch) || (ch >= '0' && ch <= '9'); });
}

/// Calls `visit(string, path)` for every string value inside `value`, depth first. `path` is one
/// buffer, grown and cut back as the walk goes: no string is made per node (a config of thousands
/// of routes is walked at every load).
template <typename Value, typename Visit>
void for_each_string(Value &value, std::string &path, const Visit &visit) {
  const std::size_t length = path.size();
  if (auto *s = value.if_string()) {
    visit(*s, path);
  } else if (auto *o = value.if_object()) {
    for (auto &kv : *o) {
      if (length != 0) path += '.';
      path.append(kv.key());
      for_each_string(kv.value(), path, visit);
      path.resize(length);
    }
  } else if (auto *a = value.if_array()) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      path += '[';
      path += std::to_string(i);
      path += ']';
      for_each_string((*a)[i], path, visit);
      path.resize(length);
    }
  }
}

/// The same walk when the paths are not wanted.
template <typename Value, typename Visit>
void for_each_string(Value &value, const Visit &visit) {
  std::string path;
  for_each_string(value, path, visit);
}

}  // namespace

std::variant<std::string, expansion_problem> expand_variables(std::string_view text,
                                                              const environment_lookup &environment,
                                                              std::vector<std::string> *names) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t dollar = text.find('$', i);
    out.append(text.substr(i, dollar == std::string_view::npos ? std::string_view::npos : dollar - i));
    if (dollar == std::string_view::npos) break;
    const std::string_view rest = text.substr(dollar);
    if (rest.starts_with("$$")) {
      out += '$';
      i = dollar + 2;
      continue;
    }
    if (!rest.starts_with("${")) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const std::size_t close = rest.find('}');
    if (close == std::string_view::npos)
      return expansion_problem{"has a ${ that is never closed by } (write $${ for a ${ of its own)"};
    const std::string_view inside = rest.substr(2, close - 2);
    const std::size_t dash = inside.find(":-");
    const std::string_view name = inside.substr(0, dash);
    if (!is_name(name))
      return expansion_problem{"${" + std::string{inside} +
                               "}: a variable's name is letters, digits and _, not starting with a digit (write $${ "
                               "for a ${ of its own)"};
    if (names != nullptr) names->emplace_back(name);
    if (auto value = environment(name))
      out += *value;
    else if (dash != std::string_view::npos)
      out.append(inside.substr(dash + 2));
    else
      return expansion_problem{"the environment variable " + std::string{name} + " is not set (write ${" +
                               std::string{name} + ":-default} to give a default)"};
    i = dollar + close + 1;
  }
  return out;
}

bool mentions_variables(const json::value &value) {
  bool found = false;
  for_each_string(value, [&found](const json::string &s, const std::string &) {
    found = found || std::string_view{s}.find('$') != std::string_view::npos;
  });
  return found;
}

void expand_environment(json::value &value, const std::string &path, const environment_lookup &environment,
                        config_checker &checker) {
  std::string at_path = path;
  for_each_string(value, at_path, [&](json::string &s, const std::string &at) {
    if (std::string_view{s}.find('$') == std::string_view::npos) return;
    auto expanded = expand_variables(s, environment);
    if (auto *text = std::get_if<std::string>(&expanded))
      s = *text;
    else
      checker.fail(at, std::get<expansion_problem>(std::move(expanded)).message);
  });
}

void escape_dollars(json::value &value) {
  for_each_string(value, [](json::string &s, const std::string &) {
    if (std::string_view{s}.find('$') == std::string_view::npos) return;
    std::string escaped;
    for (const char c : std::string_view{s}) {
      escaped += c;
      if (c == '$') escaped += '$';
    }
    s = escaped;
  });
}

std::vector<std::string> environment_names(const json::value &value) {
  std::vector<std::string> names;
  // Every variable as set (to nothing): the walk goes on past one that is not.
  const environment_lookup any = [](std::string_view) { return std::optional<std::string>{std::string{}}; };
  for_each_string(value, [&](const json::string &s, const std::string &) {
    if (std::string_view{s}.find('$') != std::string_view::npos) (void)expand_variables(s, any, &names);
  });
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

const json::value *with_environment(const json::value &value, const std::string &path,
                                    const environment_lookup &environment, config_checker &checker,
                                    std::optional<json::value> &copy) {
  if (checker.filling() || !mentions_variables(value)) return &value;  // config print expands the whole document first
  const std::size_t problems = checker.errors.size();
  expand_environment(copy.emplace(value), path, environment, checker);
  return checker.errors.size() == problems ? &*copy : nullptr;
}

}  // namespace agg::config
