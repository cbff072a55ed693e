#include "aggregator/store/redis_link.hpp"

#include <hiredis/async.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cassert>
#include <system_error>

namespace agg::store {

namespace {

reply copy_of(const redisReply &r) {
  reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING: out.type = reply::kind::text; break;
    case REDIS_REPLY_STATUS: out.type = reply::kind::status; break;
    case REDIS_REPLY_ERROR: out.type = reply::kind::error; break;
    case REDIS_REPLY_INTEGER: out.type = reply::kind::integer; break;
    case REDIS_REPLY_ARRAY: out.type = reply::kind::array; break;
    default: out.type = reply::kind::nil; break;
  }
  if (r.str != nullptr) out.text.assign(r.str, r.len);
  out.integer = r.integer;
  out.elements.reserve(r.elements);
  for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(copy_of(*r.element[i]));
  return out;
}

redis_link &link_of(const redisAsyncContext *context) { return *static_cast<redis_link *>(context->data); }

}  // namespace

std::string_view to_string(failure why) noexcept {
  switch (why) {
    case failure::unavailable: return "unavailable";
    case failure::timeout: return "timeout";
    case failure::lost: return "lost";
  }
  return "lost";
}

std::string why_unanswered(const result &r) {
  if (const auto *why = std::get_if<failure>(&r)) return "Redis did not answer (" + std::string{to_string(*why)} + ")";
  return "Redis answered " + std::get<reply>(r).text;
}

std::string redis_link::where() const { return settings_.host + ":" + std::to_string(settings_.port); }

void redis_link::context_release::free(redisAsyncContext *context) noexcept { redisAsyncFree(context); }

redis_link::redis_link(loop::event_loop &loop, link_settings settings,
                       std::function<void(bool, const std::string &)> on_change, message_handler on_message)
    : loop_(loop),
      settings_(std::move(settings)),
      on_change_(std::move(on_change)),
      on_message_(std::move(on_message)) {}

redis_link::~redis_link() {
  stopping_ = true;
  context_.reset();  // its pending commands' waiters were resumed by on_stop; none are left
  if (hooked_) loop_.remove_hooks(*this);
}

void redis_link::start() {
  loop_.add_hooks(*this);
  hooked_ = true;
  connect();
}

void redis_link::connect() {
  reconnect_at_.reset();
  redisAsyncContext *raw = redisAsyncConnect(settings_.host.c_str(), settings_.port);
  if (raw == nullptr) return lost("cannot allocate a Redis connection");
  context_.emplace(raw, "redisAsyncConnect");
  if (raw->err != 0) {
    const std::string why = raw->errstr;
    context_.reset();
    return lost("cannot connect to " + where() + ": " + why);
  }
  raw->data = this;
  raw->ev.data = this;
  // The adapter hooks (hiredis's adapters/*.h, pointed at this loop's epoll set).
  raw->ev.addRead = [](void *link) { static_cast<redis_link *>(link)->want(true, std::nullopt); };
  raw->ev.delRead = [](void *link) { static_cast<redis_link *>(link)->want(false, std::nullopt); };
  raw->ev.addWrite = [](void *link) { static_cast<redis_link *>(link)->want(std::nullopt, true); };
  raw->ev.delWrite = [](void *link) { static_cast<redis_link *>(link)->want(std::nullopt, false); };
  raw->ev.cleanup = [](void *link) { static_cast<redis_link *>(link)->forget_descriptor(); };
  reading_ = writing_ = false;
  try {
    loop_.watch(raw->c.fd, 0, *this);
  } catch (const std::system_error &e) {
    return drop(failure::lost, std::string{"cannot watch the connection: "} + e.what());
  }
  fd_ = raw->c.fd;
  if (redisAsyncSetConnectCallback(raw, &redis_link::on_connect) != REDIS_OK ||
      redisAsyncSetDisconnectCallback(raw, &redis_link::on_disconnect) != REDIS_OK)
    return drop(failure::lost, "cannot set hiredis's callbacks");
  connect_deadline_ = loop::clock::now() + settings_.timeout;
  // The set-up goes out with the connect (hiredis buffers it): AUTH, SELECT, then a PING whose
  // answer says the server answers; the link is up when it arrives.
  bool sent = true;
  if (!settings_.password.empty()) {
    sent = settings_.user.empty() ? send({"AUTH", settings_.password}, nullptr)
                                  : send({"AUTH", settings_.user, settings_.password}, nullptr);
  }
  const std::string db = std::to_string(settings_.db);
  if (sent && settings_.db != 0) sent = send({"SELECT", db}, nullptr);
  if (sent) sent = send({"PING"}, nullptr);
  // A subscriber's channels: hiredis calls on_published for each message (its replies to what was
  // sent before still come first), never in order with the commands: they are not pending.
  for (const std::string &channel : settings_.channels) {
    const char *argv[] = {"SUBSCRIBE", channel.c_str()};
    const std::size_t lengths[] = {9, channel.size()};
    if (sent) sent = redisAsyncCommandArgv(raw, &redis_link::on_published, nullptr, 2, argv, lengths) == REDIS_OK;
  }
  if (!sent) drop(failure::lost, "cannot queue the connection's set-up");
}

