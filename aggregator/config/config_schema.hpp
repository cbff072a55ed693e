#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string_view>
#include <variant>

#include "aggregator/config/config_checker.hpp"
#include "aggregator/config/environment_values.hpp"

namespace agg::config {

/// The schema of `v` from what a record_shapes read noted: each object's noted members and the
/// schemas of the values it holds; a map's values, an array's elements merged into one schema.
boost::json::object schema_of(const reading_notes &notes, const boost::json::value &v);

/// One schema that takes what either takes: objects' properties joined, arrays' items merged,
/// different kinds as `anyOf`.
boost::json::object merge_schemas(boost::json::object a, boost::json::object b);

/// `aggregator config print`: the config as the service takes it, as JSON: its variables expanded
/// (a `$` in a value written `$$`, so that it reads back as it is), every default a reader takes
/// written in, secrets (credential headers) as "<redacted>".
std::variant<boost::json::value, config_errors> effective_config(
    std::string_view json_text, const environment_lookup &environment = process_environment);

/// `aggregator config schema`: the JSON Schema (2020-12) of a config, as the readers note it while
/// reading config_exemplar().
boost::json::value config_schema();

/// Config documents (a JSON array of them) that together name every key the loader reads, each
/// value in every form it may take (`"retry": false` and `"retry": {...}`): config_schema() reads
/// them. They need not be valid; a key they miss has an empty schema, which a test refuses.
std::string_view config_exemplar() noexcept;

}  // namespace agg::config
