#include "aggregator/store/redis_store.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include "aggregator/jobs/job_store.hpp"

namespace agg::store {

namespace {

/// `host`'s first address, resolved once now (start-up, off the loops: hiredis 0.14 would resolve
/// a name with a blocking getaddrinfo on the loop at every reconnect). A name that does not
/// resolve now stays a name for hiredis to try again.
std::string numeric_host(const std::string &host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return host;
  char text[NI_MAXHOST];
  const int rc = ::getnameinfo(found->ai_addr, found->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
  ::freeaddrinfo(found);
  return rc == 0 ? std::string{text} : host;
}

}  // namespace

redis_store::redis_store(const config::store_config &config, std::chrono::milliseconds lease,
                         client::upstream_client &loops, const runtime::service_log &log, std::string password)
    : config_(config), log_(log), signals_(key("signals")), replica_(jobs::new_id()), lease_(lease) {
  link_settings settings{.host = numeric_host(config.host),
                         .port = config.port,
                         .user = config.user,
                         .password = std::move(password),
                         .db = config.db,
                         .timeout = config.timeout};
  for (std::size_t i = 0; i < loops.loop_count(); ++i) {
    const std::string name = "redis (loop " + std::to_string(i) + ")";
    links_.push_back(
        std::make_unique<redis_link>(loops.loop(i).events(), settings, [&log, name](bool up, const std::string &why) {
          log.event(up ? config::log_config::level::info : config::log_config::level::warn, name + ": " + why);
        }));
  }
  subscribe(signals_.channel(), [this](std::string_view, std::string_view name) { signals_.deliver(name); });
}

void redis_store::subscribe(std::string channel, message_handler handler, std::function<void()> on_up) {
  subscriptions_.push_back({std::move(channel), std::move(handler), std::move(on_up)});
}

void redis_store::start() {
  if (!subscriptions_.empty()) {
    link_settings settings = links_.front()->settings();
    for (const auto &s : subscriptions_) settings.channels.push_back(s.channel);
    subscriber_ = std::make_unique<redis_link>(
        links_.front()->loop(), settings,
        [this](bool up, const std::string &why) {
          if (!up) return log_.event(config::log_config::level::warn, "redis (subscriber): " + why);
          for (const auto &s : subscriptions_)
            if (s.on_up) s.on_up();
        },
        [this](std::string_view channel, std::string_view message) {
          for (const auto &s : subscriptions_)
            if (s.channel == channel) s.handler(channel, message);
        });
    redis_link &l = *subscriber_;
    l.loop().call([&l] { l.start(); });
  }
  for (const auto &link : links_) {
    redis_link &l = *link;
    l.loop().call([&l] { l.start(); });
  }
}

bool redis_store::up() const noexcept {
  for (const auto &link : links_)
    if (!link->up()) return false;
  return true;
}

runtime::redis_counts redis_store::counts() const noexcept {  // the subscriber's own are left out
  runtime::redis_counts sum;
  for (const auto &link : links_) {
    const link_counts &c = link->counts();
    ++sum.links;
    sum.links_up += link->up() ? 1 : 0;
    sum.replies += c.replies.load(std::memory_order_relaxed);
    sum.timeouts += c.timeouts.load(std::memory_order_relaxed);
    sum.unavailable += c.unavailable.load(std::memory_order_relaxed);
    sum.lost += c.lost.load(std::memory_order_relaxed);
    sum.connects += c.connects.load(std::memory_order_relaxed);
    sum.disconnects += c.disconnects.load(std::memory_order_relaxed);
  }
  return sum;
}

}  // namespace agg::store
