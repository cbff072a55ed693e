#include "aggregator/fanout/body_shaping.hpp"

#include <boost/json/object.hpp>

#include "aggregator/config/text_template.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::fanout {

namespace json = boost::json;

namespace {

/// The value at `pointer`, or null when there is none.
json::value *find(json::value &root, std::string_view pointer) {
  boost::system::error_code ec;
  return root.find_pointer(pointer, ec);
}

/// Puts `value` at `pointer` under `root`, making objects of what is missing on the way (or not an
/// object: it is replaced).
void put(json::value &root, std::string_view pointer, json::value value) {
  json::value *at = &root;
  for (const std::string &token : config::pointer_tokens(pointer)) {
    if (!at->is_object()) *at = json::object{at->storage()};
    at = &at->get_object()[token];
  }
  *at = std::move(value);
}

/// Removes the value at `pointer` (a member of an object, an element of an array); true when there was one.
bool erase(json::value &root, std::string_view pointer) {
  const std::size_t slash = pointer.rfind('/');
  if (slash == std::string_view::npos) return false;
  json::value *parent = slash == 0 ? &root : find(root, pointer.substr(0, slash));
  if (parent == nullptr) return false;
  const std::vector<std::string> tokens = config::pointer_tokens(pointer.substr(slash));
  const std::string &last = tokens.back();
  if (json::object *o = parent->if_object()) return o->erase(last) != 0;
  if (json::array *a = parent->if_array()) {
    const auto index = text::whole_number(last, 0, a->size() == 0 ? 0 : a->size() - 1);
    if (!index || a->empty()) return false;
    a->erase(a->begin() + static_cast<std::ptrdiff_t>(*index));
    return true;
  }
  return false;
}

std::string nothing_at(std::string_view what, std::string_view pointer) {
  return std::string{what} + " '" + std::string{pointer} + "' found nothing";
}

}  // namespace

void shape_body(const config::body_shape &shape, json::value &body, std::vector<std::string> &notes) {
  if (shape.select) {
    json::value *found = find(body, *shape.select);
    if (found == nullptr) notes.push_back(nothing_at("select", *shape.select));
    json::value selected =
        found != nullptr ? json::value(std::move(*found), body.storage()) : json::value(body.storage());
    body = std::move(selected);
  }
  if (!shape.allow.empty()) {
    json::value kept = json::object{body.storage()};
    for (const auto &pointer : shape.allow) {
      json::value *found = find(body, pointer);
      if (found == nullptr)
        notes.push_back(nothing_at("allow", pointer));
      else
        put(kept, pointer, std::move(*found));
    }
    body = std::move(kept);
  }
  for (const auto &pointer : shape.deny) erase(body, pointer);
  for (const auto &[from, to] : shape.rename) {
    json::value *found = find(body, from);
    if (found == nullptr) {
      notes.push_back(nothing_at("rename", from));
      continue;
    }
    json::value moved(std::move(*found), body.storage());
    erase(body, from);
    put(body, to, std::move(moved));
  }
}

}  // namespace agg::fanout
