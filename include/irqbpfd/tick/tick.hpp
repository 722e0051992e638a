// One tick: the cycle the daemon, `irqbpfd --once` and the simulator all
// run. A MachineView keeps what the cycle knows of the machine between
// readings (IRQ inventory, CPU state, topology) and re-reads only what
// changed; run_tick() takes a pair of readings through the view, the
// snapshot, the cycle's rules, the plan and the writes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/apply/apply_plan.hpp"
#include "irqbpfd/balance/balancer.hpp"
#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/model/snapshot.hpp"
#include "irqbpfd/sys/cpus.hpp"
#include "irqbpfd/sys/irq_inventory.hpp"
#include "irqbpfd/sys/sys_root.hpp"
#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::tick {

// Cycles over which every IRQ's affinity files are re-read once, a slice of
// the IRQs each cycle (config affinity_refresh_cycles). The sweep is only
// for masks of IRQs that did not fire: one that fired where the view did not
// expect is re-read in the cycle that counted it.
inline constexpr std::uint32_t kDefaultRefreshCycles = 60;

using TopologyLoader = std::function<core::Result<topology::Machine>(const sys::SysRoot&)>;

// The machine as the cycle knows it. The first update() reads everything;
// later ones rescan (inventory, and topology when CPUs changed) only when
// the reading's IRQ rows differ from the last rescan's, the online CPUs
// changed, or a rescan was asked for. In between only affinity files are
// re-read, never a PCI device: each cycle a slice of the IRQs, so that
// every IRQ's masks are read once in `refresh_every` cycles (at 256 CPUs x
// 2000 IRQs a whole sweep is ~4000 files, 50-70 ms in one cycle), and at
// once those of an IRQ counted on a CPU outside its mask (reread()), so a
// mask someone else wrote is seen in the cycle the IRQ fires there.
class MachineView {
 public:
  MachineView(sys::SysRoot root, TopologyLoader load_topology, std::uint32_t refresh_every = kDefaultRefreshCycles);

  // Brings the view up to `reading`. Returns why it rescanned ("start",
  // "IRQs appeared or vanished", ...), or nullopt when nothing was re-read
  // but perhaps the affinities.
  core::Result<std::optional<std::string>> update(const collect::RawSample& reading);
  // The next update() rescans, saying `why`.
  void request_rescan(std::string why = "requested");
  void set_refresh_every(std::uint32_t cycles) { refresh_every_ = cycles == 0 ? 1 : cycles; }
  // Re-reads one IRQ's masks now. An IRQ gone from /proc/irq asks for a
  // rescan instead. Returns the IRQ as the view now holds it (nullptr when
  // it is not in the inventory or vanished).
  core::Result<std::shared_ptr<const core::IrqDesc>> reread(core::IrqNumber irq);
  // What a write did: the masks read back and a managed IRQ marked, so the
  // next plan starts from where the IRQ is now.
  void written(const apply::WriteResult& w);

  [[nodiscard]] const sys::IrqInventory& inventory() const { return inventory_; }
  // inventory().irqs as unchanging shared copies, same order: a snapshot
  // holds these. A change to an IRQ (a mask read or written) replaces its
  // copy, never edits it, so a snapshot an API request still reads keeps
  // what it was built with.
  [[nodiscard]] const std::vector<std::shared_ptr<const core::IrqDesc>>& shared_descs() const { return shared_; }
  [[nodiscard]] const sys::CpuState& cpu_state() const { return cpu_state_; }
  [[nodiscard]] const topology::Machine& machine() const { return machine_; }
  [[nodiscard]] const sys::SysRoot& root() const { return root_; }
  [[nodiscard]] std::uint64_t rescans() const { return rescans_; }
  // Affinity re-reads so far: by the sweep, and because an IRQ ran outside
  // its mask.
  [[nodiscard]] std::uint64_t swept() const { return swept_; }
  [[nodiscard]] std::uint64_t reread_count() const { return rereads_; }

 private:
  core::Result<void> rescan(const collect::RawSample& reading, sys::CpuState cpus, bool first);
  // The next slice of the sweep: ceil(IRQs / refresh_every) of them, on
  // from where the last slice stopped.
  core::Result<void> refresh_slice();
  core::IrqDesc* find(core::IrqNumber irq);
  // Sets inventory_.irqs[k]'s masks; a new shared copy only when they changed.
  void set_masks(std::size_t k, std::optional<core::CpuSet> smp, std::optional<core::CpuSet> effective);
  void share(std::size_t k) { shared_[k] = std::make_shared<const core::IrqDesc>(inventory_.irqs[k]); }

  sys::SysRoot root_;
  TopologyLoader load_topology_;
  std::uint32_t refresh_every_;
  sys::IrqInventory inventory_;
  std::vector<std::shared_ptr<const core::IrqDesc>> shared_;
  sys::CpuState cpu_state_;
  topology::Machine machine_;
  std::set<core::IrqNumber> rows_;  // numbered rows of /proc/interrupts at the last rescan
  std::optional<std::string> requested_;
  bool started_ = false;
  std::size_t refresh_cursor_ = 0;  // index into inventory_.irqs of the next slice
  std::uint64_t rescans_ = 0;
  std::uint64_t swept_ = 0;
  std::uint64_t rereads_ = 0;
};

// The cycle's rules, resolved against the view's inventory: the policy
// (bans, pins, NUMA) and per-IRQ balance levels over the inventory's.
struct Rules {
  balance::Policy policy;
  std::map<core::IrqNumber, core::BalanceLevel> levels;
};

struct TickInput {
  std::string collector;                        // its name, for the snapshot
  std::optional<std::string> fallback_reason;   // why auto did not use BPF
  const collect::RawSample* before = nullptr;   // nullptr: counts since boot
  const collect::RawSample* after = nullptr;    // required
  std::uint32_t user_hz = 100;
  bool compare_estimate = false;
  // Resolves the rules for this cycle (required).
  std::function<Rules(const sys::IrqInventory&)> rules;
  // Optional observers: what build_snapshot reads, and what plan() plans from.
  std::function<void(const model::WindowInput&)> on_window;
  std::function<void(const model::Snapshot&, const balance::State&)> on_snapshot;
};

struct TickOutput {
  std::optional<std::string> rescanned;  // why the view rescanned, if it did
  model::Snapshot snapshot;              // with the rules' levels
  balance::PlanResult planned;
  double plan_us = 0;                    // thread CPU time of balance::plan alone
  apply::ApplyReport applied;            // empty without a writer
};

// The view brought up to `in.after`, the snapshot of the window, the rules,
// balance::plan from `state`, and the plan written through `writer` (none:
// planned only, as `--once --dry-run` does), the view told of every write.
core::Result<TickOutput> run_tick(MachineView& view, const TickInput& in, const balance::State& state,
                                  apply::AffinityWriter* writer);

}  // namespace irqbpfd::tick
