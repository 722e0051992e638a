// /proc/interrupts: the pure parser (header of online CPU columns, numbered
// and named rows, chip/hwirq/trigger/actions of numbered rows) and the
// two-line reader around it.
#include "irqbpfd/sys/proc_interrupts.hpp"

#include <fmt/format.h>

#include <numeric>
#include <unordered_set>

#include "parse_util.hpp"

namespace irqbpfd::sys {
namespace {

using detail::is_digit;
using detail::next_token;
using detail::parse_decimal;
using detail::trim;
using detail::trim_left;

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
std::vector<std::string> split_actions(std::string_view joined) {
  std::vector<std::string> out;
  while (!joined.empty()) {
    const std::size_t sep = joined.find(", ");
    const std::string_view one = trim(joined.substr(0, sep));
    if (!one.empty()) out.emplace_back(one);
    if (sep == std::string_view::npos) break;
    joined.remove_prefix(sep + 2);
  }
  return out;
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
  row.chip = std::string(next_token(tail));
  std::string_view rest = trim_left(tail);

  // hwirq, optionally "-flow"; or only "-flow" when there is no domain.
  std::string_view peek = rest;
  std::string_view token = next_token(peek);
  if (!token.empty() && (is_digit(token.front()) || token.front() == '-')) {
    const std::size_t dash = token.find('-');
    row.hwirq = std::string(token.substr(0, dash));
    if (dash != std::string_view::npos) row.trigger = std::string(token.substr(dash + 1));
    rest = trim_left(peek);
    peek = rest;
    token = next_token(peek);
  }
  if (token == "Level" || token == "Edge") {
    row.trigger = std::string(token);
    rest = trim_left(peek);
    // A flow name after the level word is printed as a separate "-name".
    peek = rest;
    token = next_token(peek);
    if (token.size() > 1 && token.front() == '-') rest = trim_left(peek);
  }

  const std::string_view joined = trim(rest);
  row.name = std::string(joined);
  row.actions = split_actions(joined);
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
core::Result<ProcInterrupts> parse_proc_interrupts(std::string_view text, std::string_view source) {
  ProcInterrupts out;
  detail::LineCursor lines(text);
  std::string_view line;
  bool have_header = false;
  std::unordered_set<std::uint32_t> seen_irqs;

  while (lines.next(line)) {
    if (trim(line).empty()) continue;
    const std::size_t n = lines.number();

    if (!have_header) {
      // A first line with a "label:" is a row: the header is missing.
      if (line.find(':') != std::string_view::npos) {
        return detail::line_error(source, n, fmt::format("missing CPU header, found row '{}'", trim(line.substr(0, line.find(':')))));
      }
      auto cpus = detail::parse_cpu_header(line, source, n);
      if (!cpus) return cpus.error();
      out.cpus = std::move(*cpus);
      have_header = true;
      continue;
    }

    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return detail::line_error(source, n, fmt::format("no ':' label in '{}'", trim(line)));
    }
    const std::string_view label = trim(line.substr(0, colon));
    if (label.empty()) return detail::line_error(source, n, "empty row label");

    InterruptRow row;
    row.label = std::string(label);
    const bool numbered = all_digits(label);
    if (numbered) {
      const auto number = parse_decimal<std::uint32_t>(label);
      if (!number) return detail::line_error(source, n, fmt::format("row '{}': IRQ number out of range", label));
      if (!seen_irqs.insert(*number).second) {
        return detail::line_error(source, n, fmt::format("row '{}': duplicate IRQ number", label));
      }
      row.irq = core::irq_number(*number);
    }

    // Counters: at most one per header column. A numbered row has exactly
    // that many; a named row may stop early (ERR:, MIS: carry one) and what
    // follows is its description.
    const std::size_t want = out.cpus.size();
    row.counts.reserve(numbered ? want : 0);
    std::string_view rest = line.substr(colon + 1);
    while (row.counts.size() < want) {
      std::string_view peek = rest;
      const std::string_view token = next_token(peek);
      if (token.empty()) break;
      const auto value = parse_decimal<std::uint64_t>(token);
      if (!value) {
        // A chip or description starts with a letter; a token that starts
        // like a number but is not one is a corrupt counter.
        if (numbered && (is_digit(token.front()) || token.front() == '-' || token.front() == '+')) {
          return detail::line_error(source, n, fmt::format("row '{}': bad counter '{}' in column {}", label, token,
                                                           row.counts.size() + 1));
        }
        break;
      }
      row.counts.push_back(*value);
      rest = peek;
    }

    if (numbered) {
      if (row.counts.size() != want) {
        return detail::line_error(source, n, fmt::format("row '{}': expected {} counters, found {}", label, want,
                                                         row.counts.size()));
      }
      parse_row_tail(rest, row);
    } else {
      row.description = std::string(trim(rest));
    }
    out.rows.push_back(std::move(row));
  }

  if (!have_header) return detail::line_error(source, 1, "missing CPU header (no text)");
  return out;
}

core::Result<ProcInterrupts> read_proc_interrupts(const SysRoot& root) {
  auto text = root.read("/proc/interrupts");
  if (!text) return text.error();
  return parse_proc_interrupts(*text, "/proc/interrupts");
}

}  // namespace irqbpfd::sys
