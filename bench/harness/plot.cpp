#include "harness/plot.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <utility>

#ifndef SHMKIT_VERSION
#error "SHMKIT_VERSION must be defined by the build"
#endif

namespace shmkit::bench {
namespace {

// Geometry, in SVG user units (pixels). Labels and numbers are monospace, so
// a text's width is its length times kCharWidth.
constexpr double kMargin = 16;
constexpr double kFontSize = 12;
constexpr double kCharWidth = 7.3;  // of a 12 px monospace glyph, a little generous
constexpr std::size_t kMaxLabel = 56;
constexpr double kPlotWidth = 520;
constexpr double kRowHeight = 18;
constexpr double kBarHeight = 10;
constexpr double kPanelHead = 44;  // the panel title and the axis labels
constexpr double kPanelGap = 18;
constexpr double kTitleHeight = 86;

constexpr const char* kShmkitColour = "#1f77b4";
constexpr const char* kFloorColour = "#8c8c8c";
constexpr const char* kOtherColour = "#ff7f0e";

struct Row {
  std::string label;  // "case / system"
  Summary summary;
  const char* colour;
};

struct Panel {
  Metric metric;
  std::vector<Row> rows;
};

// Where a value lies on a panel's axis, 0..1.
struct Scale {
  bool log = false;
  double lo = 0;  // the axis' ends: decades when log
  double hi = 1;

  [[nodiscard]] double fraction(double v) const {
    if (!std::isfinite(v)) return 0;  // a broken figure: a bar of nothing, still valid SVG
    if (log) {
      if (v <= lo) return 0;
      return std::min(1.0, (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)));
    }
    return std::clamp((v - lo) / (hi - lo), 0.0, 1.0);
  }
};

// Text for SVG: the five XML escapes, and no control characters (XML 1.0
// forbids most of them, even escaped).
std::string xml(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    }
  }
  return out;
}

// A coordinate: one decimal is finer than a pixel; "%.1f" in the C locale
// (shmkit-bench never calls setlocale) always writes a '.'.
std::string num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

// An axis label: 0.01, 1, 250, 10k, 2.5M.
std::string tick_label(double v) {
  char buffer[32];
  const double a = std::fabs(v);
  if (a >= 1e9) {
    std::snprintf(buffer, sizeof buffer, "%.3gG", v / 1e9);
  } else if (a >= 1e6) {
    std::snprintf(buffer, sizeof buffer, "%.3gM", v / 1e6);
  } else if (a >= 1e4) {
    std::snprintf(buffer, sizeof buffer, "%.3gk", v / 1e3);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.4g", v);  // 1000, not 1e+03
  }
  return buffer;
}

// "29.6k [28.8k .. 30.0k] ns": the numbers at the right of a row.
std::string numbers_text(const Summary& s, const std::string& unit) {
  return format_value(s.median) + " [" + format_value(s.min) + " .. " + format_value(s.max) + "] " +
         unit;
}

std::string clip(std::string s) {
  if (s.size() > kMaxLabel) s = s.substr(0, kMaxLabel - 3) + "...";
  return s;
}

bool is_shmkit(const std::string& system) { return system.rfind("shmkit", 0) == 0; }

// The panels: every figure of every case that ran to the end (a failed case's
// figures are partial), grouped by metric, best first.
std::vector<Panel> make_panels(const std::vector<CaseResult>& results) {
  std::vector<Panel> panels;
  for (const CaseResult& r : results) {
    if (r.status != Status::ok) continue;
    for (const Series& s : r.series) {
      if (s.values.empty()) continue;
      auto panel = std::find_if(panels.begin(), panels.end(), [&](const Panel& p) {
        return p.metric.name == s.metric.name && p.metric.unit == s.metric.unit;
      });
      if (panel == panels.end()) panel = panels.insert(panels.end(), Panel{s.metric, {}});
      const char* colour = is_shmkit(s.system)  ? kShmkitColour
                           : r.group == "floor" ? kFloorColour
                                                : kOtherColour;
      panel->rows.push_back({clip(r.name + " / " + s.system), summarize(s.values), colour});
    }
  }
  for (Panel& p : panels) {
    const bool lower = p.metric.better == Better::lower;
    std::stable_sort(p.rows.begin(), p.rows.end(), [lower](const Row& a, const Row& b) {
      return lower ? a.summary.median < b.summary.median : a.summary.median > b.summary.median;
    });
  }
  return panels;
}

// A step of 1, 2 or 5 times a power of ten giving about five ticks up to `hi`.
double nice_step(double hi) {
  const double rough = hi / 5;
  const double decade = std::pow(10.0, std::floor(std::log10(rough)));
  for (const double m : {1.0, 2.0, 5.0}) {
    if (m * decade >= rough) return m * decade;
  }
  return 10 * decade;
}

