#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

extern char **environ;

namespace agg::process {

/// A program run with its stdout and stderr on one pipe; killed and reaped on destruction. For the
/// tests and the benchmark tool, which start the built binaries.
class child_process {
 public:
  explicit child_process(std::vector<std::string> argv) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char *> args;
    for (auto &a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      throw std::runtime_error("cannot start " + argv[0]);
    }
    out_ = ::fdopen(fds[0], "r");
  }
  child_process(const child_process &) = delete;
  child_process &operator=(const child_process &) = delete;
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    if (out_) std::fclose(out_);
  }

  /// The next line of output, without its newline; empty at end of output.
  std::string line() {
    char buffer[1024];
    if (std::fgets(buffer, sizeof buffer, out_) == nullptr) return {};
    std::string text{buffer};
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }
  /// The output up to the first line containing `text`, everything read; throws with what was read
  /// when the output ends first.
  std::string read_until(const std::string &text) {
    std::string seen;
    for (std::string l = line(); !l.empty(); l = line()) {
      seen += l + "\n";
      if (l.find(text) != std::string::npos) return seen;
    }
    throw std::runtime_error("the program's output ended before \"" + text + "\":\n" + seen);
  }
  /// True once the program's output has ended.
  [[nodiscard]] bool ended() const { return std::feof(out_) != 0 || std::ferror(out_) != 0; }
  /// Everything still to come, until the program closes its output.
  std::string rest() {
    std::string all;
    for (std::string l = line(); !l.empty() || !std::feof(out_); l = line()) all += l + "\n";
    return all;
  }
  /// The port from the next "... listening on http[s]://HOST:PORT" line (the aggregator prints its
  /// data plane's, then its control plane's; the upstream one); throws with what the program
  /// printed when its output ends first (it failed to start).
  int listening_port() {
    std::string seen;
    for (std::string text = line(); !text.empty(); text = line()) {
      const std::size_t at = text.find("listening on http");
      const std::size_t host = at == std::string::npos ? at : text.find("://", at);
      // The port follows the authority's last colon: an IPv6 host ([::1]) holds colons of its own.
      const std::size_t end = host == std::string::npos ? host : text.find_first_of(" /", host + 3);
      const std::size_t colon = host == std::string::npos ? host : text.rfind(':', end);
      if (colon != std::string::npos && colon > host) return std::stoi(text.substr(colon + 1));
      seen += text + "\n";
    }
    throw std::runtime_error("the program did not start: " + seen);
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// Waits for the program to end; its exit status, or 128 + signal.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  std::FILE *out_ = nullptr;
};

}  // namespace agg::process
