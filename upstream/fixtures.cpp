#include "upstream/fixtures.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse_path.hpp>

#include <cstddef>
#include <numeric>
#include <vector>

namespace upstream {

namespace json = boost::json;

namespace {

/// The path's segments, percent-decoded (Boost.URL); none for a path that is not one.
std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  const auto parsed = boost::urls::parse_path(path);
  if (!parsed) return out;
  for (const auto encoded : *parsed)
    if (std::string segment = encoded.decode(); !segment.empty()) out.push_back(std::move(segment));
  return out;
}

std::string order_id(std::string_view user, long long k) { return std::string{user} + "-" + std::to_string(k); }

/// The product an order is for: "p" and the order id's characters other than '-'.
std::string product_of(std::string_view order) {
  std::string id = "p";
  for (const char c : order)
    if (c != '-') id += c;
  return id;
}

json::object product(std::string_view id) {
  const auto sum = std::accumulate(id.begin(), id.end(), 0U,
                                   [](unsigned acc, char c) { return acc + static_cast<unsigned char>(c); });
  return json::object{
      {"id", id}, {"name", "Product " + std::string{id}}, {"price", 5.0 + static_cast<double>(sum % 40) / 2}};
}

json::object order(std::string_view id) {
  return json::object{{"id", id}, {"product_id", product_of(id)}, {"quantity", 1 + static_cast<int>(id.size() % 3)}};
}

}  // namespace

std::optional<std::string> fixture_body(std::string_view path, const query_params &params, std::string &problem) {
  const auto parts = segments(path);
  if (parts.empty()) return std::nullopt;
  long long orders = 3;
  if (const auto given = params.find("orders"); given != params.end()) {
    const auto n = whole_number(given->second, 0, 1000);
    if (!n) {
      problem = R"({"error":"orders must be a whole number from 0 to 1000"})";
      return std::nullopt;
    }
    orders = *n;
  }
  if (parts[0] == "users" && parts.size() == 2) {
    json::array ids;
    for (long long k = 0; k < orders; ++k) ids.emplace_back(order_id(parts[1], k));
    return json::serialize(
        json::object{{"id", parts[1]}, {"name", "User " + std::string{parts[1]}}, {"order_ids", std::move(ids)}});
  }
  if (parts[0] == "users" && parts.size() == 3 && parts[2] == "orders") {
    json::array items;
    for (long long k = 0; k < orders; ++k) items.emplace_back(order(order_id(parts[1], k)));
    return json::serialize(json::object{{"user_id", parts[1]}, {"items", std::move(items)}});
  }
  if (parts[0] == "orders" && parts.size() == 2) return json::serialize(order(parts[1]));
  if (parts[0] == "products" && parts.size() == 2) return json::serialize(product(parts[1]));
  if (parts[0] == "products" && parts.size() == 1) {
    const auto ids = params.find("ids");
    if (ids == params.end()) {
      problem = R"({"error":"/products takes ids=a,b,c"})";
      return std::nullopt;
    }
    json::array items;
    std::string_view rest = ids->second;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      items.emplace_back(product(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    return json::serialize(json::object{{"items", std::move(items)}});
  }
  return std::nullopt;
}

}  // namespace upstream
