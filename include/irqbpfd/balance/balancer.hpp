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
#include "irqbpfd/model/load_noise.hpp"
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
  // A plan pays for its writes. It is applied only when it lowers the
  // objective (the hottest CPU's load plus the spread, the std over the CPUs
  // that may take IRQs) by more than a floor plus write_cost_ns for every
  // IRQ it moves to another CPU. The floor is a share of the hottest CPU's
  // load: min_gain_pct until the noise of the loads was measured, then three
  // times that noise (the larger of the window-to-window noise and the
  // change seen in moved IRQs' loads, see model::LoadNoise), but never below
  // min_gain_floor_pct; and never below
  // min_gain_ns per second. Moves that must happen (forbidden or offline
  // CPUs, wrong node under strict, pins, bans) are not gated.
  double min_gain_pct = 10.0;
  double min_gain_floor_pct = 2.0;
  std::uint64_t min_gain_ns = 5'000'000;     // 0.5% of a CPU
  std::uint64_t write_cost_ns = 50'000;      // 0.005% of a CPU per IRQ moved
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
  // How much loads move between cycles, and how much a moved IRQ's load
  // differed from before its move: measured steadiness lets the gain floor
  // shrink below min_gain_pct (never below min_gain_floor_pct).
  model::LoadNoise noise;
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
