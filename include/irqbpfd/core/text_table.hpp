// TextTable: aligned plain-text columns, and the texts of its common cells
// (durations, loads); shared by the report and irqbpfctl's tables. Pure:
// cells in, text out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace irqbpfd::core {

class TextTable {
 public:
  enum class Align { kLeft, kRight };
  void add_column(std::string header, Align align) {
    headers_.push_back(std::move(header));
    aligns_.push_back(align);
  }
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  [[nodiscard]] std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> aligns_;
  std::vector<std::vector<std::string>> rows_;
};

// A duration as tables print it: "850ns", "12.3us", "4.56ms", "1.20s"; "-"
// when unknown.
std::string duration_text(std::optional<std::uint64_t> ns);
// A load as a percentage of one CPU over a window of `window_s`: "12.34",
// "<0.01" for a little, "~" before an estimate; "-" when unknown.
std::string load_pct_text(std::optional<std::uint64_t> ns, double window_s, bool estimated);

}  // namespace irqbpfd::core
