#include "aggregator/io/replace_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "aggregator/io/unique_fd.hpp"

namespace agg::io {

namespace {

/// What a temporary file's name adds to the target's before mkostemp's six characters: a word no
/// other file next to it is likely to carry (`routes.json.saving-Ab12Cd`).
constexpr std::string_view temporary_suffix = ".saving-";

std::string failed(const std::string &what) { return what + ": " + std::strerror(errno); }

/// Writes all of `contents`, retrying short writes; false with errno set on failure.
bool write_all(int fd, std::string_view contents) {
  while (!contents.empty()) {
    const ssize_t n = ::write(fd, contents.data(), contents.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    contents.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// The temporary file, removed unless it was renamed into place.
class temporary_file {
 public:
  explicit temporary_file(const std::string &target) {
    name_.assign(target.begin(), target.end());
    for (const char c : temporary_suffix) name_.push_back(c);
    for (const char c : std::string_view{"XXXXXX"}) name_.push_back(c);  // mkostemp's pattern
    name_.push_back('\0');
    fd_ = unique_fd{::mkostemp(name_.data(), O_CLOEXEC)};
  }
  temporary_file(const temporary_file &) = delete;
  temporary_file &operator=(const temporary_file &) = delete;
  ~temporary_file() {
    if (!renamed_ && fd_.get() >= 0) ::unlink(name_.data());
  }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] const char *name() const noexcept { return name_.data(); }
  void close() { fd_ = unique_fd{}; }
  void mark_renamed() noexcept { renamed_ = true; }

 private:
  std::vector<char> name_;
  unique_fd fd_;
  bool renamed_ = false;
};

}  // namespace

std::optional<std::string> replace_file(const std::string &path, std::string_view contents) {
  temporary_file temporary{path};
  if (temporary.fd() < 0) return failed("cannot create a temporary file next to " + path);
  struct stat old {};
  const mode_t mode = ::stat(path.c_str(), &old) == 0 ? (old.st_mode & 07777) : 0644;
  if (::fchmod(temporary.fd(), mode) != 0)
    return failed("cannot set the permissions of " + std::string{temporary.name()});
  if (!write_all(temporary.fd(), contents)) return failed("cannot write " + std::string{temporary.name()});
  if (::fsync(temporary.fd()) != 0) return failed("cannot flush " + std::string{temporary.name()});
  temporary.close();
  if (::rename(temporary.name(), path.c_str()) != 0) return failed("cannot rename the new file onto " + path);
  temporary.mark_renamed();
  // The rename is durable once the directory entry is on disk.
  const std::filesystem::path parent = std::filesystem::path{path}.parent_path();
  const std::string directory = parent.empty() ? std::filesystem::path{"."}.string() : parent.string();
  const unique_fd dir{::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) return failed("cannot flush the directory " + directory);
  return std::nullopt;
}

std::vector<std::string> remove_stale_temporaries(const std::string &path, std::chrono::seconds min_age) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  const fs::path target{path};
  const fs::path directory = target.parent_path().empty() ? fs::path{"."} : target.parent_path();
  const std::string prefix = target.filename().string() + std::string{temporary_suffix};
  const auto stale_before = fs::file_time_type::clock::now() - min_age;
  std::error_code error;
  for (const auto &entry : fs::directory_iterator{directory, error}) {
    const std::string name = entry.path().filename().string();
    // mkostemp's six characters are letters and digits.
    if (name.size() != prefix.size() + 6 || !name.starts_with(prefix) ||
        !std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0; }))
      continue;
    std::error_code ignored;
    if (!entry.is_regular_file(ignored) || entry.last_write_time(ignored) > stale_before || ignored) continue;
    if (fs::remove(entry.path(), ignored)) removed.push_back(entry.path().string());
  }
  return removed;
}

}  // namespace agg::io
