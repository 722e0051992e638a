// Steps 1 and 2 of plan(): which CPUs may take IRQs this cycle, the loads as
// they are now, and powersave's choice of a CPU to drain.
#include <fmt/format.h>

#include <numeric>

#include "irqbpfd/model/load_noise.hpp"
#include "steps.hpp"

namespace irqbpfd::balance::detail {
namespace {

// x86 (and ARM GICv3) deliver an IRQ to one CPU of its mask, which
// effective_affinity names. The snapshot shows it when some IRQ's mask spans
// several CPUs while its effective affinity is one; then a wide mask's load
// does not spread, it lands where the kernel's vector allocator puts it.
bool single_target(const model::Snapshot& snap) {
  return std::any_of(snap.irqs.begin(), snap.irqs.end(), [](const model::IrqSnapshot& i) {
    return i.desc->smp_affinity && i.desc->effective_affinity && i.desc->smp_affinity->count() > 1 &&
           i.desc->effective_affinity->count() == 1;
  });
}

Now where_now(const model::IrqSnapshot& irq, double load) {
  Now out;
  const auto visit = [&](auto&& f) {
    if (!irq.active.empty()) {
      for (std::uint32_t i : irq.active) f(irq.per_cpu[i]);
    } else {
      for (const auto& pc : irq.per_cpu) f(pc);
    }
  };
  double counted = 0;
  visit([&](const model::IrqCpuCount& pc) { counted += static_cast<double>(pc.count); });
  if (counted > 0) {
    out.load.reserve(irq.active.empty() ? 1 : irq.active.size());
    visit([&](const model::IrqCpuCount& pc) {
      if (pc.count == 0) return;
      out.cpus.insert(pc.cpu);
      out.load.emplace_back(pc.cpu, load * static_cast<double>(pc.count) / counted);
    });
    return out;
  }
  if (irq.desc->effective_affinity) out.cpus = *irq.desc->effective_affinity;
  if (out.cpus.empty() && irq.desc->smp_affinity) out.cpus = *irq.desc->smp_affinity;
  const double share = load / static_cast<double>(std::max<std::size_t>(out.cpus.count(), 1));
  out.cpus.for_each([&](CpuId c) { out.load.emplace_back(c, share); });
  return out;
}

}  // namespace

std::string pct(double ns_per_s) { return fmt::format("{:.1f}%", 100.0 * ns_per_s / kNsPerS); }

Frame cpu_frame(const model::Snapshot& snap, const Policy& policy) {
  Frame f;
  for (const auto& c : snap.cpus) {
    f.top = std::max(f.top, raw(c.cpu) + 1);
    if (!c.online) continue;
    f.online.insert(c.cpu);
    if (c.isolated || c.nohz_full) f.forbidden.insert(c.cpu);
  }
  f.forbidden |= policy.banned_cpus & f.online;
  f.usable = f.online - f.forbidden;
  f.targets = f.usable;
  f.single = single_target(snap);
  return f;
}

LoadsNow loads_now(const model::Snapshot& snap, const Frame& frame) {
  LoadsNow out(frame.top);
  for (const auto& c : snap.cpus) {
    if (c.online && c.softirq_unattributed_ns && snap.window_s > 0) {
      const auto& v = *c.softirq_unattributed_ns;
      out.background[c.cpu] +=
          static_cast<double>(std::accumulate(v.begin(), v.end(), std::uint64_t{0})) / snap.window_s;
    }
  }
  out.before = out.background;
  out.now_of.reserve(snap.irqs.size());
  out.load_of.reserve(snap.irqs.size());
  for (const auto& irq : snap.irqs) {
    out.load_of.push_back(model::irq_load_ns_per_s(irq, snap.window_s));
    out.now_of.push_back(where_now(irq, out.load_of.back()));
    for (const auto& [c, l] : out.now_of.back().load) out.before[c] += l;
  }
  return out;
}

void choose_powersave(Frame& frame, const LoadMap& before, const State& state, const Policy& policy) {
  const CpuSet& usable = frame.usable;
  CpuSet powersave = state.powersave & usable;
  if (policy.power_threshold && usable.count() > 1) {
    double sum = 0, sq = 0;
    const auto n = static_cast<double>(usable.count());
    usable.for_each([&](CpuId c) { sum += before[c]; });
    const double avg = sum / n;
    usable.for_each([&](CpuId c) { sq += (before[c] - avg) * (before[c] - avg); });
    const double sd = std::sqrt(sq / std::max(n - 1, 1.0));
    std::uint32_t under = 0, over = 0;
    usable.for_each([&](CpuId c) {
      if (before[c] + sd <= avg) ++under;
      if (before[c] - sd > avg) ++over;
    });
    if (over > 0) {
      powersave = CpuSet{};
    } else if (under >= *policy.power_threshold && state.cycle >= 2 && powersave.count() + 1 < usable.count()) {
      std::optional<CpuId> coldest;
      (usable - powersave).for_each([&](CpuId c) {
        if (!coldest || before[c] < before[*coldest]) coldest = c;
      });
      if (coldest) powersave.insert(*coldest);
    }
  }
  frame.powersave = powersave;
  frame.targets = usable - powersave;
}

}  // namespace irqbpfd::balance::detail
