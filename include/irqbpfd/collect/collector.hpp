// Collector: where raw counters come from. Each read() is one reading of the
// kernel's cumulative counters; the model turns two readings into a window.
// ProcCollector reads /proc (the irqbalance method), FileCollector replays a
// saved /proc/interrupts; the BPF collector joins them later.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "irqbpfd/collect/bpf_programs.hpp"
#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/sys/proc_interrupts.hpp"
#include "irqbpfd/sys/proc_stat.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::collect {

struct RawSample {
  std::int64_t monotonic_ns = 0;          // when it was read
  sys::ProcInterrupts interrupts;
  std::optional<sys::ProcStat> stat;       // per-CPU irq/softirq time (proc collector)
  std::optional<sys::ProcSoftirqs> softirqs;
  std::optional<double> uptime_s;          // /proc/uptime: the window of a cumulative reading
  std::optional<BpfReading> bpf;           // measured counters (BPF collector)
  // False for a BPF collector's light reading: /proc/interrupts was not
  // parsed; `interrupts` holds the last full reading's rows (names, chips,
  // the CPU header) without counts. The BPF cells carry the counts.
  bool counts_read = true;
};

class Collector {
 public:
  virtual ~Collector() = default;
  // "proc", "file" (and later "bpf"): the JSON `collector` field.
  [[nodiscard]] virtual std::string_view name() const = 0;
  // Whether readings carry per-CPU time, so per-IRQ load can be estimated.
  [[nodiscard]] virtual bool has_cpu_time() const = 0;
  virtual core::Result<RawSample> read() = 0;
  // A reading the caller is done with, handed back so that the next read()
  // can reuse its buffers (a 256-CPU /proc/interrupts is ~2000 rows of 256
  // counters). Optional for both sides.
  virtual void recycle(RawSample&& /*old*/) {}
  // For cycles that need the counters but not /proc/interrupts' own counts
  // (the daemon): a collector that measures elsewhere (BPF) may then skip
  // parsing it, doing so only when the IRQ listing changed or every
  // `full_every` readings. Others ignore it; 0 turns it off.
  virtual void set_light_reads(std::uint32_t /*full_every*/) {}
};

// The IRQ numbers /sys/kernel/irq lists (every allocated descriptor),
// ascending: one directory read, the cheap check for IRQs that appeared or
// vanished. An error names the directory.
core::Result<std::vector<std::uint32_t>> list_kernel_irqs(const sys::SysRoot& root);

// /proc/interrupts, /proc/stat, /proc/softirqs and /proc/uptime under a root.
class ProcCollector final : public Collector {
 public:
  ProcCollector(sys::SysRoot root, const core::Clock& clock) : root_(std::move(root)), clock_(clock) {}
  [[nodiscard]] std::string_view name() const override { return "proc"; }
  [[nodiscard]] bool has_cpu_time() const override { return true; }
  core::Result<RawSample> read() override;
  void recycle(RawSample&& old) override;
  // The clock, /proc/stat, /proc/softirqs and /proc/uptime of a reading,
  // without /proc/interrupts.
  core::Result<void> read_times(RawSample& sample);

 private:
  sys::SysRoot root_;
  const core::Clock& clock_;
  sys::StreamBuffers buffers_;                 // /proc/interrupts is streamed, never held whole
  std::optional<sys::ProcInterrupts> spare_;   // a recycled reading's rows, parsed into next
};

// A saved /proc/interrupts capture (the seed tool's sample_interrupt): every
// read returns the same counts, taken as cumulative since boot.
class FileCollector final : public Collector {
 public:
  explicit FileCollector(std::filesystem::path file) : file_(std::move(file)) {}
  [[nodiscard]] std::string_view name() const override { return "file"; }
  [[nodiscard]] bool has_cpu_time() const override { return false; }
  core::Result<RawSample> read() override;

 private:
  std::filesystem::path file_;
};

// The BPF collector: measured handler and softirq time from the irq_stats
// programs, plus the /proc readings for names, the inventory and (on request)
// the estimate to compare against.
class BpfCollector final : public Collector {
 public:
  // Live root only. Errors explain what is missing (privilege, BTF, verifier).
  // hardirq_sample_every: see BpfOptions.
  static core::Result<std::unique_ptr<BpfCollector>> open(sys::SysRoot root, const core::Clock& clock,
                                                          std::optional<AttachMode> mode = std::nullopt,
                                                          std::uint32_t hardirq_sample_every = 1);
  [[nodiscard]] std::string_view name() const override { return "bpf"; }
  [[nodiscard]] bool has_cpu_time() const override { return true; }
  core::Result<RawSample> read() override;
  void recycle(RawSample&& old) override;
  // Light readings: the maps, /proc/stat, /proc/softirqs and /proc/uptime;
  // /proc/interrupts is parsed on the first reading, when /sys/kernel/irq
  // lists other IRQs than at the last full one, and every `full_every`-th
  // reading (an IRQ that gains its first handler keeps its descriptor).
  void set_light_reads(std::uint32_t full_every) override { full_every_ = full_every; }
  [[nodiscard]] const BpfPrograms& programs() const { return *programs_; }

 private:
  BpfCollector(sys::SysRoot root, const core::Clock& clock, std::unique_ptr<BpfPrograms> programs)
      : root_(root), proc_(std::move(root), clock), programs_(std::move(programs)) {}
  sys::SysRoot root_;
  ProcCollector proc_;
  std::unique_ptr<BpfPrograms> programs_;
  std::uint32_t full_every_ = 0;          // 0: every reading is full
  std::uint32_t since_full_ = 0;
  std::vector<std::uint32_t> listing_;    // /sys/kernel/irq at the last full reading
  std::optional<sys::ProcInterrupts> rows_;  // its rows, counts dropped
};

// Map sizes for this machine: IRQ numbers up to the highest one in
// /proc/interrupts or /sys/kernel/irq, with headroom for IRQs allocated later
// (rounded up to a power of two, at least 64 more); CPUs: the possible CPUs.
core::Result<BpfSizing> size_for_machine(const sys::SysRoot& root);

// --collector: "auto" tries BPF and falls back to /proc, saying why;
// "bpf" fails when BPF cannot be used; "proc" is the irqbalance method.
// hardirq_sample_every goes to the BPF programs (see BpfOptions); a value
// they cannot take is an error whatever the kind, never a reason to fall back.
struct OpenedCollector {
  std::unique_ptr<Collector> collector;
  std::optional<std::string> fallback_reason;  // set when auto fell back to proc
};
core::Result<OpenedCollector> open_collector(std::string_view kind, const sys::SysRoot& root,
                                             const core::Clock& clock, std::uint32_t hardirq_sample_every = 1);

// Parses /proc/uptime ("350735.47 234388.90"): the first number, seconds.
core::Result<double> parse_uptime(std::string_view text);

}  // namespace irqbpfd::collect
