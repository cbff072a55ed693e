#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "upstream/api_request.hpp"

namespace upstream {

/// The body of one of the fixture APIs that let a route compose different APIs, or nullopt when
/// `path` is none of them. Deterministic, derived from the ids alone:
///   /users/{id}          {"id":"7","name":"User 7","order_ids":["7-0","7-1",…]} (`orders=N`, default 3)
///   /users/{id}/orders   {"user_id":"7","items":[{"id":"7-0","product_id":"p70"},…]} (`orders=N`)
///   /orders/{id}         {"id":"7-0","product_id":"p70","quantity":1}
///   /products/{id}       {"id":"p70","name":"Product p70","price":12.5}
///   /products?ids=a,b    {"items":[<product a>,<product b>]}
/// They take the delay and fault parameters of `/api/` too; `problem` is set (and nullopt returned)
/// for a fixture path with a bad parameter.
std::optional<std::string> fixture_body(std::string_view path, const query_params &params, std::string &problem);

}  // namespace upstream
