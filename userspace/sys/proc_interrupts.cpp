// /proc/interrupts: the pure parser (header of online CPU columns, numbered
// and named rows, chip/hwirq/trigger/actions of numbered rows), fed whole or
// a line at a time into a reused reading, and the readers around it (whole,
// or streamed in chunks).
#include "irqbpfd/sys/proc_interrupts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <cstdint>
#include <numeric>

#include "parse_util.hpp"

namespace irqbpfd::sys {
namespace {

using detail::is_digit;
using detail::next_token;
using detail::parse_decimal;
using detail::trim;
using detail::trim_left;

// " %10u" of a zero, as two 8-byte words loaded from bytes 0-7 and 3-10.
constexpr std::uint64_t kEightSpaces = 0x2020202020202020ULL;
constexpr std::uint64_t kSevenSpacesThenZero =
    std::endian::native == std::endian::little ? 0x3020202020202020ULL : 0x2020202020202030ULL;

// Sixteen zero fields in a row, the text of an IRQ's columns where it has
// never run (most of a 256-CPU row): compared as one block, one memcmp
// instead of sixteen field tests.
constexpr std::size_t kZeroField = 11;
constexpr std::size_t kZeroRun = 16;
constexpr std::array<char, kZeroField * kZeroRun> kZeroFields = [] {
  std::array<char, kZeroField * kZeroRun> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = i % kZeroField == kZeroField - 1 ? '0' : ' ';
  return out;
}();

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// Splits the printed action list at ", " (the kernel's separator). Names may
// contain plain spaces ("PCIe PME"), so only the comma-space pair splits:
//   "aerdrv, PCIe PME"  ->  ["aerdrv", "PCIe PME"]
void split_actions(std::string_view joined, std::vector<std::string>& out) {
  std::size_t n = 0;
  while (!joined.empty()) {
    const std::size_t sep = joined.find(", ");
    const std::string_view one = trim(joined.substr(0, sep));
    if (!one.empty()) {
      if (n < out.size()) {
        out[n].assign(one);
      } else {
        out.emplace_back(one);
      }
      ++n;
    }
    if (sep == std::string_view::npos) break;
    joined.remove_prefix(sep + 2);
  }
  out.resize(n);
}

// What follows the counters of a numbered row. The kernel prints the chip
// name, the hwirq (absent when the IRQ has no domain) with the flow handler's
// name glued on by '-', on GENERIC_IRQ_SHOW_LEVEL kernels (ARM) a separate
// "Level"/"Edge" word, and then the actions after two spaces:
//   " IR-PCI-MSI 524288-edge      eth0"
//   "  IO-APIC   2-edge      timer"
//   "  GICv3  30 Level     arch_timer"
//   " PCI-MSIX-0000:00:04.0   1-edge      virtio3-rx"
//   "  PCI-MSI 1572864-edge      mlx5_comp3@pci:0000:81:00.0"
//   "  IO-APIC  18-fasteoi   uhci_hcd:usb5, ahci[0000:02:00.0]"
//   "  PCI-MSI 16384-edge"                       (no action)
void parse_row_tail(std::string_view tail, InterruptRow& row) {
  row.chip.assign(next_token(tail));
  row.hwirq.clear();
  row.trigger.clear();
  std::string_view rest = trim_left(tail);

  // hwirq, optionally "-flow"; or only "-flow" when there is no domain.
  std::string_view peek = rest;
  std::string_view token = next_token(peek);
  if (!token.empty() && (is_digit(token.front()) || token.front() == '-')) {
    const std::size_t dash = token.find('-');
    row.hwirq.assign(token.substr(0, dash));
    if (dash != std::string_view::npos) row.trigger.assign(token.substr(dash + 1));
    rest = trim_left(peek);
    peek = rest;
    token = next_token(peek);
  }
  if (token == "Level" || token == "Edge") {
    row.trigger.assign(token);
    rest = trim_left(peek);
    // A flow name after the level word is printed as a separate "-name".
    peek = rest;
    token = next_token(peek);
    if (token.size() > 1 && token.front() == '-') rest = trim_left(peek);
  }

  const std::string_view joined = trim(rest);
  row.name.assign(joined);
  split_actions(joined, row.actions);
}

}  // namespace

std::uint64_t InterruptRow::total() const {
  return std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
}

const InterruptRow* ProcInterrupts::find(core::IrqNumber irq) const {
  for (const InterruptRow& row : rows) {
    if (row.irq == irq) return &row;
  }
  return nullptr;
}

// The text looks like (x86, CPU1 offline; the header names the columns):
//              CPU0       CPU2       CPU3
//     0:         36          0          0   IO-APIC   2-edge      timer
//    24:          1          0          3  IR-PCI-MSI 524288-edge      eth0
//   NMI:          0          0          0   Non-maskable interrupts
//   ERR:          0
ProcInterruptsParser::ProcInterruptsParser(ProcInterrupts& out, std::string_view source)
    : out_(out), source_(source) {}

core::Result<void> ProcInterruptsParser::line(std::string_view line) {
  const std::size_t n = ++line_number_;
  if (trim(line).empty()) return {};

  if (!have_header_) {
    // A first line with a "label:" is a row: the header is missing.
    if (line.find(':') != std::string_view::npos) {
      return detail::line_error(source_, n, fmt::format("missing CPU header, found row '{}'", trim(line.substr(0, line.find(':')))));
    }
    auto cpus = detail::parse_cpu_header(line, source_, n);
    if (!cpus) return cpus.error();
    out_.cpus = std::move(*cpus);
    have_header_ = true;
    return {};
  }

  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return detail::line_error(source_, n, fmt::format("no ':' label in '{}'", trim(line)));
  }
  const std::string_view label = trim(line.substr(0, colon));
  if (label.empty()) return detail::line_error(source_, n, "empty row label");

