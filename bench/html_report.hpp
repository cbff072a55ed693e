#pragma once

#include <string>
#include <utility>
#include <vector>

namespace agg::bench {

/// One benchmark run as a single HTML file: what ran, when and where, its table and its charts (the
/// SVGs inline), so that a comparison is shared as one file any browser opens offline.
struct html_report {
  std::string title;
  std::string command;                                     ///< the command line that made it
  std::vector<std::pair<std::string, std::string>> facts;  ///< name, value: the machine, the target
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> charts;  ///< SVG documents (line_chart's)

  [[nodiscard]] std::string render() const;
};

/// `text` with `&`, `<`, `>`, `"` and `'` written as character references.
std::string html_escaped(const std::string &text);

/// argv as one shell command line (arguments with spaces or quotes single-quoted).
std::string command_line(int argc, char **argv);

}  // namespace agg::bench
