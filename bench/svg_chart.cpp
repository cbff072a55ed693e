#include "bench/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace agg::bench {

namespace {

constexpr double width = 720, height = 420, left = 84, right = 160, top = 40, bottom = 60;

std::string fmt(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

/// 1, 2 or 5 times a power of ten: the step of about five ticks from 0 to `max`.
double tick_step(double max) {
  const double rough = max / 5;
  const double power = std::pow(10, std::floor(std::log10(rough)));
  for (const double m : {1.0, 2.0, 5.0})
    if (rough <= m * power) return m * power;
  return 10 * power;
}

/// A tick's value with the decimals its step needs (0.05 -> 2, 20 -> 0), so 0.2276 never shows.
std::string tick_text(double v, double step) {
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

}  // namespace

std::string line_chart(const std::string &title, const std::string &x_label, const std::string &y_label,
                       const std::vector<chart_series> &series, bool log_x) {
  double x_min = INFINITY, x_max = -INFINITY, y_max = 0;
  for (const auto &s : series)
    for (const auto &[x, y] : s.points) {
      const double xv = log_x ? std::log10(x) : x;
      x_min = std::min(x_min, xv);
      x_max = std::max(x_max, xv);
      y_max = std::max(y_max, y);
    }
  if (!std::isfinite(x_min)) x_min = 0, x_max = 1;
  if (x_max == x_min) x_min -= 1, x_max += 1;  // one measured x: in the middle
  if (y_max <= 0) y_max = 1;
  const double y_step = tick_step(y_max * 1.05);
  y_max = std::ceil(y_max * 1.05 / y_step) * y_step;  // the top tick is a round value above every point
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  const auto px = [&](double x) { return left + ((log_x ? std::log10(x) : x) - x_min) / (x_max - x_min) * plot_w; };
  const auto py = [&](double y) { return top + plot_h - y / y_max * plot_h; };

  std::string svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt(width) + "\" height=\"" + fmt(height) +
      "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + fmt(width / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + title + "</text>\n";
  svg += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(top + plot_h) + "\" x2=\"" + fmt(left + plot_w) + "\" y2=\"" +
         fmt(top + plot_h) + "\" stroke=\"black\"/>\n";
  svg += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(top) + "\" x2=\"" + fmt(left) + "\" y2=\"" + fmt(top + plot_h) +
         "\" stroke=\"black\"/>\n";
  for (int i = 0; i * y_step <= y_max * (1 + 1e-9); ++i) {  // y ticks
    const double y = i * y_step;
    svg += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(py(y)) + "\" x2=\"" + fmt(left + plot_w) + "\" y2=\"" +
           fmt(py(y)) + "\" stroke=\"#ddd\"/>\n<text x=\"" + fmt(left - 6) + "\" y=\"" + fmt(py(y) + 4) +
           "\" text-anchor=\"end\">" + tick_text(y, y_step) + "</text>\n";
  }
  std::vector<double> xs;
  for (const auto &s : series)
    for (const auto &p : s.points) xs.push_back(p.first);
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  // x ticks at the measured points; of many (a soak's samples), every k-th, so that about ten show.
  const std::size_t every = std::max<std::size_t>(1, (xs.size() + 9) / 10);
  for (std::size_t i = 0; i < xs.size(); i += every)
    svg += "<text x=\"" + fmt(px(xs[i])) + "\" y=\"" + fmt(top + plot_h + 18) + "\" text-anchor=\"middle\">" +
           fmt(xs[i]) + "</text>\n";
  svg += "<text x=\"" + fmt(left + plot_w / 2) + "\" y=\"" + fmt(height - 16) + "\" text-anchor=\"middle\">" + x_label +
         "</text>\n<text transform=\"translate(14," + fmt(top + plot_h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + y_label + "</text>\n";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto &s = series[i];
    std::string points;
    for (const auto &[x, y] : s.points) points += fmt(px(x)) + "," + fmt(py(y)) + " ";
    svg += "<polyline fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"2\" points=\"" + points + "\"/>\n";
    for (const auto &[x, y] : s.points) {
      svg += "<circle cx=\"" + fmt(px(x)) + "\" cy=\"" + fmt(py(y)) + "\" r=\"3\" fill=\"" + s.color + "\"/>\n";
      // One measured x (a single concurrency) makes no line: each value is written beside its dot.
      if (xs.size() == 1)
        svg += "<text x=\"" + fmt(px(x) + 8) + "\" y=\"" + fmt(py(y) + 4) + "\" fill=\"" + s.color + "\">" + fmt(y) +
               "</text>\n";
    }
    const double ly = top + 10 + 20.0 * static_cast<double>(i);
    svg += "<rect x=\"" + fmt(width - right + 16) + "\" y=\"" + fmt(ly - 9) + "\" width=\"12\" height=\"12\" fill=\"" +
           s.color + "\"/>\n<text x=\"" + fmt(width - right + 34) + "\" y=\"" + fmt(ly + 2) + "\">" + s.name +
           "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace agg::bench
