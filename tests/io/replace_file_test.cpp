// Saving the config file: atomic replacement, and the leftovers of a save that was killed.

#include "aggregator/io/replace_file.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/scratch_dir.hpp"

namespace {

std::string read_text(const std::string &path) {
  std::ifstream in{path};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("replace_file swaps the contents, keeps the permissions and leaves no temporary file") {
  const agg::testing::scratch_dir dir;
  const std::string path = dir.file("routes.json", "old");
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  CHECK_FALSE(agg::io::replace_file(path, "new"));
  CHECK(read_text(path) == "new");
  struct stat now {};
  REQUIRE(::stat(path.c_str(), &now) == 0);
  CHECK((now.st_mode & 07777) == 0600);
  CHECK(std::distance(std::filesystem::directory_iterator{dir.path}, std::filesystem::directory_iterator{}) == 1);
}

TEST_CASE("a save killed half-way leaves a temporary file that the next start removes once it is stale") {
  namespace fs = std::filesystem;
  const agg::testing::scratch_dir dir;
  const std::string path = dir.file("routes.json", "{}");
  const std::string stale = dir.file("routes.json.saving-Ab12Cd", "{\"half");    // a kill during a save, an hour ago
  const std::string fresh = dir.file("routes.json.saving-Zz99Yy", "{\"saving");  // another process saving now
  const std::string backup = dir.file("routes.json.backup", "{}");               // not replace_file's
  const std::string near = dir.file("routes.json.saving-abc", "{}");
  const std::string other = dir.file("other.json.saving-AAAAAA", "{}");  // another file's
  for (const auto &old : {stale, backup, other, near})
    fs::last_write_time(old, fs::file_time_type::clock::now() - std::chrono::hours{1});
  const auto removed = agg::io::remove_stale_temporaries(path, std::chrono::seconds{60});
  CHECK(removed == std::vector<std::string>{stale});
  CHECK_FALSE(fs::exists(stale));
  for (const auto &kept : {path, fresh, backup, other, near}) CHECK(fs::exists(kept));
}
