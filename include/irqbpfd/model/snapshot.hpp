// Snapshot: one measured window of the machine, pure data. Built from two
// collector readings (or one cumulative reading), the IRQ inventory, the CPU
// state and the topology; the report, the balancer and the API all read it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/irq_desc.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/sys/cpus.hpp"
#include "irqbpfd/sys/irq_inventory.hpp"
#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::model {

struct IrqCpuCount {
  core::CpuId cpu{};
  std::uint64_t count = 0;              // interrupts on this CPU in the window
  double share_pct = 0;                 // of the IRQ's interrupts in the window
  std::optional<std::uint64_t> load_ns; // time this IRQ cost this CPU in the window
  std::optional<std::uint64_t> hardirq_ns;  // measured (bpf): handler time
  std::optional<std::uint64_t> softirq_ns;  // measured (bpf): softirq time it raised
  std::optional<std::uint64_t> estimate_load_ns;  // the /proc estimate, with compare_estimate
};

struct IrqSnapshot {
  // What is known of the IRQ apart from its counts, shared with the
  // inventory it came from and never changed through here: a cycle's
  // snapshot holds one pointer per IRQ where a copy of every IrqDesc (its
  // strings and four CPU sets, ~450 bytes) cost ~5% of a 256-CPU cycle
  // (perf) and 0.9 MB per snapshot. edit_desc() gives this snapshot its own
  // copy.
  std::shared_ptr<const core::IrqDesc> desc = empty_desc();
  std::uint64_t count = 0;                // all CPUs, in the window
  // Column CPUs, ascending. build_snapshot builds only the CPUs that are
  // not idle_cell() (never every column, then compacted): on a 256-CPU
  // machine an IRQ runs on one or two of them, and a list of every column
  // for every IRQ held 50 MB per snapshot. A column CPU missing here had
  // nothing: see idle_cell(). Hand-built snapshots may list every column.
  std::vector<IrqCpuCount> per_cpu;
  // Indices into per_cpu of the CPUs with interrupts in the window (build_
  // snapshot fills it; empty in a hand-built snapshot means "scan per_cpu").
  std::vector<std::uint32_t> active;
  std::optional<std::uint64_t> load_ns;   // sum of per_cpu load; nullopt when unknown
  bool load_estimated = false;            // split of CPU time by count share (irqbalance's way)
  std::optional<std::uint64_t> hardirq_ns;  // measured (bpf)
  std::optional<std::uint64_t> softirq_ns;  // measured (bpf): attributed softirq time
  std::optional<std::uint64_t> p50_ns;      // handler duration percentiles (bpf histogram)
  std::optional<std::uint64_t> p99_ns;
  std::optional<std::uint64_t> estimate_load_ns;  // the /proc estimate, with compare_estimate
  bool beyond_bpf_maps = false;           // IRQ number past the sized maps: /proc counts, no load
  bool counter_reset = false;             // a counter went backwards: the IRQ was re-created
  bool appeared = false;                  // not in the first reading

  // The entry of a column CPU this IRQ neither ran on nor cost time: count
  // and share 0, and each time 0 where the IRQ's own figure is known
  // (nullopt where it is not).
  [[nodiscard]] IrqCpuCount idle_cell(core::CpuId cpu) const;
  // A copy of desc this snapshot alone holds, to change (copy on write).
  core::IrqDesc& edit_desc();
  static const std::shared_ptr<const core::IrqDesc>& empty_desc();
  // Every column CPU's entry, ascending: per_cpu's, and idle_cell() for the
  // columns it leaves out. visit(const IrqCpuCount&).
  // (per_cpu keeps the columns' order, so one forward pass pairs them.)
  template <class F>
  void for_each_column(const std::vector<core::CpuId>& columns, F&& visit) const {
    std::size_t next = 0;
    for (core::CpuId c : columns) {
      if (next < per_cpu.size() && per_cpu[next].cpu == c) {
        visit(per_cpu[next++]);
      } else {
        visit(idle_cell(c));
      }
    }
  }
};

struct CpuSnapshot {
  core::CpuId cpu{};
  int node = -1;                          // NUMA node, -1 when the topology lacks the CPU
  std::optional<unsigned> package;        // physical package id
  std::optional<unsigned> core;           // machine-wide core index
  bool online = false;
  bool isolated = false;
  bool nohz_full = false;
  std::uint64_t interrupts = 0;           // device (numbered) IRQs handled in the window
  std::uint64_t system_interrupts = 0;    // named rows (LOC, RES, CAL, ...)
  std::optional<std::uint64_t> irq_ns;    // /proc/stat irq time in the window
  std::optional<std::uint64_t> softirq_ns;
  // Measured (bpf): softirq time per vector (HI..RCU) and the part of it no
  // hardirq raised (timers, RCU, ...), in the window.
  std::optional<std::array<std::uint64_t, collect::kSoftirqVectors>> softirq_vector_ns;
  std::optional<std::array<std::uint64_t, collect::kSoftirqVectors>> softirq_unattributed_ns;
};

