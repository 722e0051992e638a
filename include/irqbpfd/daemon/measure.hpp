// run_once: `irqbpfd --once`: read counters, wait the sample window, read
// again, then the daemon's tick (tick::run_tick) once from a fresh state:
// inventory, CPU state and topology, the snapshot, the rules, the plan and,
// given a writer, the writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/balance/balancer.hpp"
#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/model/snapshot.hpp"
#include "irqbpfd/tick/tick.hpp"

namespace irqbpfd::daemon {

struct MeasureOptions {
  std::filesystem::path root{"/"};   // --root
  double sample_s = 5;               // --sample; 0: one reading, cumulative since boot
  std::optional<std::filesystem::path> interrupts_file;  // --interrupts-file
  std::string collector = "auto";    // --collector auto|bpf|proc
  std::uint32_t hardirq_sample_every = 1;  // --hardirq-sample-every (config hardirq_sample_every)
  bool compare_estimate = false;     // --compare-estimate
};

struct OnceResult {
  model::Snapshot snapshot;
  balance::Plan plan;
  std::optional<apply::ApplyReport> applied;  // with a writer (not for --interrupts-file)
};

// One measured window and the plan for it (the first cycle: load-aware,
// since the window is measured before anything is planned). `rules` resolves
// the configuration's rules against the inventory; `writer` (optional)
// applies the plan. SIGINT/SIGTERM while waiting end the window early with an
// error ("interrupted by SIGINT"); everything opened (BPF programs included)
// is released on the way out.
core::Result<OnceResult> run_once(const MeasureOptions& measure,
                                  const std::function<tick::Rules(const sys::IrqInventory&)>& rules,
                                  apply::AffinityWriter* writer, core::Clock& clock);

// An IRQ inventory from /proc/interrupts rows alone (no /proc/irq, no PCI):
// for captures from another machine. Every IRQ is "legacy" (no device known).
sys::IrqInventory inventory_from_rows(const sys::ProcInterrupts& interrupts);

}  // namespace irqbpfd::daemon