  if (rows_ == out_.rows.size()) out_.rows.emplace_back();
  InterruptRow& row = out_.rows[rows_];
  row.label.assign(label);
  row.irq.reset();
  row.counts.clear();
  const bool numbered = all_digits(label);
  if (numbered) {
    const auto number = parse_decimal<std::uint32_t>(label);
    if (!number) return detail::line_error(source_, n, fmt::format("row '{}': IRQ number out of range", label));
    // Ascending numbers (the kernel's order) cannot repeat; otherwise look.
    if (rows_ > 0 && *number <= highest_irq_) {
      for (std::size_t i = 0; i < rows_; ++i) {
        if (out_.rows[i].irq && core::raw(*out_.rows[i].irq) == *number) {
          return detail::line_error(source_, n, fmt::format("row '{}': duplicate IRQ number", label));
        }
      }
    }
    highest_irq_ = std::max(highest_irq_, *number);
    row.irq = core::irq_number(*number);
  }

  // Counters: at most one per header column. A numbered row has exactly
  // that many; a named row may stop early (ERR:, MIS: carry one) and what
  // follows is its description.
  const std::size_t want = out_.cpus.size();
  if (numbered) row.counts.reserve(want);
  std::string_view rest = line.substr(colon + 1);
  // The common counter first, in place. The kernel prints each as a space
  // and "%10u": an 11-byte field, all padding but the digits (half a
  // million of them at 256 CPUs x 2000 IRQs, most of them "0"). A zero
  // field is told by two 8-byte compares; other fields are parsed digit by
  // digit. Anything else (a word, a sign, more digits than the width) is
  // left to the loop after it.
  {
    const char* p = rest.data();
    const char* const end = p + rest.size();
    while (row.counts.size() < want) {
      if (want - row.counts.size() >= kZeroRun && static_cast<std::size_t>(end - p) >= kZeroFields.size() &&
          std::memcmp(p, kZeroFields.data(), kZeroFields.size()) == 0 &&
          (static_cast<std::size_t>(end - p) == kZeroFields.size() || p[kZeroFields.size()] == ' ')) {
        row.counts.resize(row.counts.size() + kZeroRun, 0);
        p += kZeroFields.size();
        continue;
      }
      if (end - p >= 11) {
        std::uint64_t head = 0, tail = 0;
        std::memcpy(&head, p, 8);      // bytes 0-7
        std::memcpy(&tail, p + 3, 8);  // bytes 3-10
        const bool field_ends = end - p == 11 || p[11] == ' ';
        if (head == kEightSpaces && tail == kSevenSpacesThenZero && field_ends) {
          row.counts.push_back(0);
          p += 11;
          continue;
        }
      }
      const char* q = p;
      while (q < end && *q == ' ') ++q;  // padding; a tab or the like goes the slow way
      if (q == end || !is_digit(*q)) break;
      std::uint32_t value = 0;
      bool fits = true;
      for (; q < end && is_digit(*q); ++q) {
        const auto digit = static_cast<std::uint32_t>(*q - '0');
        if (value > (UINT32_MAX - digit) / 10) {
          fits = false;
          break;
        }
        value = value * 10 + digit;
      }
      if (!fits || (q < end && !detail::is_space(*q))) break;
      row.counts.push_back(value);
      p = q;
    }
    rest = std::string_view(p, static_cast<std::size_t>(end - p));
  }
  while (row.counts.size() < want) {
    std::string_view peek = rest;
    const std::string_view token = next_token(peek);
    if (token.empty()) break;
    const auto value = parse_decimal<std::uint64_t>(token);
    if (value && *value > UINT32_MAX) {
      return detail::line_error(source_, n, fmt::format("row '{}': counter {} in column {} does not fit 32 bits "
                                                        "(the kernel's per-CPU counts are unsigned int)",
                                                        label, token, row.counts.size() + 1));
    }
    if (!value) {
      // A chip or description starts with a letter; a token that starts
      // like a number but is not one is a corrupt counter.
      if (numbered && (is_digit(token.front()) || token.front() == '-' || token.front() == '+')) {
        return detail::line_error(source_, n, fmt::format("row '{}': bad counter '{}' in column {}", label, token,
                                                          row.counts.size() + 1));
      }
      break;
    }
    row.counts.push_back(static_cast<std::uint32_t>(*value));
    rest = peek;
  }

