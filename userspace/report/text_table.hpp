// TextTable: aligned plain-text columns for the report (internal).
#pragma once

#include <string>
#include <vector>

namespace irqbpfd::report {

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

}  // namespace irqbpfd::report
