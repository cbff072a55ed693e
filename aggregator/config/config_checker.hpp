#pragma once

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aggregator/config/config_error.hpp"

namespace agg::config {

/// `value` in the fewest digits that read back as it (0.001, 1e+09).
inline std::string shortest(double value) {
  std::array<char, 32> text{};
  const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} ? std::string(text.data(), end) : std::to_string(value);
}

/// `path.key`, or `key` at the root.
inline std::string child(const std::string &path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}
/// `path[index]`.
inline std::string element(const std::string &path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

/// What a read of a config does besides checking it.
enum class reading {
  /// Writes each default the readers take for a missing key into the document read (which must be
  /// a copy it may change, its variables expanded) and notes the secrets: `aggregator config print`.
  fill_defaults,
  /// Notes the JSON Schema of every value read: the readers, run over config_exemplar(), are the
  /// one source of `aggregator config schema`.
  record_shapes,
};

/// What a fill_defaults or record_shapes read notes, shared by a checker and the ones of its routes.
struct reading_notes {
  reading mode;
  /// record_shapes: the schema of each value read, by its address in the document.
  std::unordered_map<const boost::json::value *, boost::json::object> shapes;
  /// record_shapes: the value each object read is, for the `required` list of its schema.
  std::unordered_map<const boost::json::object *, const boost::json::value *> owners;
  /// fill_defaults: the defaults to write in once the read is over (a reader may still ask whether a
  /// key was given), and the values to replace (a reader may still use the original).
  std::vector<std::tuple<const boost::json::object *, std::string, boost::json::value>> defaults;
  std::vector<std::pair<const boost::json::value *, std::string>> secrets;
};

/// Walks a JSON document and collects every problem with its path instead of stopping at the first:
/// the reader of the config file and of the admin API's route definitions. Each helper reads one
/// kind of value and, when `notes` is set, says what it read (its schema, its default): what the
/// service reads, the schema describes and `config print` shows come from the same lines.
class config_checker {
 public:
  config_errors errors;
  reading_notes *notes = nullptr;

  void fail(std::string path, std::string message) { errors.push_back({std::move(path), std::move(message)}); }

  /// A checker for a part read on its own (a route), noting into the same notes.
  config_checker nested() const {
    config_checker c;
    c.notes = notes;
    return c;
  }
  bool filling() const noexcept { return notes != nullptr && notes->mode == reading::fill_defaults; }
  bool recording() const noexcept { return notes != nullptr && notes->mode == reading::record_shapes; }

  /// Notes `schema` as (part of) the schema of the value at `v`.
  void shape(const boost::json::value *v, std::initializer_list<boost::json::value_ref> schema) {
    if (v == nullptr || !recording()) return;
    boost::json::object &noted = notes->shapes[v];
    boost::json::value given(schema);
    for (auto &kv : given.as_object()) noted.insert_or_assign(kv.key(), std::move(kv.value()));
  }
  /// A member any JSON may be, said in a schema by what it is for.
  void any(const boost::json::object &o, std::string_view key, std::string_view description) {
    shape(o.if_contains(key), {{"description", description}});
  }
  /// Marks `v` to be shown as `replacement` (a secret) by config print.
  void secret(const boost::json::value &v, std::string replacement = "<redacted>") {
    if (filling()) notes->secrets.emplace_back(&v, std::move(replacement));
  }

  /// The object at `path`, reporting every key not in `keys`.
  const boost::json::object *object(const boost::json::value &v, const std::string &path,
                                    std::initializer_list<std::string_view> keys) {
    const boost::json::object *o = map(v, path);
    if (o == nullptr) return nullptr;
    for (const auto &kv : *o)
      if (std::find(keys.begin(), keys.end(), kv.key()) == keys.end()) fail(child(path, kv.key()), "unknown key");
    if (recording()) {
      boost::json::object properties;
      for (const std::string_view key : keys) properties.emplace(key, boost::json::object{});
      shape(&v, {{"properties", std::move(properties)}, {"additionalProperties", false}});
      notes->owners[o] = &v;
    }
    // Room for every key now: the defaults written in after the read move no object noted meanwhile.
    if (filling()) const_cast<boost::json::object *>(o)->reserve(keys.size());
    return o;
  }

  /// The object at `path`, whatever its keys (a map keyed by names the user chooses).
  const boost::json::object *map(const boost::json::value &v, const std::string &path) {
    const boost::json::object *o = v.if_object();
    if (o == nullptr) fail(path.empty() ? "(root)" : path, "must be an object");
    shape(&v, {{"type", "object"}});
    return o;
  }
  /// A map whose values are strings.
  const boost::json::object *string_map(const boost::json::value &v, const std::string &path) {
    const boost::json::object *o = map(v, path);
    shape(&v, {{"additionalProperties", {{"type", "string"}}}});
    return o;
  }

  const boost::json::array *array(const boost::json::value &v, const std::string &path) {
    const boost::json::array *a = v.if_array();
    if (a == nullptr) fail(path, "must be an array");
    shape(&v, {{"type", "array"}});
    return a;
  }
  /// An array whose elements are strings (the caller checks each).
  const boost::json::array *strings(const boost::json::value &v, const std::string &path) {
    const boost::json::array *a = array(v, path);
    shape(&v, {{"items", {{"type", "string"}}}});
    return a;
  }

  /// The member `key`; its absence is an error, `why`.
  const boost::json::value *required(const boost::json::object &o, const std::string &path, std::string_view key,
                                     std::string why = "is required") {
    const boost::json::value *v = o.if_contains(key);
    if (v == nullptr) fail(child(path, key), std::move(why));
    if (recording())
      if (const auto owner = notes->owners.find(&o); owner != notes->owners.end()) {
        boost::json::value &list = notes->shapes[owner->second]["required"];
        if (!list.is_array()) list = boost::json::array{};
        const boost::json::value name(key);
        if (std::find(list.as_array().begin(), list.as_array().end(), name) == list.as_array().end())
          list.as_array().push_back(name);
      }
    return v;
  }

  /// The member `key`, an object whose keys all have defaults: config print fills it in when absent.
  const boost::json::value *section(const boost::json::object &o, std::string_view key) {
    if (filling() && !o.contains(key)) const_cast<boost::json::object &>(o).emplace(key, boost::json::object{});
    return o.if_contains(key);
  }

  template <typename Int>
  void integer(const boost::json::object &o, const std::string &path, std::string_view key, Int &out, long long min,
               long long max) {
    const boost::json::value *v = o.if_contains(key);
    shape(v, {{"type", "integer"}, {"minimum", min}, {"maximum", max}});
    // A default outside the range is "not set" (concurrency 0: no limit): no value to show or write.
    if (std::cmp_greater_equal(out, min) && std::cmp_less_equal(out, max)) {
      shape(v, {{"default", out}});
      if (v == nullptr) fill(o, key, out);
    }
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
                                  bool is_required) {
    const boost::json::value *v = is_required ? this->required(o, path, key) : o.if_contains(key);
    shape(v, {{"type", "string"}});
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      fail(child(path, key), "must be a string");
      return std::nullopt;
    }
    return std::string{v->get_string()};
  }
  /// A string member, `fallback` when absent.
  std::string text_or(const boost::json::object &o, const std::string &path, std::string_view key,
                      std::string fallback) {
    shape(o.if_contains(key), {{"default", fallback}});
    if (!o.contains(key)) fill(o, key, fallback);
    return text(o, path, key, false).value_or(std::move(fallback));
  }

  /// A number from `min` to `max` (a ratio, a fraction).
  void number(const boost::json::object &o, const std::string &path, std::string_view key, double &out, double min,
              double max) {
    const boost::json::value *v = o.if_contains(key);
    shape(v, {{"type", "number"}, {"minimum", min}, {"maximum", max}});
    if (out >= min && out <= max) {
      shape(v, {{"default", out}});
      if (v == nullptr) fill(o, key, out);
    }
    if (v == nullptr) return;
    const std::optional<double> given = v->is_double()   ? std::optional<double>{v->get_double()}
                                        : v->is_int64()  ? std::optional<double>{static_cast<double>(v->get_int64())}
                                        : v->is_uint64() ? std::optional<double>{static_cast<double>(v->get_uint64())}
                                                         : std::nullopt;
    if (!given || *given < min || *given > max) {
      fail(child(path, key), "must be a number from " + shortest(min) + " to " + shortest(max));
      return;
    }
    out = *given;
  }

  /// A string member that names one of `choices` into `out`; another string fails with `message`.
  template <typename Value>
  void choice(const boost::json::object &o, const std::string &path, std::string_view key,
              std::initializer_list<std::pair<std::string_view, std::type_identity_t<Value>>> choices, Value &out,
              std::string message) {
    if (const boost::json::value *v = o.if_contains(key); recording()) {
      boost::json::array names;
      for (const auto &[name, value] : choices) names.emplace_back(name);
      shape(v, {{"enum", std::move(names)}});
    }
    for (const auto &[name, value] : choices)
      if (value == out) {
        shape(o.if_contains(key), {{"default", name}});
        if (!o.contains(key)) fill(o, key, name);
      }
    const auto given = text(o, path, key, false);
    if (!given) return;
    for (const auto &[name, value] : choices)
      if (*given == name) {
        out = value;
        return;
      }
    fail(child(path, key), std::move(message));
  }

  /// A boolean member; `inherited` when `out` holds another part's value (an entry's, its route's),
  /// which config print leaves to that part rather than write here.
  void boolean(const boost::json::object &o, const std::string &path, std::string_view key, bool &out,
               bool inherited = false) {
    const boost::json::value *v = o.if_contains(key);
    shape(v, {{"type", "boolean"}});
    if (!inherited) shape(v, {{"default", out}});
    if (v == nullptr) return inherited ? void() : fill(o, key, out);
    if (!v->is_bool())
      fail(child(path, key), "must be true or false");
    else
      out = v->get_bool();
  }

 private:
  /// config print: `value` as the member `key` the document lacks.
  template <typename Value>
  void fill(const boost::json::object &o, std::string_view key, const Value &value) {
    if (filling()) notes->defaults.emplace_back(&o, key, boost::json::value_from(value));
  }
};

}  // namespace agg::config
