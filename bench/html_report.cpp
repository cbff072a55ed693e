#include "bench/html_report.hpp"

#include <unistd.h>

#include <ctime>
#include <thread>

namespace agg::bench {

std::string html_escaped(const std::string &text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string command_line(int argc, char **argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i > 0) line += ' ';
    if (!arg.empty() && arg.find_first_of(" \t'\"$\\&;|<>*?()") == std::string::npos) {
      line += arg;
      continue;
    }
    line += '\'';
    for (const char c : arg) line += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
    line += '\'';
  }
  return line;
}

std::string html_report::render() const {
  char when[64] = "";
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  if (gmtime_r(&now, &utc) != nullptr) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &utc);
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';

  std::string out =
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escaped(title) +
      "</title>\n<style>\n"
      "body{font:15px/1.45 system-ui,sans-serif;color:#1a202c;max-width:1100px;margin:20px auto;padding:0 20px}\n"
      "table{border-collapse:collapse;margin:12px 0}th,td{border-bottom:1px solid #cbd5e0;padding:4px 14px 4px 0;"
      "text-align:right;font-variant-numeric:tabular-nums}th:first-child,td:first-child{text-align:left}\n"
      "code{background:#edf2f7;padding:2px 5px;border-radius:3px;overflow-wrap:anywhere}dt{font-weight:600}"
      "dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px}dd{margin:0}\n"
      "figure{margin:16px 0}svg{max-width:100%;height:auto}\n</style>\n</head>\n<body>\n<h1>" +
      html_escaped(title) + "</h1>\n<p><code>" + html_escaped(command) + "</code></p>\n<dl>\n";
  std::vector<std::pair<std::string, std::string>> all{
      {"when", when},
      {"machine", std::string{host} + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores"}};
  all.insert(all.end(), facts.begin(), facts.end());
  for (const auto &[name, value] : all)
    out += "<dt>" + html_escaped(name) + "</dt><dd>" + html_escaped(value) + "</dd>\n";
  out += "</dl>\n<table>\n<thead><tr>";
  for (const auto &column : columns) out += "<th scope=\"col\">" + html_escaped(column) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto &row : rows) {
    out += "<tr>";
    for (const auto &cell : row) out += "<td>" + html_escaped(cell) + "</td>";
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  for (const auto &chart : charts) out += "<figure>\n" + chart + "</figure>\n";
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace agg::bench
