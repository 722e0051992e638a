// FakeMachine: the simulated kernel behind a fake root. It holds a
// scenario's state (IRQs, rates, costs, CPUs online) and, tick by tick,
// counts each IRQ's interrupts on the CPU its last written smp_affinity
// selects (x86's vector allocator: one effective CPU per mask, kept when
// still in the new mask, else the mask's CPU with the fewest vectors), then
// writes /proc and /sys files the real readers parse. It also
// keeps the exact per-(IRQ, CPU) counts and time, for the replay collector.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "irqbpfd/collect/bpf_programs.hpp"
#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"
#include "irqbpfd/sim/scenario.hpp"
#include "irqbpfd/sys/sys_root.hpp"
#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::sim {

// Source of the exact cumulative counters a BPF collector would read.
// How a replay charges softirq time to IRQs.
enum class SoftirqCharge {
  // As bpf/irq_stats.bpf.c does: a softirq run goes wholly to the first IRQ
  // that raised its vector since the vector's last run on that CPU (see
  // softirq_charge.hpp). What the BPF collector would measure.
  kFirstRaiser,
  // Each IRQ exactly its own softirq work: an oracle no program can be.
  kOracle,
};

class ExactCounters {
 public:
  virtual ~ExactCounters() = default;
  [[nodiscard]] virtual collect::BpfReading exact_reading(SoftirqCharge charge) const = 0;
};

// One IRQ in one tick, exactly.
struct IrqTick {
  core::IrqNumber irq{};
  std::optional<core::CpuId> cpu;  // where it ran; nullopt when shut down (managed, mask offline)
  std::uint64_t count = 0;
  std::uint64_t load_ns = 0;       // count * cost
  core::CpuSet affinity;           // smp_affinity during the tick
  bool managed = false;
  bool banned = false;             // policy.banned_irqs: the balancer must leave it
};

// What one tick did.
struct TickFacts {
  std::uint32_t tick = 0;
  core::CpuSet online;                 // during the tick
  std::vector<IrqTick> irqs;           // present IRQs, ascending
  std::map<core::CpuId, std::uint64_t> cpu_load_ns;  // every online CPU (0 when idle)
  std::vector<std::string> notes;      // events applied, affinity writes taken or refused, broken affinities
  std::uint32_t affinity_changes = 0;  // smp_affinity writes the tick picked up
  std::uint32_t refused_writes = 0;    // ... and refused (unparsable, no online CPU)
  std::vector<core::IrqNumber> refused;  // the IRQs whose write was refused, ascending
};

class FakeMachine final : public ExactCounters {
 public:
  // Builds the machine and writes the initial files (all counters zero).
  // Without `root`, a temporary directory is made and removed on
  // destruction; a given root is created if needed and kept.
  static core::Result<std::unique_ptr<FakeMachine>> create(const Scenario& scenario,
                                                           std::optional<std::filesystem::path> root = std::nullopt);
  ~FakeMachine() override;
  FakeMachine(const FakeMachine&) = delete;
  FakeMachine& operator=(const FakeMachine&) = delete;

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  [[nodiscard]] const topology::Machine& machine() const { return machine_; }
  [[nodiscard]] const Scenario& scenario() const { return scenario_; }
  // The machine's monotonic clock: it moves tick_s per step(), never by itself.
  [[nodiscard]] const core::Clock& clock() const { return clock_; }
  [[nodiscard]] std::uint32_t ticks_run() const { return tick_; }
  [[nodiscard]] const core::CpuSet& online() const { return online_; }
  [[nodiscard]] std::uint32_t nr_cpu_ids() const { return nr_cpu_ids_; }
  // The CPU an IRQ runs on now (nullopt: absent or shut down).
  [[nodiscard]] std::optional<core::CpuId> effective_cpu(core::IrqNumber irq) const;
  [[nodiscard]] std::optional<core::CpuSet> affinity(core::IrqNumber irq) const;

  // One tick: apply the scenario's events for this tick, pick up affinity
  // writes from the fake root (a write whose mask has no online CPU is
  // refused and the file restored, as the kernel's EINVAL), count tick_s of
  // interrupts, write the files and advance the clock.
  core::Result<TickFacts> step();

  // Cumulative exact counters per (IRQ, CPU): count, handler time
  // (count * cost * (1 - softirq share)), and softirq time: as the programs
  // charge it, or (kOracle) the time each IRQ raised.
  [[nodiscard]] collect::BpfReading exact_reading(SoftirqCharge charge) const override;

  struct IrqState;

 private:
  FakeMachine(Scenario scenario, topology::Machine machine, std::filesystem::path root, bool owned);
  core::Result<void> write_static_files();
  core::Result<void> write_cpu_topology_files();
  core::Result<void> write_node_files();
  core::Result<void> write_tick_files();
  core::Result<void> write_cpu_online_files();
  core::Result<void> write_irq_files(IrqState& irq);
  core::Result<void> apply_event(const SimEvent& event, TickFacts& facts);
  core::Result<void> pick_up_affinity(IrqState& irq, TickFacts& facts);
  void cpu_offline(core::CpuId cpu, TickFacts& facts);
  void place(IrqState& irq, bool initial = false);
  struct Raised;
  void charge_softirq(const std::vector<Raised>& raised);
  [[nodiscard]] double noise();

  Scenario scenario_;
  topology::Machine machine_;
  std::filesystem::path root_;
  sys::SysRoot sys_root_;
  bool owned_root_;
  core::ManualClock clock_;
  std::uint32_t tick_ = 0;
  std::uint32_t nr_cpu_ids_ = 1;
  core::CpuSet online_;
  std::optional<core::CpuSet> online_written_;  // what the per-CPU online files say
  std::vector<std::unique_ptr<IrqState>> irqs_;  // ascending IRQ number
  std::map<core::CpuId, std::uint64_t> hardirq_ns_;  // cumulative per CPU, all time
  std::map<core::CpuId, std::uint64_t> softirq_ns_;
  std::map<core::CpuId, std::uint64_t> loc_;        // local timer interrupts
  std::uint64_t boot_ns_ = 0;
  std::mt19937_64 rng_;
};

// The balancer side's writer for the fake root (the real AffinityWriter
// comes later): writes `mask` to /proc/irq/N/smp_affinity in the kernel's
// hex format for `nr_cpu_ids`. Refuses like the kernel: ENOENT when the IRQ
// is gone, EIO when the file is read-only (kernel-managed), EINVAL for an
// empty mask. Errors read "irq 42: smp_affinity: kernel-managed (EIO)".
core::Result<void> write_affinity(const sys::SysRoot& root, core::IrqNumber irq, const core::CpuSet& mask,
                                  std::uint32_t nr_cpu_ids);

}  // namespace irqbpfd::sim
