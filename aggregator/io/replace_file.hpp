#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agg::io {

/// Replaces the contents of `path` atomically: writes a temporary file next to it, flushes it to
/// disk, renames it over `path` and flushes the directory, so a reader (or a crash) sees the old
/// file or the new one, never a mix. Keeps the old file's permission bits. On failure `path` is
/// untouched, nothing is left behind, and the reason comes back.
std::optional<std::string> replace_file(const std::string &path, std::string_view contents);

/// Removes the temporary files replace_file() left next to `path` when its process was killed
/// during a save (`<name>.saving-XXXXXX`) and not changed for `min_age` (a save takes milliseconds: a
/// younger one may be another process's save in progress). Returns the paths removed.
std::vector<std::string> remove_stale_temporaries(const std::string &path, std::chrono::seconds min_age);

}  // namespace agg::io