bool redis_link::send(const std::vector<std::string_view> &args, command_awaiter *waiter) {
  if (!context_) return false;
  std::vector<const char *> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string_view a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAsyncCommandArgv(context_->get(), &redis_link::on_reply, waiter, static_cast<int>(argv.size()), argv.data(),
                            lengths.data()) != REDIS_OK)
    return false;
  pending_.push_back({loop::clock::now() + settings_.timeout, waiter});
  return true;
}

void redis_link::on_reply(redisAsyncContext *context, void *raw, void *privdata) {
  link_of(context).answer(raw, static_cast<command_awaiter *>(privdata));
}

void redis_link::answer(const void *raw, command_awaiter *waiter) {
  assert(!pending_.empty() && pending_.front().waiter == waiter);
  if (!pending_.empty()) pending_.pop_front();
  const auto *r = static_cast<const redisReply *>(raw);
  if (waiter == nullptr) {     // the set-up's
    if (r == nullptr) return;  // the connection is going away: lost() says why
    if (r->type == REDIS_REPLY_ERROR) {
      // A refused AUTH or SELECT: no command would fare better; retry later (the password may be fixed).
      drop_reason_ = "Redis refused the connection's set-up: " + std::string{r->str, r->len};
      return;
    }
    if (r->type == REDIS_REPLY_STATUS && std::string_view{r->str, r->len} == "PONG" && drop_reason_.empty()) {
      connect_deadline_.reset();
      backoff_ = std::chrono::milliseconds{0};
      up_.store(true, std::memory_order_release);
      ++counts_.connects;
      said_down_ = false;
      if (on_change_) on_change_(true, "connected to " + where());
    }
    return;
  }
  if (r == nullptr) {
    ++(failing_ == failure::timeout ? counts_.timeouts : counts_.lost);
    waiter->outcome_ = failing_;
  } else {
    ++counts_.replies;
    waiter->outcome_ = copy_of(*r);
  }
  if (stopping_)
    waiter->waiter_.resume();  // the loop takes no more posts: end the waiter now
  else
    loop_.post(waiter->waiter_);
}

void redis_link::on_published(redisAsyncContext *context, void *raw, void *) {
  const auto *r = static_cast<const redisReply *>(raw);
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;  // freed, or not a message
  const redisReply &kind = *r->element[0];
  const redisReply &channel = *r->element[1];
  const redisReply &payload = *r->element[2];
  if (kind.type != REDIS_REPLY_STRING || std::string_view{kind.str, kind.len} != "message") return;  // (un)subscribed
  if (channel.type != REDIS_REPLY_STRING || payload.type != REDIS_REPLY_STRING) return;
  redis_link &link = link_of(context);
  ++link.counts_.replies;
  if (link.on_message_) link.on_message_({channel.str, channel.len}, {payload.str, payload.len});
}

