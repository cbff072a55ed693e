#include "aggregator/stages/pipeline.hpp"

#include <algorithm>

namespace agg::stages {

std::shared_ptr<pipeline> pipeline::make(config::route_ptr route, std::shared_ptr<shared_state> shared) {
  auto made = std::make_shared<pipeline>(std::move(route), std::move(shared));
  if (made->coalesce_) made->coalesce_->owned_by(made);
  return made;
}

pipeline::pipeline(config::route_ptr route, std::shared_ptr<shared_state> shared_state_ptr)
    : route_(std::move(route)), shared_(std::move(shared_state_ptr)), fetch_(shared_.get()), outer_(&fetch_) {
  shared_state &shared = *shared_;
  const auto &entries = route_->upstreams;
  const auto any = [&entries](auto asks) { return std::any_of(entries.begin(), entries.end(), asks); };
  if (shared.slots_per_loop() != 0) outer_ = &origin_limit_.emplace(*outer_, shared);
  if (any([](const auto &e) { return e.policy.breaker.has_value(); })) outer_ = &breaker_.emplace(*outer_, shared);
  if (any([](const auto &e) { return e.policy.retry.has_value(); })) outer_ = &retry_.emplace(*outer_, shared);
  if (any([](const auto &e) { return e.policy.hedge.has_value(); })) outer_ = &hedge_.emplace(*outer_, shared);
  if (any([](const auto &e) { return e.policy.budget.has_value(); })) outer_ = &budget_.emplace(*outer_, shared);
  if (any([](const auto &e) { return e.policy.coalesce; })) outer_ = &coalesce_.emplace(*outer_, shared);
  if (any([](const auto &e) { return e.policy.cache.has_value(); })) outer_ = &cache_.emplace(*outer_, shared);
}

}  // namespace agg::stages
