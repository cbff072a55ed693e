#include "aggregator/stages/shared_state.hpp"

#include <mutex>

#include "aggregator/stages/flight.hpp"

namespace agg::stages {

shared_state::shared_state(std::size_t loops, std::size_t max_per_origin, breaker_listener on_breaker)
    : slots_per_loop_(max_per_origin == 0 ? 0 : std::max<std::size_t>(1, (max_per_origin + loops - 1) / loops)),
      on_breaker_(std::move(on_breaker)) {
  loops_.reserve(loops);
  for (std::size_t i = 0; i < loops; ++i) loops_.push_back(std::make_unique<loop_state>());
}

shared_state::~shared_state() = default;

template <typename Record>
Record &shared_state::find_or_make(std::shared_mutex &mutex, registry<Record> &records, std::string_view name) {
  {
    const std::shared_lock lock{mutex};
    if (const auto found = records.find(name); found != records.end()) return *found->second;
  }
  const std::unique_lock lock{mutex};
  auto found = records.find(name);
  if (found == records.end()) found = records.emplace(std::string{name}, std::make_unique<Record>()).first;
  return *found->second;
}

origin_record &shared_state::origin(std::string_view name) { return find_or_make(origins_mutex_, origins_, name); }

route_record &shared_state::route(std::string_view name) { return find_or_make(routes_mutex_, routes_, name); }

void shared_state::breaker_changed(std::string_view origin, breaker_state now) const {
  if (on_breaker_) on_breaker_(origin, now);
}

void shared_state::for_each_origin(const std::function<void(const std::string &, const origin_record &)> &visit) const {
  const std::shared_lock lock{origins_mutex_};
  for (const auto &[name, record] : origins_) visit(name, *record);
}

void shared_state::for_each_route(const std::function<void(const std::string &, const route_record &)> &visit) const {
  const std::shared_lock lock{routes_mutex_};
  for (const auto &[name, record] : routes_) visit(name, *record);
}

}  // namespace agg::stages
