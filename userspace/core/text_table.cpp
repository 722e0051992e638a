// TextTable: widths from the widest cell, two spaces between columns, no
// trailing blanks; duration_text() picks the unit by magnitude and
// load_pct_text() marks estimates with '~'.
#include "irqbpfd/core/text_table.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace irqbpfd::core {

std::string TextTable::render() const {
  std::vector<std::size_t> width(headers_.size(), 0);
  for (std::size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size();
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  const auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t c = 0; c < headers_.size(); ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      const std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
      if (c > 0) line += "  ";
      line += aligns_[c] == Align::kRight ? pad + cell : cell + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  emit(headers_);
  for (const auto& row : rows_) emit(row);
  return out;
}

std::string duration_text(std::optional<std::uint64_t> ns) {
  if (!ns) return "-";
  const double v = static_cast<double>(*ns);
  if (*ns < 1000) return fmt::format("{}ns", *ns);
  if (*ns < 1'000'000) return fmt::format("{:.1f}us", v / 1e3);
  if (*ns < 1'000'000'000) return fmt::format("{:.2f}ms", v / 1e6);
  return fmt::format("{:.2f}s", v / 1e9);
}

std::string load_pct_text(std::optional<std::uint64_t> ns, double window_s, bool estimated) {
  if (!ns || window_s <= 0) return "-";
  const double pct = 100.0 * static_cast<double>(*ns) / (window_s * 1e9);
  if (*ns > 0 && pct < 0.01) return fmt::format("{}<0.01", estimated ? "~" : "");
  return fmt::format("{}{:.2f}", estimated ? "~" : "", pct);
}

}  // namespace irqbpfd::core
