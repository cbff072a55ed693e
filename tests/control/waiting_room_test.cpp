#include "aggregator/control/waiting_room.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/eventually.hpp"

using agg::control::waiting_room;

namespace {

/// One end of a fresh socket pair for the room, and the client's end, which may "send" to it.
struct client {
  int room_end = -1;
  int client_end = -1;
  client() {
    int fds[2] = {-1, -1};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    room_end = fds[0];
    client_end = fds[1];
  }
  client(const client &) = delete;
  client &operator=(const client &) = delete;
  ~client() { ::close(client_end); }
  void send() const { REQUIRE(::write(client_end, "G", 1) == 1); }
  /// The room closed its end.
  [[nodiscard]] bool closed() const {
    char byte = 0;
    return ::recv(client_end, &byte, 1, MSG_DONTWAIT) == 0;
  }
};

}  // namespace

TEST_CASE("a full waiting room closes one that sent nothing, never one that has asked") {
  std::atomic<bool> release{false};
  std::mutex mutex;
  std::set<int> handed;
  waiting_room room{2, [&](int fd) {
                      while (!release) std::this_thread::yield();  // the room's thread is held up
                      const std::lock_guard lock{mutex};
                      handed.insert(fd);
                    }};
  client first;
  first.send();
  room.park(first.room_end, std::chrono::seconds{10});
  REQUIRE(agg::testing::eventually([&] { return room.waiting() == 0; }));  // taken, its hand-off held up
  // Two that have asked wait in the room (its thread is busy), then one that has not.
  client second;
  client third;
  second.send();
  third.send();
  room.park(second.room_end, std::chrono::seconds{10});
  room.park(third.room_end, std::chrono::seconds{10});
  client silent;
  room.park(silent.room_end, std::chrono::seconds{10});
  CHECK(room.refused() == 1);  // the new one: those nearest their time had both asked
  CHECK(room.evicted() == 0);
  CHECK(silent.closed());
  CHECK_FALSE(second.closed());
  CHECK_FALSE(third.closed());

  // With one that sent nothing in the room, a new one takes its place.
  release = true;
  REQUIRE(agg::testing::eventually([&] {
    const std::lock_guard lock{mutex};
    return handed.size() == 3;
  }));
  client idle;
  client next;
  client last;
  room.park(idle.room_end, std::chrono::seconds{10});
  room.park(next.room_end, std::chrono::seconds{10});
  room.park(last.room_end, std::chrono::seconds{10});
  CHECK(room.evicted() == 1);
  CHECK(idle.closed());
  room.stop();
  for (const int fd : handed) ::close(fd);
}
