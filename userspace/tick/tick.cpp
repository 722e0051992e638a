// One tick for the daemon, --once and the simulator: the view of the
// machine kept up to date from each reading, then snapshot, rules, plan and
// writes.
#include "irqbpfd/tick/tick.hpp"

#include <fmt/format.h>

#include <algorithm>
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

// Whether the window counted interrupts of `is` on a CPU outside the mask
// the view holds for it (the effective one where the kernel shows it): then
// someone else moved it, or the kernel did (CPU hotplug, a managed IRQ).
// Counts since boot or since the IRQ restarted say nothing of now.
bool ran_outside_its_mask(const model::IrqSnapshot& is, bool cumulative) {
  if (cumulative || is.appeared || is.counter_reset) return false;
  const core::CpuSet* mask = nullptr;
  if (is.desc->effective_affinity && !is.desc->effective_affinity->empty()) {
    mask = &*is.desc->effective_affinity;
  } else if (is.desc->smp_affinity && !is.desc->smp_affinity->empty()) {
    mask = &*is.desc->smp_affinity;
  }
  if (mask == nullptr) return false;
  return std::any_of(is.per_cpu.begin(), is.per_cpu.end(),
                     [&](const model::IrqCpuCount& pc) { return pc.count > 0 && !mask->contains(pc.cpu); });
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
  if (auto r = refresh_slice(); !r) return r.error();
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
  shared_.assign(inventory_.irqs.size(), nullptr);
  for (std::size_t k = 0; k < shared_.size(); ++k) share(k);
  cpu_state_ = std::move(cpus);
  rows_ = numbered_rows(reading.interrupts);
  refresh_cursor_ = 0;  // the rescan read every mask
  ++rescans_;
  return {};
}

core::Result<void> MachineView::refresh_slice() {
  std::vector<core::IrqDesc>& irqs = inventory_.irqs;
  if (irqs.empty()) return {};
  const std::size_t slice = (irqs.size() + refresh_every_ - 1) / refresh_every_;
  for (std::size_t n = 0; n < slice; ++n) {
    if (refresh_cursor_ >= irqs.size()) refresh_cursor_ = 0;
    const std::size_t k = refresh_cursor_++;
    auto files = sys::read_irq_affinity(root_, irqs[k].irq);
    ++swept_;
    if (!files) {
      if (files.error().errno_value == ENOENT) {
        request_rescan("an IRQ vanished");
        continue;
      }
      return files.error();
    }
    set_masks(k, std::move(files->smp_affinity), std::move(files->effective_affinity));
  }
  return {};
}

void MachineView::set_masks(std::size_t k, std::optional<core::CpuSet> smp, std::optional<core::CpuSet> effective) {
  core::IrqDesc& d = inventory_.irqs[k];
  if (d.smp_affinity == smp && d.effective_affinity == effective) return;
  d.smp_affinity = std::move(smp);
  d.effective_affinity = std::move(effective);
  share(k);
}

core::IrqDesc* MachineView::find(core::IrqNumber irq) {
  auto& irqs = inventory_.irqs;  // sorted by IRQ number
  auto it = std::lower_bound(irqs.begin(), irqs.end(), irq,
                             [](const core::IrqDesc& d, core::IrqNumber n) { return d.irq < n; });
  return it != irqs.end() && it->irq == irq ? &*it : nullptr;
}

core::Result<std::shared_ptr<const core::IrqDesc>> MachineView::reread(core::IrqNumber irq) {
  using Shared = std::shared_ptr<const core::IrqDesc>;
  core::IrqDesc* d = find(irq);
  if (d == nullptr) return Shared();
  ++rereads_;
  auto files = sys::read_irq_affinity(root_, irq);
  if (!files) {
    if (files.error().errno_value == ENOENT) {
      request_rescan("an IRQ vanished");
      return Shared();
    }
    return files.error();
  }
  const auto k = static_cast<std::size_t>(d - inventory_.irqs.data());
  set_masks(k, std::move(files->smp_affinity), std::move(files->effective_affinity));
  return shared_[k];
}

void MachineView::written(const apply::WriteResult& w) {
  if (w.outcome == apply::Outcome::kVanished) {
    request_rescan("an IRQ vanished before its write");
    return;
  }
  if (core::IrqDesc* d = find(w.irq)) {
    if (w.smp_affinity) d->smp_affinity = *w.smp_affinity;
    if (w.effective_affinity) d->effective_affinity = *w.effective_affinity;
    if (w.outcome == apply::Outcome::kManaged) d->managed = true;
    share(static_cast<std::size_t>(d - inventory_.irqs.data()));
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
  window.shared_descs = &view.shared_descs();
  window.cpu_state = &view.cpu_state();
  window.machine = &view.machine();
  window.user_hz = in.user_hz;
  window.compare_estimate = in.compare_estimate;
  window.fallback_reason = in.fallback_reason;
  if (in.on_window) in.on_window(window);
  auto snap = model::build_snapshot(window);
  if (!snap) return snap.error();
  out.snapshot = std::move(*snap);
  // An IRQ that ran outside the mask the view holds: its masks re-read now,
  // so the plan starts from where it is.
  for (model::IrqSnapshot& is : out.snapshot.irqs) {
    if (!ran_outside_its_mask(is, out.snapshot.cumulative)) continue;
    auto now = view.reread(is.desc->irq);
    if (!now) return now.error();
    if (*now == nullptr) continue;
    is.desc = std::move(*now);  // the view's new copy, with the masks as read now
  }

  const Rules rules = in.rules(view.inventory());
  if (!rules.levels.empty()) {
    for (auto& is : out.snapshot.irqs) {
      auto it = rules.levels.find(is.desc->irq);
      if (it != rules.levels.end() && is.desc->level != it->second) is.edit_desc().level = it->second;
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
