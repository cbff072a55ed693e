#pragma once

#include <string>
#include <utility>
#include <vector>

namespace agg::bench {

/// One line of a chart: a name for the legend and its (x, y) points.
struct chart_series {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;
};

/// A self-contained SVG line chart (axes, ticks, legend) that any browser opens. `log_x` spaces x
/// by powers of ten (for N = 1 … 1000).
std::string line_chart(const std::string &title, const std::string &x_label, const std::string &y_label,
                       const std::vector<chart_series> &series, bool log_x);

}  // namespace agg::bench
