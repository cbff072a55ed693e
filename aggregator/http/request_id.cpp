#include "aggregator/http/request_id.hpp"

#include <cstdio>
#include <random>

#include "aggregator/text/character_rules.hpp"

namespace agg::http {

bool acceptable_request_id(std::string_view id) noexcept { return id.size() <= 128 && text::made_of(id, "._:-"); }

std::string new_request_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char id[17];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(random()));
  return id;
}

}  // namespace agg::http
