#pragma once

#include <boost/json/value.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aggregator/config/config_checker.hpp"

namespace agg::config {

/// Looks an environment variable up; nullopt when it is not set (or set to nothing).
using environment_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment.
std::optional<std::string> process_environment(std::string_view name);

/// `text` with `${NAME}` replaced by the variable's value, `${NAME:-default}` by its value or, when
/// it is not set, `default`, and `$$` by `$` (a `$` before anything else stays as written); or why
/// it cannot be: a variable without a default that is not set, a name that is not
/// `[A-Za-z_][A-Za-z0-9_]*`, a `${` never closed. Each name met is added to `names`, when given.
struct expansion_problem {
  std::string message;
};
std::variant<std::string, expansion_problem> expand_variables(std::string_view text,
                                                              const environment_lookup &environment,
                                                              std::vector<std::string> *names = nullptr);

/// Whether a string anywhere in `value` holds a `$`: one that expand_environment may change.
bool mentions_variables(const boost::json::value &value);

/// Expands every string value inside `value` (object keys stay as written) in place; a string that
/// cannot be expanded is reported at its JSON path below `path`.
void expand_environment(boost::json::value &value, const std::string &path, const environment_lookup &environment,
                        config_checker &checker);

/// `value` as the config reads it: itself when it names no variable, else its copy in `copy` with
/// the values in; null when a string could not be expanded (reported at its path below `path`):
/// what is written stays as written, for the document that is saved.
const boost::json::value *with_environment(const boost::json::value &value, const std::string &path,
                                           const environment_lookup &environment, config_checker &checker,
                                           std::optional<boost::json::value> &copy);

/// Writes each `$` of `value`'s strings as `$$`: values that are final (expanded), in the config's
/// own syntax, so that reading them again gives them back (what `config print` prints).
void escape_dollars(boost::json::value &value);

/// The variables the strings of `value` name, each once, sorted.
std::vector<std::string> environment_names(const boost::json::value &value);

}  // namespace agg::config
