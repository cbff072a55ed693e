#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

namespace agg::testing {

/// A fresh folder for one test's files, removed afterwards.
struct scratch_dir {
  std::filesystem::path path;

  scratch_dir() {
    static std::atomic<int> made{0};
    path = std::filesystem::temp_directory_path() /
           ("agg-test-" + std::to_string(::getpid()) + "-" + std::to_string(made.fetch_add(1)));
    std::filesystem::create_directories(path);
  }
  scratch_dir(const scratch_dir &) = delete;
  scratch_dir &operator=(const scratch_dir &) = delete;
  ~scratch_dir() { std::filesystem::remove_all(path); }

  /// Writes `text` to `name` in the folder, readable and writable by its owner only (as a token or
  /// a key must be); its path.
  std::string file(const std::string &name, const std::string &text) const {
    const auto p = (path / name).string();
    std::ofstream{p} << text;
    std::filesystem::permissions(p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return p;
  }
};

}  // namespace agg::testing
