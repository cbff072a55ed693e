#include "aggregator/config/store_reader.hpp"

#include <boost/url/parse.hpp>

#include <charconv>

namespace agg::config {

namespace json = boost::json;

namespace {

/// Splits `url` into `out`; false when it is not `redis://[user:password@]host[:port][/db]`.
bool split_redis_url(std::string_view text, store_config &out) {
  const auto url = boost::urls::parse_absolute_uri(text);
  if (!url || url->scheme() != "redis" || url->encoded_host().empty() || url->has_query() || url->has_fragment())
    return false;
  out.host = url->host_address();
  if (url->has_port()) {
    if (url->port_number() == 0) return false;
    out.port = url->port_number();
  }
  if (url->has_userinfo()) {
    out.user = url->user();
    if (url->has_password()) out.password = url->password();
  }
  std::string_view db = url->encoded_path();
  if (db.starts_with('/')) db.remove_prefix(1);
  if (!db.empty()) {
    const auto [end, error] = std::from_chars(db.data(), db.data() + db.size(), out.db);
    if (error != std::errc{} || end != db.data() + db.size() || out.db < 0 || out.db > 15) return false;
  }
  return true;
}

}  // namespace

void read_store(config_checker &c, const json::value &v, store_config &out) {
  const std::string path = "store";
  const json::object *o = c.object(
      v, path, {"redis_url", "password_file", "timeout_ms", "key_prefix", "ready_without_redis", "on_failure"});
  if (o == nullptr) return;
  if (auto url = c.text(*o, path, "redis_url", true)) {
    if (!split_redis_url(*url, out))
      c.fail(child(path, "redis_url"),
             "must be redis://[user:password@]host[:port][/db] (db 0 to 15), e.g. redis://127.0.0.1:6379/0");
    else if (!out.password.empty())
      c.secret(o->at("redis_url"), "redis://" + (out.user.empty() ? "" : out.user) + ":<redacted>@" + out.host + ":" +
                                       std::to_string(out.port) + "/" + std::to_string(out.db));
    out.redis_url = std::move(*url);
  }
  out.password_file = c.text_or(*o, path, "password_file", out.password_file);
  if (!out.password.empty() && !out.password_file.empty())
    c.fail(child(path, "password_file"), "redis_url carries a password already: give it one way");
  c.millis(*o, path, "timeout_ms", out.timeout, 1, 60'000);
  out.key_prefix = c.text_or(*o, path, "key_prefix", out.key_prefix);
  c.boolean(*o, path, "ready_without_redis", out.ready_without_redis);
  c.choice(*o, path, "on_failure",
           {{"local", store_config::on_failure::local}, {"deny", store_config::on_failure::deny}},
           out.limits_on_failure, "must be local (each replica limits on its own) or deny (503)");
}

}  // namespace agg::config
