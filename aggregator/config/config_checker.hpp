#pragma once

#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "aggregator/config/config_error.hpp"

namespace agg::config {

/// `path.key`, or `key` at the root.
inline std::string child(const std::string &path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}
/// `path[index]`.
inline std::string element(const std::string &path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

/// Walks a JSON document and collects every problem with its path instead of stopping at the first:
/// the reader of the config file and of the admin API's route definitions.
class config_checker {
 public:
  config_errors errors;

  void fail(std::string path, std::string message) { errors.push_back({std::move(path), std::move(message)}); }

  /// The object at `path`, reporting every key not in `keys`.
  const boost::json::object *object(const boost::json::value &v, const std::string &path,
                                    std::initializer_list<std::string_view> keys) {
    const boost::json::object *o = map(v, path);
    if (o == nullptr) return nullptr;
    for (const auto &kv : *o)
      if (std::find(keys.begin(), keys.end(), kv.key()) == keys.end()) fail(child(path, kv.key()), "unknown key");
    return o;
  }

  /// The object at `path`, whatever its keys (a map keyed by names the user chooses).
  const boost::json::object *map(const boost::json::value &v, const std::string &path) {
    const boost::json::object *o = v.if_object();
    if (o == nullptr) fail(path.empty() ? "(root)" : path, "must be an object");
    return o;
  }

  const boost::json::array *array(const boost::json::value &v, const std::string &path) {
    const boost::json::array *a = v.if_array();
    if (a == nullptr) fail(path, "must be an array");
    return a;
  }

  template <typename Int>
  void integer(const boost::json::object &o, const std::string &path, std::string_view key, Int &out, long long min,
               long long max) {
    const boost::json::value *v = o.if_contains(key);
    if (v == nullptr) return;
    const auto *i = v->if_int64();
    const auto *u = v->if_uint64();
    const long long value =
        i ? *i : (u && *u <= static_cast<std::uint64_t>(max) ? static_cast<long long>(*u) : min - 1);
    if ((i == nullptr && u == nullptr) || value < min || value > max) {
      fail(child(path, key), "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return;
    }
    out = static_cast<Int>(value);
  }

  void millis(const boost::json::object &o, const std::string &path, std::string_view key,
              std::chrono::milliseconds &out, long long min, long long max) {
    long long count = out.count();
    integer(o, path, key, count, min, max);
    out = std::chrono::milliseconds{count};
  }

  /// A string member; `required` makes its absence an error.
  std::optional<std::string> text(const boost::json::object &o, const std::string &path, std::string_view key,
                                  bool required) {
    const boost::json::value *v = o.if_contains(key);
    if (v == nullptr) {
      if (required) fail(child(path, key), "is required");
      return std::nullopt;
    }
    if (!v->is_string()) {
      fail(child(path, key), "must be a string");
      return std::nullopt;
    }
    return std::string{v->get_string()};
  }

  /// A number from `min` to `max` (a ratio, a fraction).
  void number(const boost::json::object &o, const std::string &path, std::string_view key, double &out, double min,
              double max) {
    const boost::json::value *v = o.if_contains(key);
    if (v == nullptr) return;
    const std::optional<double> given = v->is_double()   ? std::optional<double>{v->get_double()}
                                        : v->is_int64()  ? std::optional<double>{static_cast<double>(v->get_int64())}
                                        : v->is_uint64() ? std::optional<double>{static_cast<double>(v->get_uint64())}
                                                         : std::nullopt;
    if (!given || *given < min || *given > max) {
      fail(child(path, key), "must be a number from " + std::to_string(min) + " to " + std::to_string(max));
      return;
    }
    out = *given;
  }

  /// A string member that names one of `choices` into `out`; another string fails with `message`.
  template <typename Value>
  void choice(const boost::json::object &o, const std::string &path, std::string_view key,
              std::initializer_list<std::pair<std::string_view, std::type_identity_t<Value>>> choices, Value &out,
              std::string message) {
    const auto given = text(o, path, key, false);
    if (!given) return;
    for (const auto &[name, value] : choices)
      if (*given == name) {
        out = value;
        return;
      }
    fail(child(path, key), std::move(message));
  }

  void boolean(const boost::json::object &o, const std::string &path, std::string_view key, bool &out) {
    const boost::json::value *v = o.if_contains(key);
    if (v == nullptr) return;
    if (!v->is_bool())
      fail(child(path, key), "must be true or false");
    else
      out = v->get_bool();
  }
};

}  // namespace agg::config
