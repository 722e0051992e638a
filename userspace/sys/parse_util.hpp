// Internal to the sys module: the small text tools every /proc and /sys parser
// shares (whitespace tokens, strict numbers, line walking, the "CPU0 CPU2"
// column header). Nothing here allocates per token.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"

namespace irqbpfd::sys::detail {

constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

constexpr std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

constexpr std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

// Takes the next whitespace-separated token off the front of `rest`; an empty
// view when none is left.
constexpr std::string_view next_token(std::string_view& rest) {
  rest = trim_left(rest);
  std::size_t end = 0;
  while (end < rest.size() && !is_space(rest[end])) ++end;
  const std::string_view token = rest.substr(0, end);
  rest.remove_prefix(end);
  return token;
}

// Strict decimal: the whole view must be the number (no sign, no spaces).
template <class T>
std::optional<T> parse_decimal(std::string_view s) {
  T value{};
  if (s.empty()) return std::nullopt;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value, 10);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

// Hex with an optional "0x" prefix, as sysfs prints class/vendor/device.
template <class T>
std::optional<T> parse_hex(std::string_view s) {
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  T value{};
  if (s.empty()) return std::nullopt;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value, 16);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

// Walks text line by line with 1-based numbers; the last line may lack '\n'.
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}

  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    const std::size_t nl = text_.find('\n', pos_);
    const std::size_t end = nl == std::string_view::npos ? text_.size() : nl;
    line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++number_;
    return true;
  }
  [[nodiscard]] std::size_t number() const { return number_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t number_ = 0;
};

// "source:line: what"
core::Error line_error(std::string_view source, std::size_t line, std::string_view what);

// The column header of /proc/interrupts and /proc/softirqs:
//   "           CPU0       CPU2       CPU3       "
// Ids come from the names (hotplugged-out CPUs leave gaps); a token that is
// not "CPU<n>" or a repeated id is an error naming source and line.
core::Result<std::vector<core::CpuId>> parse_cpu_header(std::string_view line, std::string_view source,
                                                        std::size_t line_number);

// A sysfs file with one value: the text without its trailing newline.
inline std::string_view value_of(std::string_view file_text) { return trim(file_text); }

}  // namespace irqbpfd::sys::detail
