#include "aggregator/fanout/classify.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

namespace agg::fanout {

boost::json::value classify(const calls::upstream_reply &reply, bool accept_non_json,
                            const boost::json::storage_ptr &storage, calls::outcome_kind &kind, std::string &detail) {
  kind = reply.kind;
  if (kind != calls::outcome_kind::ok) {
    detail = reply.error_detail;
    return boost::json::value(storage);
  }
  if (reply.status == 204) return boost::json::value(storage);  // ok, with a null body
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(reply.body, ec, storage);
  if (!ec) return body;
  // Kept as text: json_writer, which writes every response, makes what is not UTF-8 U+FFFD.
  if (accept_non_json) return boost::json::string{reply.body, storage};
  kind = calls::outcome_kind::invalid_json;
  detail = "upstream body is not JSON: " + ec.message();
  return boost::json::value(storage);
}

}  // namespace agg::fanout
