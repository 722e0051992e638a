// The closed loop: a FakeMachine runs a scenario tick by tick while the
// project's own code (collector, sys readers, build_snapshot, balance::plan),
// or irqbalance as a peer, measures it and writes affinities back. SimResult holds the per-tick
// series (exact loads, writes, plan CPU time) and the verdicts drawn from
// them: convergence per steady phase, flapping, forbidden CPUs touched.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"
#include "irqbpfd/model/snapshot.hpp"
#include "irqbpfd/sim/scenario.hpp"

namespace irqbpfd::sim {

struct SimOptions {
  // "replay": per-IRQ time as the BPF programs measure it (handler time
  // exact, softirq runs charged to their vector's first raiser); "oracle":
  // each IRQ's exact own time, which no collector can see; "proc": the
  // irqbalance estimate from /proc/stat time split by interrupt counts.
  std::string collector = "replay";
  // Who balances: "irqbpfd" (the collector above, build_snapshot and
  // balance::plan) or "irqbalance" (Debian's irqbalance in a private mount
  // namespace over the fake root, one of its scans per tick; it reads /proc
  // itself, so `collector` does not apply). See irqbalance_peer.hpp.
  std::string balancer = "irqbpfd";
  std::optional<std::filesystem::path> irqbalance;      // its binary (default: default_irqbalance_binary())
  std::optional<std::filesystem::path> irqbalance_log;  // its output (default: irqbalance.log in the fake root)
  bool irqbalance_debug = false;                         // run it with --debug: its tree per scan in the log
  std::optional<std::filesystem::path> root;  // keep the fake root here (default: a temp dir, removed)
  std::optional<std::uint32_t> ticks;         // run this many ticks instead of the scenario's
  // The collector's clock runs at this rate of the machine's: 0.5 makes a
  // window read as half the tick its counters covered, so every load reads
  // twice its size (as when the collector's window and the counters' clock
  // disagree). irqbpfd only.
  double window_scale = 1.0;
  // Cycles between re-reads of every IRQ's affinity files, as the daemon's
  // affinity_refresh_cycles (default: the daemon's default). irqbpfd only.
  std::optional<std::uint32_t> affinity_refresh_cycles;
  bool json = false;                          // run_simulate_command: JSON instead of the table
  bool verbose = false;                       // run_simulate_command: every move with its reason
  // Called each tick with the snapshot and state the balancer plans from
  // (benchmarks keep them to time plan() alone).
  std::function<void(std::uint32_t tick, const model::Snapshot&, const balance::State&)> on_snapshot;
  // Called each tick with what build_snapshot is about to read (benchmarks
  // keep a copy to time build_snapshot alone).
  std::function<void(std::uint32_t tick, const model::WindowInput&)> on_window;
};

struct SimMove {
  core::IrqNumber irq{};
  core::CpuSet from;   // smp_affinity before
  core::CpuSet to;     // written
  std::optional<core::CpuId> from_cpu;  // where it ran in the tick
  std::string reason;
  bool refused = false;  // the write failed (kernel-managed, vanished)
};

// One tick: the machine's exact truth, then what the balancer did after it.
struct TickRecord {
  std::uint32_t tick = 0;
  core::CpuSet online;
  std::vector<double> cpu_load;   // share of a CPU per CPU id (0..nr_cpu_ids-1), exact; offline: 0
  double max_load = 0;            // over online CPUs
  core::CpuId hottest{};
  double std_load = 0;            // population std over the CPUs that may take IRQs
  double lower_bound = 0;         // see lower_bound() in simulator.cpp
  double hottest_irq_load = 0;
  double forbidden_load = 0;      // load on isolated/nohz_full/banned CPUs from movable IRQs
  std::uint32_t writes = 0;       // affinity writes made after this tick
  std::uint32_t refused_writes = 0;
  std::uint32_t writes_to_offline = 0;  // masks naming an offline CPU
  double plan_us = 0;             // CPU time of balance::plan(), or of irqbalance's scan (all its threads)
  double cycle_us = 0;            // CPU time of irqbpfd's whole tick (tick::run_tick after the reading: view, snapshot, plan, writes; irqbalance: its scan)
  double tick_us = 0;              // of that, tick::run_tick alone (the rest is the collector's read; the replay
                                   // collector's read is the simulator's own work, not the BPF map read)
  double plan_stat_ms = 0;        // irqbalance: the scan's utime+stime delta from /proc/PID/stat (10 ms steps)
  double model_max = 0;           // the balancer's own view of the hottest CPU (share of a CPU); irqbalance: 0
  std::string plan_summary;
  std::vector<SimMove> moves;
  std::vector<std::string> notes;  // the machine's events and reactions
  // Where each present IRQ ran in the tick (nullopt: shut down), ascending IRQ.
  std::vector<std::pair<core::IrqNumber, std::optional<core::CpuId>>> placement;
  std::vector<double> irq_load;   // parallel to placement: exact load (share of a CPU)
};

// A stretch of ticks without events (events start a new phase; a burst's end
// too). converged_at: the first tick from which, for the rest of the phase,
// no writes happen, every IRQ stays on the CPU it runs on then, and the max
// load stays within tolerance_pct of the phase's last value (relative: 2%,
// plus twice the scenario's noise, since noise moves every load both ways).
// That state must last 3 ticks (or the whole phase, when shorter).
struct PhaseResult {
  std::uint32_t start = 0, end = 0;  // [start, end)
  std::optional<std::uint32_t> converged_at;
  std::uint32_t writes = 0;
  double final_max = 0;
  double lower_bound = 0;
  double tolerance_pct = 2;
  std::vector<core::IrqNumber> flapped;  // moved back to a mask it had been moved off, within the phase
};

// The irqbalance peer of a run: what ran, where, and what it cost besides
// the per-scan CPU time in TickRecord::plan_us.
struct PeerSummary {
  std::vector<std::string> command;  // argv as executed
  std::string banned_cpulist;        // IRQBALANCE_BANNED_CPULIST, "" when unset
  int pid = 0;
  std::string mount_ns, host_mount_ns;  // "mnt:[...]": they differ
  double startup_cpu_us = 0;      // from exec until its first wait (reading the machine)
  double exec_cpu_ms = 0;         // whole run, all threads (schedstat, exact)
  double stat_cpu_ms = 0;         // whole run, utime + stime of /proc/PID/stat (10 ms steps)
  std::uint64_t peak_rss_kb = 0;  // VmHWM
  std::uint32_t topology_rescans = 0;  // scans that rebuilt its CPU tree (then placed load-blind)
  double wall_s = 0;              // the run's wall time: up to its --interval per tick
  std::string log;                // its output, when kept (--irqbalance-log, or in a kept root)
};

struct SimResult {
  std::string scenario;
  std::string balancer = "irqbpfd";  // SimOptions::balancer
  std::string collector;             // "irqbalance" when the peer balanced (it reads /proc itself)
  std::string topology;
  std::uint32_t nr_cpus = 0;
  double tick_s = 0;
  std::vector<TickRecord> ticks;
  std::vector<PhaseResult> phases;
  std::optional<std::uint32_t> converged_at;  // of the first phase
  std::uint32_t total_writes = 0;
  double max_plan_us = 0;
  double mean_plan_us = 0;
  std::optional<PeerSummary> peer;  // with balancer "irqbalance"
};

core::Result<SimResult> run_simulation(const Scenario& scenario, const SimOptions& options);

// `irqbpfd-sim SCENARIO`: runs it and prints a per-tick table (tick,
// writes, max %, std %, hottest CPU, plan us) and a summary, or JSON.
// Returns 0, or 1 with the error on stderr.
int run_simulate_command(const std::string& scenario_path, const SimOptions& options, std::FILE* out);

std::string format_table(const SimResult& result, bool verbose = false);
std::string format_json(const SimResult& result);

}  // namespace irqbpfd::sim
