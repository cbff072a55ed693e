#include "aggregator/endpoints/route_index.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace agg::endpoints {

boost::json::object describe_route(const config::route_config &route) {
  boost::json::object out;
  out["name"] = route.name;
  out["path"] = route.path;
  out["sync_path"] = route.sync_path();
  out["stream_path"] = route.stream_path();
  out["method"] = route.takes_body ? "POST" : "GET";
  if (route.num) out["num"] = boost::json::object{{"default", route.num->default_count}, {"max", route.num->max_count}};
  boost::json::array params(route.params.size());  // in the order the config declares them
  for (const auto &[name, spec] : route.params) {
    boost::json::object param{{"name", name}, {"max_length", spec.max_length}};
    if (spec.default_value)
      param["default"] = *spec.default_value;
    else
      param["required"] = true;
    params[spec.position] = std::move(param);
  }
  out["params"] = std::move(params);
  boost::json::array entries;
  for (const auto &entry : route.upstreams) {
    boost::json::object described;
    if (!entry.name.empty()) described["name"] = entry.name;
    if (entry.repeat) described["repeat"] = true;
    if (entry.for_each) described["for_each"] = true;
    if (entry.required) described["required"] = true;
    if (entry.method != config::http_method::get) described["method"] = config::to_string(entry.method);
    boost::json::array uses;
    for (const std::size_t used : entry.uses) uses.emplace_back(route.upstreams[used].name);
    if (!uses.empty()) described["uses"] = std::move(uses);
    entries.push_back(std::move(described));
  }
  out["entries"] = std::move(entries);
  return out;
}

}  // namespace agg::endpoints
