#include "aggregator/jobs/job_document.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "aggregator/fanout/render.hpp"
#include "aggregator/text/json_writer.hpp"

namespace agg::jobs {

std::string render(const job_view &v) {
  std::string out;
  text::json_writer w{out};
  w.raw("{").key("id").string(v.id).raw(",").key("route").string(v.route);
  w.raw(",").key("status").string(to_string(v.status));
  w.raw(",").key("progress").raw("{").key("done").number(static_cast<long long>(v.arrived.size()));
  w.raw(",").key("total").number(static_cast<long long>(v.planned_calls)).raw("}");
  w.raw(",").key("finished").raw("[");  // which upstreams have answered (or failed) so far
  for (std::size_t i = 0; i < v.arrived.size(); ++i) {
    const auto &a = v.arrived[i];
    w.raw(i == 0 ? "{" : ",{").key("index").number(static_cast<long long>(a.index));
    if (!a.result.name.empty()) w.raw(",").key("name").string(a.result.name);
    if (!a.result.item_value.is_null()) w.raw(",").key("item").value(a.result.item_value);
    w.raw(",").key("ok").boolean(a.result.kind == calls::outcome_kind::ok);
    w.raw(",").key("outcome").string(calls::to_string(a.result.kind)).raw("}");
  }
  w.raw("]").raw(",").key("result");
  if (v.result)
    w.raw(fanout::render(*v.result).body);
  else
    w.null();
  w.raw("}");
  return out;
}

std::optional<std::string> restated(std::string_view document, std::string_view status, std::string_view reason) {
  boost::system::error_code error;
  boost::json::value parsed = boost::json::parse(document, error);
  if (error || !parsed.is_object()) return std::nullopt;
  boost::json::object &o = parsed.as_object();
  o["status"] = status;
  if (!reason.empty()) o["reason"] = reason;
  return boost::json::serialize(parsed);
}

}  // namespace agg::jobs
