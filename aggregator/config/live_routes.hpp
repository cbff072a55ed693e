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
    /// The top-level sections besides `routes` that differ from the ones in force (server, client,
    /// log, jobs, auth: in the file's order, then those it dropped): they need a restart.
    std::vector<std::string> sections_changed;
  };
  /// Reads the config file again and, when it is valid, publishes its routes; when it is not, the
  /// routes in force stay and the file's problems come back.
  std::variant<reloaded, config_errors> reload();

  /// The config file changes are saved to; empty when they are kept in memory only.
  [[nodiscard]] const std::string &file() const noexcept { return file_; }

 private:
  /// One change to the table: `route` in the place of `replaced` (null: added at the end), or
  /// (null) `replaced` removed.
  struct edit {
    route_ptr replaced;
    route_ptr route;
  };
  /// Saves the table with `e` made to it, then publishes it. A change costs what it changes: the
  /// checks are lookups, only the changed route is serialised (the file is the others' text as
  /// last saved, joined); the file is read once, to tell an edit by hand. Needs change_mutex_ held.
  std::optional<refused> commit(const route_table &table, const edit &e);
  /// Validates `definition` as the new version of `table`'s route `replaced` (null: a new route)
  /// and commits it. Needs change_mutex_ held.
  change put(const route_table &table, const route_ptr &replaced, const boost::json::value &definition);
  /// Takes `document` (a config file's JSON) as what the file holds now: the text around its
  /// routes, and each route's text. Needs change_mutex_ held (or the constructor).
  void remember(boost::json::value document, const std::vector<route_ptr> &routes);
  void publish(std::shared_ptr<const route_table> table);

  const std::string file_;
  std::mutex change_mutex_;  // serialises changes and reloads
  // Guarded by change_mutex_: the file as last read or written.
  boost::json::value document_;           // its JSON, the routes' place held by a placeholder
  std::string text_before_routes_;        // its text up to the routes' array ...
  std::string text_after_routes_;         // ... and after it
  std::vector<std::string> route_texts_;  // each route's text in it, in table order
  std::optional<std::string> file_text_;  // its whole text (none: it could not be read)
  mutable std::mutex current_mutex_;
  std::shared_ptr<const route_table> current_;  // guarded by current_mutex_
};

}  // namespace agg::config
