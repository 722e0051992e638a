// Prometheus text exposition (format 0.0.4) of the daemon's last reading and
// its own counters. Pure: same input, same text. Counters are cumulative
// (since boot for the kernel's, since the BPF programs loaded for measured
// time, since the daemon started for its own); per-CPU-per-IRQ series only
// when asked for, since they are CPUs x IRQs on a big machine.
//   # TYPE irqbpfd_irq_interrupts_total counter
//   irqbpfd_irq_interrupts_total{irq="36",name="virtio1-req.0"} 123456
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/model/snapshot.hpp"

namespace irqbpfd::report {

struct DaemonCounters {
  std::string version;
  std::string collector;             // "bpf", "proc"
  bool dry_run = false;
  double interval_s = 0;
  std::uint64_t cycles = 0;
  std::uint64_t moves = 0;           // writes that took effect
  std::uint64_t rescans = 0;
  std::map<std::string, std::uint64_t> writes_by_outcome;  // "done", "managed", ...
  double last_cycle_s = 0;
  double hottest_cpu_load = 0;       // share of one CPU, last plan's view
};

struct MetricsOptions {
  bool per_cpu = false;       // irqbpfd_irq_cpu_interrupts_total{irq,cpu}
  std::uint32_t user_hz = 100;
};

// `reading`: the daemon's last collector reading; `snapshot` (may be null):
// names for the IRQs; `interrupts` (may be null): the /proc rows to export
// instead of the reading's (a light BPF reading has no /proc counts).
std::string render_metrics(const collect::RawSample& reading, const model::Snapshot* snapshot,
                           const DaemonCounters& counters, const MetricsOptions& options,
                           const sys::ProcInterrupts* interrupts = nullptr);

// A Prometheus label value: backslash, double quote and newline escaped.
std::string escape_label(std::string_view value);

}  // namespace irqbpfd::report