// What the BPF collector said about itself in the window.
struct BpfStatus {
  std::string attach;              // "tp_btf" or "raw_tp"
  std::uint32_t max_irqs = 0;
  std::uint32_t nr_cpus = 0;
  std::uint64_t map_bytes = 0;          // memory of the counter maps
  std::uint32_t hardirq_sample_every = 1;  // > 1: handler time estimated from 1 run in N
  std::uint64_t dropped_irq_range = 0;  // events in the window, all CPUs
  std::uint64_t unpaired_exits = 0;
  std::uint64_t nested_entries = 0;
  std::uint64_t bad_vectors = 0;
};

struct Snapshot {
  std::string collector;                          // "proc", "file"
  std::optional<std::string> collector_fallback_reason;
  double window_s = 0;                            // length of the window; since boot when cumulative
  bool cumulative = false;                        // one reading: counts since boot
  std::vector<CpuSnapshot> cpus;                  // ascending CPU id
  std::vector<IrqSnapshot> irqs;                  // ascending IRQ number
  // The CPUs the IRQs' per_cpu entries are about (the /proc/interrupts
  // columns), ascending. Empty in a hand-built snapshot: column_cpus() then
  // takes the first IRQ's per_cpu.
  std::vector<core::CpuId> columns;
  std::vector<core::IrqNumber> vanished;          // in a reading but gone from /proc/irq
  std::optional<BpfStatus> bpf;                   // with the bpf collector
  core::CpuSet online;
  topology::Machine machine;

  [[nodiscard]] const IrqSnapshot* find(core::IrqNumber irq) const;
  [[nodiscard]] std::vector<core::CpuId> column_cpus() const;
  [[nodiscard]] const CpuSnapshot* find(core::CpuId cpu) const;
};

struct WindowInput {
  std::string collector;
  const collect::RawSample* before = nullptr;     // nullptr: cumulative since boot
  const collect::RawSample* after = nullptr;      // required
  const sys::IrqInventory* inventory = nullptr;   // required
  // Shared, unchanging copies of inventory->irqs (same order), to hold
  // instead of copying; nullptr: build_snapshot makes its own.
  const std::vector<std::shared_ptr<const core::IrqDesc>>* shared_descs = nullptr;
  const sys::CpuState* cpu_state = nullptr;       // required
  const topology::Machine* machine = nullptr;     // required
  std::uint32_t user_hz = 100;                    // /proc/stat tick rate (sysconf(_SC_CLK_TCK))
  bool compare_estimate = false;                  // with BPF: keep the /proc estimate beside
  std::optional<std::string> fallback_reason;     // why auto did not use BPF
};

// Deltas per (IRQ, CPU) with CPU columns matched by id, never by position;
// an IRQ that vanished between the readings is dropped; one that appeared
// counts from zero; a counter that went backwards counts from zero too and is
// flagged. With /proc/stat time in both readings, each CPU's irq+softirq time
// is split over the IRQs it served by count share (marked as an estimate).
// With BPF counters in both readings, counts and load are measured instead:
// load = handler time + the softirq time the IRQ raised.
core::Result<Snapshot> build_snapshot(const WindowInput& input);

// The seed tool's verdict over `cpus` (column CPUs; one missing from
// per_cpu has share 0): when the largest and smallest per-CPU shares differ
// by at most `threshold_pct` points the IRQ is "balanced", otherwise the CPU
// with the smallest share (lowest id on ties) is named.
struct Verdict {
  bool balanced = true;
  core::CpuId target{};
};
Verdict seed_verdict(const IrqSnapshot& irq, const core::CpuSet& cpus, double threshold_pct);

// The q-quantile (0..1) of a log2 histogram (bucket b: [2^b, 2^(b+1)) ns,
// bucket 0: [0, 2)), interpolated linearly inside the bucket; nullopt when
// empty.
std::optional<std::uint64_t> histogram_quantile(const std::array<std::uint64_t, collect::kHistBuckets>& buckets,
                                                double q);

}  // namespace irqbpfd::model
