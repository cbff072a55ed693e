// A descriptor number outlives curl's socket: events that still name a closed socket must not touch
// whatever took its number since (a client connection, a file).

#include "aggregator/client/curl_sockets.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "aggregator/io/unique_fd.hpp"
#include "tests/support/eventually.hpp"

using agg::client::curl_sockets;
using agg::io::unique_fd;

namespace {

/// A connected pair of sockets: [0] the one watched, [1] its peer.
struct socket_pair {
  unique_fd ends[2];
  socket_pair() {
    int fds[2] = {-1, -1};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    ends[0] = unique_fd{fds[0]};
    ends[1] = unique_fd{fds[1]};
  }
};

/// A loop with a table of curl's sockets on it, and one upstream socket for curl (its number is
/// `number` until it is closed).
struct on_a_loop {
  agg::loop::event_loop loop;
  std::atomic<int> ready{0};
  std::optional<curl_sockets> table;
  socket_pair upstream;
  const int number = upstream.ends[0].get();
  on_a_loop() { loop.start(); }
  /// Makes the table (on the loop): a ready socket only counts.
  void make_table() {
    table.emplace(loop, [this](curl_sockets::socket &, std::uint32_t) { ++ready; });
  }
};

/// Records the events a client connection's socket reports.
struct client_connection final : agg::loop::io_handler {
  std::atomic<int> events{0};
  void on_events(std::uint32_t) override { ++events; }
};

}  // namespace

TEST_CASE_METHOD(
    on_a_loop,
    "a stale event of a socket curl closed without a word leaves the client connection with its number alone") {
  curl_sockets::socket *stale = nullptr;
  REQUIRE(loop.call([&] {
    make_table();
    auto &s = table->born(number);
    table->want(s, EPOLLIN);
    table->want(s, 0);  // CURL_POLL_REMOVE: pooled, still registered
    stale = &s;
  }));
  // curl_multi_remove_handle closes it without the close callback; a client connection accepted in
  // the same round takes the number.
  upstream.ends[0] = unique_fd{};
  socket_pair client;
  REQUIRE(client.ends[0].get() == number);
  client_connection connection;
  REQUIRE(loop.call([&] {
    loop.watch(number, EPOLLIN, connection);
    stale->on_events(EPOLLIN);  // what the batch read before the close still says of the old socket
  }));
  REQUIRE(::write(client.ends[1].get(), "x", 1) == 1);
  CHECK(agg::testing::eventually([&] { return connection.events > 0; }));  // still watched
  CHECK(ready == 0);
  REQUIRE(loop.call([&] {
    loop.unwatch(number);
    table.reset();
  }));
}

TEST_CASE_METHOD(on_a_loop, "a socket curl closes is retired: an event of the same batch that names it is ignored") {
  REQUIRE(loop.call([&] {
    make_table();
    auto &s = table->born(number);
    table->want(s, EPOLLIN);
    table->closing(number);  // CURLOPT_CLOSESOCKETFUNCTION
    upstream.ends[0] = unique_fd{};
    // The number is now a file's (a TLS handshake reading its CA file): a stale event must not
    // reach curl or epoll (epoll_ctl DEL on a file fails with EPERM).
    const unique_fd file{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
    REQUIRE(file.get() == number);
    s.on_events(EPOLLIN);
    auto &again = table->at(number);  // a new life, not the retired one
    CHECK(&again != &s);
    CHECK_FALSE(again.retired);
    CHECK(again.registered == 0);
    table->release_retired();
    table.reset();
  }));
  CHECK(ready == 0);
}
