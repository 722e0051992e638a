// /proc/interrupts: parsed into rows of per-CPU counters keyed by CPU id (from
// the header, which lists only online CPUs), with the chip, hwirq, trigger and
// action names of numbered rows and the description of named rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::sys {

struct InterruptRow {
  std::string label;                    // "24", "NMI", "IPI0", "ERR"
  std::optional<core::IrqNumber> irq;   // set for numbered rows
  // counts[i] belongs to ProcInterrupts::cpus[i]. Named rows may carry fewer
  // counters than CPUs (ERR:, MIS: carry one); the rest are absent, not zero.
  // 32 bits, as the kernel keeps and prints them ("%10u" of an unsigned
  // int): a 256-CPU x 2000-IRQ reading is 2 MB, not 4.
  std::vector<std::uint32_t> counts;
  std::string chip;                     // numbered rows: "IR-PCI-MSI", "GICv3"
  std::string hwirq;                    // "524288", "30"
  std::string trigger;                  // "edge", "fasteoi", "Level", "Edge"
  std::vector<std::string> actions;     // ["ahci[0000:02:00.0]", "uhci_hcd:usb5"]
  std::string name;                     // actions joined with ", " as printed
  std::string description;              // named rows: "Local timer interrupts"

  [[nodiscard]] std::uint64_t total() const;
};

struct ProcInterrupts {
  std::vector<core::CpuId> cpus;  // header columns, in order
  std::vector<InterruptRow> rows;  // in file order

  [[nodiscard]] const InterruptRow* find(core::IrqNumber irq) const;
};

// Pure. `source` names the text in errors:
// "/proc/interrupts:7: row '24': expected 4 counters, found 2".
core::Result<ProcInterrupts> parse_proc_interrupts(std::string_view text,
                                                   std::string_view source = "/proc/interrupts");

// The same parser fed one line at a time (without its '\n'), writing into
// `out`: rows already in `out` (an earlier reading handed back) are reused
// with their buffers, so a reading of the same shape allocates nothing per
// row. finish() drops the rows the text did not fill; after an error `out`
// is unspecified.
class ProcInterruptsParser {
 public:
  ProcInterruptsParser(ProcInterrupts& out, std::string_view source = "/proc/interrupts");
  core::Result<void> line(std::string_view line);
  core::Result<void> finish();

 private:
  ProcInterrupts& out_;
  std::string_view source_;
  std::size_t line_number_ = 0;
  std::size_t rows_ = 0;  // rows of out_ filled so far
  bool have_header_ = false;
  std::uint32_t highest_irq_ = 0;  // the kernel prints IRQs ascending: a duplicate is searched only below it
};

core::Result<ProcInterrupts> read_proc_interrupts(const SysRoot& root);

// What a streaming reader keeps between readings: the read buffer and a
// line split across two reads.
struct StreamBuffers {
  std::string chunk;
  std::string carry;
};

// Reads /proc/interrupts in chunks and parses it as it streams, into `out`
// (reused as ProcInterruptsParser does): the file's text (5.7 MB at 256
// CPUs x 2000 IRQs) is never whole in memory.
core::Result<void> read_proc_interrupts_into(const SysRoot& root, ProcInterrupts& out, StreamBuffers& buffers);

}  // namespace irqbpfd::sys
