// /proc/stat (cpu time lines, intr, softirq, btime) and /proc/softirqs
// (per-vector rows under a CPU column header): pure parsers and their readers.
#include "irqbpfd/sys/proc_stat.hpp"

#include <fmt/format.h>

#include <array>

#include "parse_util.hpp"

namespace irqbpfd::sys {
namespace {

using detail::line_error;
using detail::next_token;
using detail::parse_decimal;
using detail::trim;

// Reads every remaining token of `rest` as an unsigned number into `out`.
// Errors name the line's key and the 1-based column after the key.
core::Result<void> read_numbers(std::string_view rest, std::vector<std::uint64_t>& out, std::string_view source,
                                std::size_t line, std::string_view key) {
  for (std::string_view token = next_token(rest); !token.empty(); token = next_token(rest)) {
    const auto value = parse_decimal<std::uint64_t>(token);
    if (!value) {
      return line_error(source, line, fmt::format("{}: bad number '{}' in column {}", key, token, out.size() + 1));
    }
    out.push_back(*value);
  }
  return {};
}

// "cpu3 932 0 1217 319567 45 0 7 172 0 0": user nice system idle iowait irq
// softirq steal guest guest_nice. Linux 2.6.11 printed 7 columns, 2.6.24
// added guest, 2.6.33 guest_nice; absent columns stay 0, extra ones (a future
// kernel's) are ignored.
core::Result<void> parse_cpu_line(std::string_view rest, CpuTimes& times, std::string_view source, std::size_t line,
                                  std::string_view key) {
  std::array<std::uint64_t*, 10> fields = {&times.user,    &times.nice,    &times.system, &times.idle,
                                           &times.iowait,  &times.irq,     &times.softirq, &times.steal,
                                           &times.guest,   &times.guest_nice};
  std::size_t column = 0;
  for (std::string_view token = next_token(rest); !token.empty(); token = next_token(rest), ++column) {
    const auto value = parse_decimal<std::uint64_t>(token);
    if (!value) return line_error(source, line, fmt::format("{}: bad number '{}' in column {}", key, token, column + 1));
    if (column < fields.size()) *fields[column] = *value;
  }
  if (column == 0) return line_error(source, line, fmt::format("{}: no time columns", key));
  return {};
}

}  // namespace

// The text looks like:
//   cpu  3044 0 2974 636731 570 0 50 395 0 0
//   cpu0 932 0 1217 319567 45 0 7 172 0 0
//   intr 175790 0 0 1 15 ...
//   ctxt 331040
//   btime 1795329987
//   softirq 163871 0 34267 4 905 39686 0 2 58792 0 30215
// Lines with other keys (ctxt, processes, procs_running) are skipped.
core::Result<ProcStat> parse_proc_stat(std::string_view text, std::string_view source) {
  ProcStat out;
  detail::LineCursor lines(text);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    const std::string_view key = next_token(rest);
    if (key.empty()) continue;
    const std::size_t n = lines.number();

    if (key == "cpu") {
      if (auto r = parse_cpu_line(rest, out.total, source, n, key); !r) return r.error();
    } else if (key.size() > 3 && key.substr(0, 3) == "cpu") {
      const auto id = parse_decimal<std::uint32_t>(key.substr(3));
      if (!id) return line_error(source, n, fmt::format("bad CPU key '{}'", key));
      CpuTimes times;
      times.cpu = core::cpu_id(*id);
      if (auto r = parse_cpu_line(rest, times, source, n, key); !r) return r.error();
      out.cpus.push_back(times);
    } else if (key == "intr" || key == "softirq") {
      std::vector<std::uint64_t> numbers;
      if (auto r = read_numbers(rest, numbers, source, n, key); !r) return r.error();
      if (numbers.empty()) return line_error(source, n, fmt::format("{}: missing total", key));
      auto& total = key == "intr" ? out.intr_total : out.softirq_total;
      auto& per = key == "intr" ? out.intr_per_irq : out.softirq_per_vector;
      total = numbers.front();
      per.assign(numbers.begin() + 1, numbers.end());
    } else if (key == "btime") {
      const std::string_view token = next_token(rest);
      const auto value = parse_decimal<std::uint64_t>(token);
      if (!value) return line_error(source, n, fmt::format("btime: bad number '{}'", token));
      out.boot_time_s = *value;
    }
  }
  return out;
}

core::Result<ProcStat> read_proc_stat(const SysRoot& root) {
  auto text = root.read("/proc/stat");
  if (!text) return text.error();
  return parse_proc_stat(*text, "/proc/stat");
}

// The text looks like (one column per online CPU):
//                       CPU0       CPU1
//             HI:          0          0
//         NET_RX:        407        498
core::Result<ProcSoftirqs> parse_proc_softirqs(std::string_view text, std::string_view source) {
  ProcSoftirqs out;
  detail::LineCursor lines(text);
  std::string_view line;
  bool have_header = false;
  while (lines.next(line)) {
    if (trim(line).empty()) continue;
    const std::size_t n = lines.number();
    const std::size_t colon = line.find(':');
    if (!have_header) {
      if (colon != std::string_view::npos) {
        return line_error(source, n, fmt::format("missing CPU header, found row '{}'", trim(line.substr(0, colon))));
      }
      auto cpus = detail::parse_cpu_header(line, source, n);
      if (!cpus) return cpus.error();
      out.cpus = std::move(*cpus);
      have_header = true;
      continue;
    }
    if (colon == std::string_view::npos) return line_error(source, n, fmt::format("no ':' label in '{}'", trim(line)));
    SoftirqRow row;
    row.vector = std::string(trim(line.substr(0, colon)));
    if (row.vector.empty()) return line_error(source, n, "empty row label");
    row.counts.reserve(out.cpus.size());
    if (auto r = read_numbers(line.substr(colon + 1), row.counts, source, n, row.vector); !r) return r.error();
    if (row.counts.size() != out.cpus.size()) {
      return line_error(source, n, fmt::format("row '{}': expected {} counters, found {}", row.vector,
                                               out.cpus.size(), row.counts.size()));
    }
    out.rows.push_back(std::move(row));
  }
  if (!have_header) return line_error(source, 1, "missing CPU header (no text)");
  return out;
}

core::Result<ProcSoftirqs> read_proc_softirqs(const SysRoot& root) {
  auto text = root.read("/proc/softirqs");
  if (!text) return text.error();
  return parse_proc_softirqs(*text, "/proc/softirqs");
}

}  // namespace irqbpfd::sys