// Logarithmic when the panel's positive values span 10x or more (Python's
// figures beside shmkit's span 1000x): a linear axis would flatten all but the
// largest to nothing. Else linear from 0, so bar lengths compare directly.
Scale make_scale(const Panel& p) {
  double lo = 0;
  double hi = 0;
  for (const Row& r : p.rows) {
    for (const double v : {r.summary.min, r.summary.median, r.summary.max}) {
      if (!std::isfinite(v)) continue;
      if (v > 0 && (lo == 0 || v < lo)) lo = v;
      hi = std::max(hi, v);
    }
  }
  Scale s;
  if (hi <= 0) return s;  // nothing positive: an empty linear axis
  if (hi / lo >= 10) {
    s.log = true;
    s.lo = std::pow(10.0, std::floor(std::log10(lo)));
    s.hi = std::pow(10.0, std::ceil(std::log10(hi)));
    if (s.hi <= s.lo) s.hi = s.lo * 10;
    return s;
  }
  const double step = nice_step(hi);
  s.hi = std::ceil(hi / step) * step;
  return s;
}

std::vector<double> ticks(const Scale& s) {
  std::vector<double> out;
  if (s.log) {
    for (double v = s.lo; v <= s.hi * 1.001; v *= 10) out.push_back(v);
  } else {
    const double step = nice_step(s.hi);
    for (int i = 0; i * step <= s.hi * 1.001; ++i) out.push_back(i * step);
  }
  return out;
}

class SvgWriter {
 public:
  SvgWriter(std::ostream& out, double label_width, double numbers_width)
      : out_(out), label_width_(label_width), numbers_width_(numbers_width) {}

  [[nodiscard]] double plot_x() const { return kMargin + label_width_ + 10; }
  [[nodiscard]] double width() const {
    return plot_x() + kPlotWidth + 10 + numbers_width_ + kMargin;
  }

  void text(double x, double y, const std::string& s, const std::string& attributes = "") {
    out_ << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\"" << attributes << ">" << xml(s)
         << "</text>\n";
  }
  void line(double x1, double y1, double x2, double y2, const std::string& attributes) {
    out_ << "<line x1=\"" << num(x1) << "\" y1=\"" << num(y1) << "\" x2=\"" << num(x2) << "\" y2=\""
         << num(y2) << "\" " << attributes << "/>\n";
  }
  void rect(double x, double y, double w, double h, const std::string& attributes) {
    out_ << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(w)
         << "\" height=\"" << num(h) << "\" " << attributes << "/>\n";
  }
  // One panel with its top at y; returns the y below it.
  double panel(const Panel& p, double y);

 private:
  void axis(const Scale& scale, double top, double bottom);
  void row(const Row& r, const Scale& scale, const std::string& unit, double y);

  std::ostream& out_;
  double label_width_;
  double numbers_width_;
};

void SvgWriter::axis(const Scale& scale, double top, double bottom) {
  for (const double v : ticks(scale)) {
    const double x = plot_x() + scale.fraction(v) * kPlotWidth;
    line(x, top, x, bottom, "stroke=\"#d0d0d0\" stroke-width=\"1\"");
    text(x, top - 4, tick_label(v), " text-anchor=\"middle\" class=\"tick\"");
  }
}

void SvgWriter::row(const Row& r, const Scale& scale, const std::string& unit, double y) {
  const Summary& s = r.summary;
  const double mid = y + kRowHeight / 2;
  const auto x_of = [&](double v) { return plot_x() + scale.fraction(v) * kPlotWidth; };
  const std::string numbers = numbers_text(s, unit);
  // A tooltip for viewers that show one (browsers do).
  out_ << "<g><title>"
       << xml(r.label + ": median " + numbers + ", p25 " + format_value(s.p25) + ", p75 " +
              format_value(s.p75) + ", " + std::to_string(s.n) + " repetitions")
       << "</title>\n";
  text(plot_x() - 8, mid + 4, r.label, " text-anchor=\"end\"");
  rect(plot_x(), mid - kBarHeight / 2, x_of(s.median) - plot_x(), kBarHeight,
       std::string("fill=\"") + r.colour + "\" fill-opacity=\"0.85\"");
  line(x_of(s.min), mid, x_of(s.max), mid, "stroke=\"#222\" stroke-width=\"1\"");
  line(x_of(s.min), mid - 4, x_of(s.min), mid + 4, "stroke=\"#222\" stroke-width=\"1\"");
  line(x_of(s.max), mid - 4, x_of(s.max), mid + 4, "stroke=\"#222\" stroke-width=\"1\"");
  line(x_of(s.p25), mid, x_of(s.p75), mid, "stroke=\"#222\" stroke-width=\"4\"");
  text(plot_x() + kPlotWidth + 10, mid + 4, numbers);
  out_ << "</g>\n";
}

