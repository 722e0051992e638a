// One tick for the daemon, --once and the simulator: the view of the
// machine kept up to date from each reading, then snapshot, rules, plan and
// writes.
#include "irqbpfd/tick/tick.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <utility>

#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/sys/irq_files.hpp"
#include "irqbpfd/sys/proc_interrupts.hpp"

namespace irqbpfd::tick {
namespace {

std::set<core::IrqNumber> numbered_rows(const sys::ProcInterrupts& pi) {
  std::set<core::IrqNumber> out;
  for (const auto& row : pi.rows) {
    if (row.irq) out.insert(*row.irq);
  }
  return out;
}

// Whether the numbered rows of `pi` are exactly `known`: one walk when they
// come ascending (the kernel prints them so), a set otherwise.
bool same_rows(const sys::ProcInterrupts& pi, const std::set<core::IrqNumber>& known) {
  auto it = known.begin();
  for (const auto& row : pi.rows) {
    if (!row.irq) continue;
    if (it == known.end() || *it != *row.irq) return numbered_rows(pi) == known;
    ++it;
  }
  return it == known.end();
}

}  // namespace

MachineView::MachineView(sys::SysRoot root, TopologyLoader load_topology, std::uint32_t refresh_every)
    : root_(std::move(root)), load_topology_(std::move(load_topology)), refresh_every_(refresh_every == 0 ? 1 : refresh_every) {}

void MachineView::request_rescan(std::string why) {
  if (!requested_) requested_ = std::move(why);
}

core::Result<std::optional<std::string>> MachineView::update(const collect::RawSample& reading) {
  auto cpus = sys::read_cpu_state(root_);
  if (!cpus) return cpus.error();
  std::optional<std::string> why;
  if (!started_) why = "start";
  else if (requested_) why = *requested_;
  else if (!same_rows(reading.interrupts, rows_)) why = "IRQs appeared or vanished";
  else if (!(cpus->online == cpu_state_.online)) why = "CPUs went on or off line";
  if (why) {
    if (auto r = rescan(reading, std::move(*cpus), !started_); !r) return r.error().with_context("rescan (" + *why + ")");
    requested_.reset();
    started_ = true;
    return why;
  }
  cpu_state_ = std::move(*cpus);
  if (++since_refresh_ >= refresh_every_) {
    if (auto r = refresh_affinities(); !r) return r.error();
  }
  return std::optional<std::string>{};
}

core::Result<void> MachineView::rescan(const collect::RawSample& reading, sys::CpuState cpus, bool first) {
  const bool cpus_changed = first || !(cpus.online == cpu_state_.online);
  if (cpus_changed) {
    auto machine = load_topology_(root_);
    if (!machine) return machine.error().with_context("topology");
    machine_ = std::move(*machine);
  }
  auto inventory = sys::read_irq_inventory(root_, reading.interrupts);
  if (!inventory) return inventory.error().with_context("inventory");
  inventory_ = std::move(*inventory);
  cpu_state_ = std::move(cpus);
  rows_ = numbered_rows(reading.interrupts);
  since_refresh_ = 0;
  ++rescans_;
  return {};
}

core::Result<void> MachineView::refresh_affinities() {
  for (core::IrqDesc& d : inventory_.irqs) {
    auto files = sys::read_irq_affinity(root_, d.irq);
    if (!files) {
      if (files.error().errno_value == ENOENT) {
        request_rescan("an IRQ vanished");
        continue;
      }
      return files.error();
    }
    d.smp_affinity = files->smp_affinity;
    d.effective_affinity = files->effective_affinity;
  }
  since_refresh_ = 0;
  return {};
}

void MachineView::written(const apply::WriteResult& w) {
  if (w.outcome == apply::Outcome::kVanished) {
    request_rescan("an IRQ vanished before its write");
    return;
  }
  for (core::IrqDesc& d : inventory_.irqs) {
    if (d.irq != w.irq) continue;
    if (w.smp_affinity) d.smp_affinity = *w.smp_affinity;
    if (w.effective_affinity) d.effective_affinity = *w.effective_affinity;
    if (w.outcome == apply::Outcome::kManaged) d.managed = true;
  }
}

core::Result<TickOutput> run_tick(MachineView& view, const TickInput& in, const balance::State& state,
                                  apply::AffinityWriter* writer) {
  TickOutput out;
  auto rescanned = view.update(*in.after);
  if (!rescanned) return rescanned.error();
  out.rescanned = std::move(*rescanned);

  model::WindowInput window;
  window.collector = in.collector;
  window.before = in.before;
  window.after = in.after;
  window.inventory = &view.inventory();
  window.cpu_state = &view.cpu_state();
  window.machine = &view.machine();
  window.user_hz = in.user_hz;
  window.compare_estimate = in.compare_estimate;
  window.fallback_reason = in.fallback_reason;
  if (in.on_window) in.on_window(window);
  auto snap = model::build_snapshot(window);
  if (!snap) return snap.error();
  out.snapshot = std::move(*snap);

  const Rules rules = in.rules(view.inventory());
  if (!rules.levels.empty()) {
    for (auto& is : out.snapshot.irqs) {
      if (auto it = rules.levels.find(is.desc.irq); it != rules.levels.end()) is.desc.level = it->second;
    }
  }
  if (in.on_snapshot) in.on_snapshot(out.snapshot, state);
  const double p0 = core::thread_cpu_us();
  out.planned = balance::plan(out.snapshot, state, rules.policy);
  out.plan_us = core::thread_cpu_us() - p0;
  if (writer != nullptr) {
    out.applied = apply::apply_plan(out.planned.plan, *writer);
    for (const apply::MoveResult& mr : out.applied.results) view.written(mr.result);
  }
  return out;
}

}  // namespace irqbpfd::tick
