#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aggregator/config/config_error.hpp"
#include "aggregator/config/route_table.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// The routes in force, and the one way to change them while requests run. Readers take the
/// current route_table (an immutable snapshot) and keep it as long as they like; a change is
/// validated, written to the config file (atomically: temp file + rename), and only then published
/// by swapping the snapshot, so a restart serves what was last published. Changes and reloads are
/// serialised, a reload reading the file under the same lock, so an acknowledged change is never
/// overwritten by an older copy. A change is refused (conflict) when the file was edited since it
/// was last read or written, rather than written over the edit: reload it first. Every member is
/// safe from any thread.
class live_routes {
 public:
  /// `file` is where changes are saved and reload() reads from, and `document` the config file's
  /// JSON (its other sections are kept as they are when routes are saved); the file as it is now is
  /// what later edits are told from. An empty `file` keeps changes in memory only (the embedded
  /// default config has no file).
  explicit live_routes(std::vector<route_ptr> routes, std::string file = {}, boost::json::value document = {});

  /// The routes now. Cheap: a shared pointer copied under a mutex.
  [[nodiscard]] std::shared_ptr<const route_table> current() const;

  /// Why a change was refused: `errors` say where (paths inside the route, e.g. `upstreams[1].url`).
  struct refused {
    enum class reason { invalid, not_found, conflict, not_saved } why;
    config_errors errors;
  };
  /// The route as it now is, or why nothing changed.
  using change = std::variant<route_ptr, refused>;

  /// Adds a route from its definition (a JSON object, as in the config file's `routes`).
  change create(const boost::json::value &definition);
  /// Replaces route `name` with a whole new definition; a missing `name` member means this one.
  change replace(std::string_view name, const boost::json::value &definition);
  /// Applies a JSON merge patch (RFC 7386) to route `name`'s definition.
  change patch(std::string_view name, const boost::json::value &merge_patch);
  /// Removes route `name`; the last route cannot go (a config needs one). Nullopt when done.
  std::optional<refused> remove(std::string_view name);

  /// What a reload found in the file.
  struct reloaded {
    std::size_t routes = 0;
    bool other_sections_changed = false;  ///< server, client, log, jobs or auth differ: they need a restart
  };
  /// Reads the config file again and, when it is valid, publishes its routes; when it is not, the
  /// routes in force stay and the file's problems come back.
  std::variant<reloaded, config_errors> reload();

  /// The config file changes are saved to; empty when they are kept in memory only.
  [[nodiscard]] const std::string &file() const noexcept { return file_; }

 private:
  /// Saves `routes` to the file, then publishes them. Needs change_mutex_ held.
  std::optional<refused> commit(std::vector<route_ptr> routes);
  /// Validates `definition` as the new version of `table`'s route at `index` (none: a new route)
  /// and commits it. Needs change_mutex_ held.
  change put(const route_table &table, std::optional<std::size_t> index, const boost::json::value &definition);
  void publish(std::vector<route_ptr> routes);

  const std::string file_;
  std::mutex change_mutex_;      // serialises changes and reloads
  boost::json::value document_;  // the file's JSON as last read or written; guarded by change_mutex_
  std::size_t file_text_hash_;   // of the file's text as last read or written; guarded by change_mutex_
  mutable std::mutex current_mutex_;
  std::shared_ptr<const route_table> current_;  // guarded by current_mutex_
};

}  // namespace agg::config