void redis_link::on_connect(const redisAsyncContext *context, int status) {
  if (status == REDIS_OK) return;  // up once the set-up's PING is answered
  redis_link &link = link_of(context);
  // hiredis frees the context after this callback (and calls no disconnect callback for it).
  const std::string why = context->errstr;
  static_cast<void>(link.context_->give_up());
  link.context_.reset();
  link.lost("cannot connect to " + link.where() + ": " + why);
}

void redis_link::on_disconnect(const redisAsyncContext *context, int status) {
  redis_link &link = link_of(context);
  if (!link.context_) return;  // drop() freed it and said why
  const std::string why = status == REDIS_OK ? "the connection was closed" : context->errstr;
  static_cast<void>(link.context_->give_up());  // hiredis frees it when this returns
  link.context_.reset();
  link.lost("lost the connection to " + link.where() + ": " + why);
}

void redis_link::drop(failure why, const std::string &reason) {
  failing_ = why;
  drop_reason_.clear();
  if (context_) {
    redisAsyncContext *raw = context_->give_up();
    context_.reset();
    redisAsyncFree(raw);  // every pending callback runs now, without a reply; then cleanup
  }
  failing_ = failure::lost;
  lost(reason);
}

void redis_link::lost(const std::string &reason) {
  forget_descriptor();
  connect_deadline_.reset();
  const bool was_up = up_.exchange(false, std::memory_order_acq_rel);
  if (was_up) ++counts_.disconnects;
  if (stopping_) return;
  backoff_ = std::clamp(backoff_ * 2, settings_.backoff_min, settings_.backoff_max);
  // ±25 % jitter: replicas that lost Redis together do not all come back in the same millisecond.
  std::uniform_real_distribution<double> spread{0.75, 1.25};
  reconnect_at_ = loop::clock::now() + std::chrono::duration_cast<loop::clock::duration>(backoff_ * spread(jitter_));
  if (!said_down_ && on_change_) on_change_(false, reason + "; reconnecting");
  said_down_ = true;
}

void redis_link::want(std::optional<bool> reading, std::optional<bool> writing) {
  if (reading) reading_ = *reading;
  if (writing) writing_ = *writing;
  if (fd_ >= 0) loop_.rewatch(fd_, (reading_ ? EPOLLIN : 0U) | (writing_ ? EPOLLOUT : 0U), *this);
}

void redis_link::forget_descriptor() {
  if (fd_ < 0) return;
  loop_.unwatch(fd_);
  fd_ = -1;
}

void redis_link::on_events(std::uint32_t events) {
  if (context_ && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) redisAsyncHandleRead(context_->get());
  if (context_ && (events & (EPOLLOUT | EPOLLERR)) != 0) redisAsyncHandleWrite(context_->get());
}

std::optional<loop::clock::time_point> redis_link::next_deadline() const {
  std::optional<loop::clock::time_point> next = reconnect_at_;
  const auto earliest = [&next](loop::clock::time_point t) { next = next ? std::min(*next, t) : t; };
  if (connect_deadline_) earliest(*connect_deadline_);
  if (!pending_.empty()) earliest(pending_.front().deadline);
  return next;
}

void redis_link::on_round(loop::clock::time_point now) {
  if (!drop_reason_.empty()) return drop(failure::lost, std::exchange(drop_reason_, {}));
  if (connect_deadline_ && *connect_deadline_ <= now)
    return drop(failure::timeout,
                "no connection to " + where() + " within " + std::to_string(settings_.timeout.count()) + " ms");
  if (!pending_.empty() && pending_.front().deadline <= now)
    return drop(failure::timeout,
                "no reply from " + where() + " within " + std::to_string(settings_.timeout.count()) + " ms");
  if (reconnect_at_ && *reconnect_at_ <= now && !context_) connect();
}

void redis_link::on_stop() {
  stopping_ = true;
  reconnect_at_.reset();
  if (context_) drop(failure::lost, "the service is stopping");
}

}  // namespace agg::store
