// measure_once: the read side of one tick, as `irqbpfd --once` runs it:
// read counters, wait the sample window, read again, join the IRQ inventory,
// CPU state and topology, and build the Snapshot.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/balance/balancer.hpp"
#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/model/snapshot.hpp"

namespace irqbpfd::daemon {

struct MeasureOptions {
  std::filesystem::path root{"/"};   // --root
  double sample_s = 5;               // --sample; 0: one reading, cumulative since boot
  std::optional<std::filesystem::path> interrupts_file;  // --interrupts-file
  std::string collector = "auto";    // --collector auto|bpf|proc
  std::uint32_t hardirq_sample_every = 1;  // --hardirq-sample-every (config hardirq_sample_every)
  bool compare_estimate = false;     // --compare-estimate
};

// SIGINT/SIGTERM while waiting end the window early with an error
// ("interrupted by SIGINT"); everything opened (BPF programs included) is
// released on the way out.
core::Result<model::Snapshot> measure_once(const MeasureOptions& options, core::Clock& clock);

struct OnceResult {
  model::Snapshot snapshot;
  balance::Plan plan;
};

// One measured window and the plan for it (the first cycle: load-aware,
// since the window is measured before anything is planned).
core::Result<OnceResult> measure_and_plan(const MeasureOptions& measure, const balance::Policy& policy,
                                          core::Clock& clock);

// An IRQ inventory from /proc/interrupts rows alone (no /proc/irq, no PCI):
// for captures from another machine. Every IRQ is "legacy" (no device known).
sys::IrqInventory inventory_from_rows(const sys::ProcInterrupts& interrupts);

}  // namespace irqbpfd::daemon