  if (numbered) {
    if (row.counts.size() != want) {
      return detail::line_error(source_, n, fmt::format("row '{}': expected {} counters, found {}", label, want,
                                                        row.counts.size()));
    }
    row.description.clear();
    parse_row_tail(rest, row);
  } else {
    row.chip.clear();
    row.hwirq.clear();
    row.trigger.clear();
    row.actions.clear();
    row.name.clear();
    row.description.assign(trim(rest));
  }
  ++rows_;
  return {};
}

core::Result<void> ProcInterruptsParser::finish() {
  if (!have_header_) return detail::line_error(source_, 1, "missing CPU header (no text)");
  out_.rows.resize(rows_);
  return {};
}

core::Result<ProcInterrupts> parse_proc_interrupts(std::string_view text, std::string_view source) {
  ProcInterrupts out;
  ProcInterruptsParser parser(out, source);
  detail::LineCursor lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (auto r = parser.line(line); !r) return r.error();
  }
  if (auto r = parser.finish(); !r) return r.error();
  return out;
}

core::Result<ProcInterrupts> read_proc_interrupts(const SysRoot& root) {
  auto text = root.read("/proc/interrupts");
  if (!text) return text.error();
  return parse_proc_interrupts(*text, "/proc/interrupts");
}

core::Result<void> read_proc_interrupts_into(const SysRoot& root, ProcInterrupts& out, StreamBuffers& buffers) {
  ProcInterruptsParser parser(out, "/proc/interrupts");
  std::string& carry = buffers.carry;  // a line split across two chunks
  carry.clear();
  core::Result<void> parsed;
  auto read = root.read_stream("/proc/interrupts", buffers.chunk, [&](std::string_view data) {
    while (!data.empty()) {
      const std::size_t nl = data.find('\n');
      if (nl == std::string_view::npos) {
        carry.append(data);
        return true;
      }
      if (carry.empty()) {
        parsed = parser.line(data.substr(0, nl));
      } else {
        carry.append(data.substr(0, nl));
        parsed = parser.line(carry);
        carry.clear();
      }
      if (!parsed) return false;
      data.remove_prefix(nl + 1);
    }
    return true;
  });
  if (!read) return read.error();
  if (!parsed) return parsed.error();
  if (!carry.empty()) {
    if (auto r = parser.line(carry); !r) return r.error();
    carry.clear();
  }
  return parser.finish();
}

}  // namespace irqbpfd::sys
