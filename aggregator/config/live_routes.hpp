#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "aggregator/config/config_error.hpp"
#include "aggregator/config/route_table.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// Where a route table shared by several replicas is kept (Redis, with store.redis_url): live_routes
/// commits its changes there instead of to the config file, compare-and-set on the table's version.
/// Called from the control plane's threads and the main thread, never from an event loop (an
/// implementation may wait for one).
class route_share {
 public:
  virtual ~route_share() = default;
  /// Someone else stored version `current` first: nothing was written.
  struct stale {
    std::uint64_t current = 0;
  };
  /// The store did not answer (why, for the refusal).
  struct unavailable {
    std::string why;
  };
  /// Stores `definitions` as version `next` if the stored version is `expected` (0: none stored).
  virtual std::variant<std::uint64_t, stale, unavailable> put(std::uint64_t expected, std::uint64_t next,
                                                              const boost::json::array &definitions) = 0;
  /// The stored table: its version (0: none) and definitions.
  virtual std::variant<std::pair<std::uint64_t, boost::json::array>, unavailable> get() = 0;
};

/// The routes in force, and the one way to change them while requests run. Readers take the
/// current route_table (an immutable snapshot) and keep it as long as they like; a change is
/// validated, written to the config file (atomically: temp file + rename), and only then published
/// by swapping the snapshot, so a restart serves what was last published. Changes and reloads are
/// serialised, a reload reading the file under the same lock, so an acknowledged change is never
/// overwritten by an older copy. A change is refused (conflict) when the file was edited since it
/// was last read or written, rather than written over the edit: reload it first. Every member is
/// safe from any thread.
///
/// The table has a version, 1 at start and one more with each change (the admin API's ETag): a
/// change may name the version it was made against (If-Match) and is refused (stale) when another
/// was made since. With a route_share (several replicas), changes are stored there instead of in
/// the file, compare-and-set; a change without a version that meets a newer table stored by
/// another replica takes that table first and is made again, on it.
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
    enum class reason { invalid, not_found, conflict, not_saved, stale, unavailable } why;
    config_errors errors;
  };
  /// The route as it now is, or why nothing changed.
  using change = std::variant<route_ptr, refused>;

  /// The version a change was made against (If-Match): refused as stale when the table is another.
  using expected_version = std::optional<std::uint64_t>;
  /// Adds a route from its definition (a JSON object, as in the config file's `routes`).
  change create(const boost::json::value &definition, expected_version expected = {});
  /// Replaces route `name` with a whole new definition; a missing `name` member means this one.
  change replace(std::string_view name, const boost::json::value &definition, expected_version expected = {});
  /// Applies a JSON merge patch (RFC 7386) to route `name`'s definition.
  change patch(std::string_view name, const boost::json::value &merge_patch, expected_version expected = {});
  /// Removes route `name`; the last route cannot go (a config needs one). Nullopt when done.
  std::optional<refused> remove(std::string_view name, expected_version expected = {});

  /// The routes now and their version, read together.
  struct versioned {
    std::shared_ptr<const route_table> table;
    std::uint64_t version = 0;
  };
  [[nodiscard]] versioned current_versioned() const;

  /// From now on changes go to `share` (before any change; it outlives this).
  void share(route_share &share) noexcept { share_ = &share; }
  [[nodiscard]] bool shared() const noexcept { return share_ != nullptr; }
  /// A table another replica stored (version `version`, its routes' `definitions`): published when
  /// it is newer than the one in force; errors when a definition is not a valid route (nothing
  /// changes then). Any thread, an event loop's included: it takes no lock a change holds long.
  [[nodiscard]] config_errors adopt(std::uint64_t version, const boost::json::array &definitions);
  /// The definitions of the routes in force, in order (what a share stores).
  [[nodiscard]] static boost::json::array definitions_of(const route_table &table);

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
  /// last saved, joined); the file is read once, to tell an edit by hand. With a share, the table
  /// is stored there instead (compare-and-set on `version`, the one `table` has). Needs
  /// change_mutex_ held.
  std::optional<refused> commit(const route_table &table, std::uint64_t version, const edit &e);
  /// Validates `definition` as the new version of `table`'s route `replaced` (null: a new route)
  /// and commits it. Needs change_mutex_ held.
  change put(const versioned &now, const route_ptr &replaced, const boost::json::value &definition);
  /// Runs `attempt` (a change against the table in force) under change_mutex_; when it met a newer
  /// shared table and no version was expected, takes that table and runs it again (a few times).
  template <typename Attempt>
  std::invoke_result_t<Attempt &, const versioned &> changing(expected_version expected, Attempt attempt);
  /// Takes the table the share holds now, if it is newer (before a change is made again).
  void refresh();
  /// Stores the file's routes in the share (reload with a share: the file wins); why not.
  std::optional<std::string> share_reloaded(const std::vector<route_ptr> &routes);
  /// Takes `document` (a config file's JSON) as what the file holds now: the text around its
  /// routes, and each route's text. Needs change_mutex_ held (or the constructor).
  void remember(boost::json::value document, const std::vector<route_ptr> &routes);
  /// Publishes `table` as version `version`; a version not newer than the one in force is ignored
  /// (a shared table adopted twice, or after this replica's own change). False when ignored.
  bool publish(std::shared_ptr<const route_table> table, std::uint64_t version);

  const std::string file_;
  std::mutex change_mutex_;  // serialises changes and reloads
  // Guarded by change_mutex_: the file as last read or written.
  boost::json::value document_;           // its JSON, the routes' place held by a placeholder
  std::string text_before_routes_;        // its text up to the routes' array ...
  std::string text_after_routes_;         // ... and after it
  std::vector<std::string> route_texts_;  // each route's text in it, in table order
  std::optional<std::string> file_text_;  // its whole text (none: it could not be read)
  route_share *share_ = nullptr;
  mutable std::mutex current_mutex_;
  std::shared_ptr<const route_table> current_;  // guarded by current_mutex_
  std::uint64_t version_ = 1;                   // guarded by current_mutex_
};

}  // namespace agg::config
