// The balancer: plan(snapshot, state, policy) -> Plan. Pure: no I/O, no
// clock; same input, same plan. It places each movable IRQ at the level its
// class allows (package / cache domain / core), on its device's NUMA node,
// never on an offline, isolated, nohz_full or banned CPU, minimising the
// most loaded CPU and then the spread, and moves only what pays.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/irq_desc.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"
#include "irqbpfd/model/snapshot.hpp"

namespace irqbpfd::balance {

enum class NumaPolicy { kStrict, kPrefer };

struct Policy {
  NumaPolicy numa = NumaPolicy::kStrict;  // prefer: may leave the device's node when it is saturated
  core::CpuSet banned_cpus;               // --banned-cpus, IRQBALANCE_BANNED_CPUS/_CPULIST
  std::set<core::IrqNumber> banned_irqs;  // --ban-irq N
  std::vector<std::string> banned_names;  // --ban-irq PATTERN (shell glob on the IRQ's name)
  std::vector<std::string> banned_drivers;  // --ban-driver NAME
  // Pins (config rules, the API's set_affinity): each of these IRQs gets
  // exactly this mask (narrowed to online CPUs), whatever else applies.
  std::map<core::IrqNumber, core::CpuSet> pinned;
  // Per-IRQ NUMA policy (config rules); the others follow `numa`.
  std::map<core::IrqNumber, NumaPolicy> numa_of;
  // A plan is applied only when it lowers the hottest CPU's load (or the
  // spread) by more than this share of the hottest load, and by at least
  // min_gain_ns per second (0.5% of a CPU): noise and idle machines do not
  // move IRQs.
  // With measured noise known, the threshold is 3x the noise (as a share of
  // the hottest load) when that is smaller than min_gain_pct: steady loads
  // get within a few percent of the best placement, noisy ones do not move.
  double min_gain_pct = 10.0;
  std::uint64_t min_gain_ns = 5'000'000;
  std::uint32_t cooldown_cycles = 3;       // an IRQ moved in cycle c stays until c + cooldown
  // A ceiling on writes per cycle: a first plan on a big machine fits in
  // one or two cycles, a runaway never floods the kernel with migrations.
  std::uint32_t max_moves_per_cycle = 1024;
  // SMT: a CPU's cost counts this share of its siblings' load, so hot IRQs go
  // to distinct physical cores before sharing one.
  double smt_sibling_weight = 0.5;
  // Powersave (irqbalance's --powerthresh): when at least this many CPUs are
  // under-loaded and none is over-loaded, drain one CPU so it can sleep.
  std::optional<std::uint32_t> power_threshold;
  // Load above which a CPU counts as saturated for numa=prefer (share of a CPU).
  double saturation = 0.9;
};

// What the balancer remembers between cycles.
struct IrqHistory {
  std::uint64_t last_moved_cycle = 0;
  bool ever_moved = false;
};

struct State {
  std::uint64_t cycle = 0;
  std::map<core::IrqNumber, IrqHistory> irqs;
  core::CpuSet powersave;  // CPUs drained for powersave
  // Masks a plan cut short by max_moves_per_cycle still had to write: the
  // next plan finishes it (when it still holds up) instead of re-deciding.
  std::map<core::IrqNumber, core::CpuSet> unfinished;
  // Each IRQ's load last cycle (ns per s), ascending IRQ, and how much loads
  // moved between cycles (a load-weighted mean of |change| / load, smoothed;
  // negative until two cycles were seen). Measured steadiness lets the gain
  // threshold shrink below min_gain_pct; noise keeps it there.
  std::vector<std::pair<core::IrqNumber, double>> loads;
  double noise = -1;
};

struct Move {
  core::IrqNumber irq{};
  core::CpuSet from;  // current smp_affinity
  core::CpuSet to;    // planned smp_affinity
  std::string reason;
  std::int64_t gain_ns = 0;  // reduction of the hottest CPU's load (window-normalised, ns per s)
  // Masks to write instead, in order of preference, when the kernel refuses
  // `to` for want of interrupt vectors (ENOSPC, x86: each CPU has ~200).
  // Empty: no alternative. (The `{}` keeps brace-initialised Moves that stop
  // before it clear of -Wmissing-field-initializers.)
  std::vector<core::CpuSet> fallbacks{};
};

// Why an IRQ was left where it is, when that is worth telling.
struct Hold {
  core::IrqNumber irq{};
  std::string reason;  // "kernel-managed", "banned (driver ixgbe)", "cooldown until cycle 7"
};

struct Plan {
  std::vector<Move> moves;  // in the order they should be written
  std::vector<Hold> held;
  // Per-CPU load (ns per second) now and after the plan, as the balancer
  // models it, ascending CPU id.
  std::map<core::CpuId, std::uint64_t> load_before;
  std::map<core::CpuId, std::uint64_t> load_after;
  std::uint64_t max_before = 0, max_after = 0;
  core::CpuSet powersave;  // CPUs being drained
  std::string summary;     // one line: "3 moves: max 45.2% -> 30.1% of a CPU"
};

struct PlanResult {
  Plan plan;
  State next;  // state after applying the plan
};

PlanResult plan(const model::Snapshot& snapshot, const State& state, const Policy& policy);

// irqbalance's environment, for drop-in use: IRQBALANCE_BANNED_CPUS (hex
// mask) and IRQBALANCE_BANNED_CPULIST (list). Bad values are errors naming
// the variable.
core::Result<core::CpuSet> banned_cpus_from_env(const char* mask, const char* list);

}  // namespace irqbpfd::balance