double SvgWriter::panel(const Panel& p, double y) {
  const Scale scale = make_scale(p);
  const bool lower = p.metric.better == Better::lower;
  text(kMargin, y + 14,
       p.metric.name + " (" + p.metric.unit + "): " + (lower ? "lower" : "higher") +
           " is better; " + (scale.log ? "log scale" : "linear scale"),
       " class=\"panel\"");
  const double top = y + kPanelHead;
  const double bottom = top + static_cast<double>(p.rows.size()) * kRowHeight;
  for (std::size_t i = 0; i < p.rows.size(); i += 2) {  // bands, to follow a row across
    rect(kMargin, top + static_cast<double>(i) * kRowHeight, width() - 2 * kMargin, kRowHeight,
         "fill=\"#f4f4f4\"");
  }
  axis(scale, top, bottom);
  for (std::size_t i = 0; i < p.rows.size(); ++i) {
    row(p.rows[i], scale, p.metric.unit, top + static_cast<double>(i) * kRowHeight);
  }
  line(plot_x(), top, plot_x(), bottom, "stroke=\"#444\" stroke-width=\"1\"");
  return bottom + kPanelGap;
}

// "failed, not drawn: queue.bandwidth; 3 cases skipped", or empty.
std::string left_out(const std::vector<CaseResult>& results) {
  std::string failed;
  std::size_t skipped = 0;
  for (const CaseResult& r : results) {
    if (r.status == Status::failed) failed += (failed.empty() ? "" : ", ") + r.name;
    if (r.status == Status::skipped) ++skipped;
  }
  std::string s;
  if (!failed.empty()) s = "failed, not drawn: " + failed;
  if (skipped > 0) {
    s += (s.empty() ? "" : "; ") + std::to_string(skipped) +
         (skipped == 1 ? " case skipped" : " cases skipped");
  }
  return s;
}

void legend(SvgWriter& svg, double x, double y) {
  const std::pair<const char*, const char*> keys[] = {
      {kShmkitColour, "shmkit"}, {kOtherColour, "peers, other systems"}, {kFloorColour, "floors"}};
  for (const auto& [colour, name] : keys) {
    svg.rect(x, y - 9, 14, 10, std::string("fill=\"") + colour + "\"");
    svg.text(x + 20, y, name);
    x += 20 + static_cast<double>(std::char_traits<char>::length(name)) * kCharWidth + 18;
  }
}

}  // namespace

bool is_svg_path(const std::string& path) {
  if (path.size() < 4) return false;
  std::string ext = path.substr(path.size() - 4);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".svg";
}

void write_svg(std::ostream& out, const MachineInfo& m, const RunOptions& options,
               const std::vector<CaseResult>& results) {
  const std::vector<Panel> panels = make_panels(results);
  std::size_t label_chars = 12;
  std::size_t numbers_chars = 24;
  for (const Panel& p : panels) {
    for (const Row& r : p.rows) {
      label_chars = std::max(label_chars, r.label.size());
      numbers_chars = std::max(numbers_chars, numbers_text(r.summary, p.metric.unit).size());
    }
  }
  SvgWriter svg(out, static_cast<double>(label_chars) * kCharWidth,
                static_cast<double>(numbers_chars) * kCharWidth);
  double height = kTitleHeight + kMargin;
  for (const Panel& p : panels) {
    height += kPanelHead + static_cast<double>(p.rows.size()) * kRowHeight + kPanelGap;
  }
  if (panels.empty()) height += kRowHeight;

  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(svg.width())
      << "\" height=\"" << num(height) << "\" viewBox=\"0 0 " << num(svg.width()) << ' '
      << num(height) << "\" font-family=\"monospace\" font-size=\"" << num(kFontSize) << "\">\n"
      << "<style>.title{font-size:16px;font-weight:bold} .panel{font-weight:bold} "
         ".tick{font-size:10px;fill:#555}</style>\n";
  svg.rect(0, 0, svg.width(), height, "fill=\"white\"");
  svg.text(kMargin, 24, std::string("shmkit-bench ") + SHMKIT_VERSION + ": each case's figures",
           " class=\"title\"");
  svg.text(kMargin, 42,
           m.cpu_model + ", " + std::to_string(m.online_cpus) + " CPUs online; " + m.kernel + "; " +
               m.date);
  svg.text(kMargin, 58,
           "bar: median of " + std::to_string(options.repetitions) + " repetitions of " +
               std::to_string(options.duration.count()) + " ms" +
               (options.quick ? " (--quick)" : "") +
               "; thick line: p25..p75; thin line: min..max; rows best first");
  legend(svg, kMargin, 76);
  const std::string missing = left_out(results);
  if (!missing.empty()) {
    svg.text(kMargin + 400, 76, missing, " fill=\"#b00\"");
  }
  double y = kTitleHeight;
  for (const Panel& p : panels) y = svg.panel(p, y);
  if (panels.empty()) svg.text(kMargin, y + 14, "no figures: no case ran to the end");
  out << "</svg>\n";
}

}  // namespace shmkit::bench
