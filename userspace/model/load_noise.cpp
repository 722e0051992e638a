// Per-IRQ load from one window to the next, and the smoothed shares by which
// it moved (see load_noise.hpp).
#include "irqbpfd/model/load_noise.hpp"

#include <algorithm>
#include <cmath>

namespace irqbpfd::model {

double irq_load_ns_per_s(const IrqSnapshot& irq, double window_s) {
  const double w = window_s > 0 ? window_s : 1.0;
  if (irq.load_ns) return static_cast<double>(*irq.load_ns) / w;
  return static_cast<double>(irq.count) * 1000.0 / w;
}

std::uint32_t main_cpu(const IrqSnapshot& irq) {
  std::uint32_t best = kNowhere;
  std::uint64_t most = 0;
  const auto visit = [&](const IrqCpuCount& pc) {
    const std::uint32_t c = core::raw(pc.cpu);
    if (pc.count > most || (pc.count == most && pc.count > 0 && c < best)) {
      most = pc.count;
      best = c;
    }
  };
  if (!irq.active.empty()) {
    for (std::uint32_t i : irq.active) visit(irq.per_cpu[i]);
  } else {
    for (const auto& pc : irq.per_cpu) visit(pc);
  }
  return best;
}

LoadNoise update_load_noise(const LoadNoise& before, const Snapshot& snapshot) {
  LoadNoise out;
  out.share = before.share;
  out.moved_share = before.moved_share;
  out.seen.reserve(snapshot.irqs.size());
  double moved = 0, weight = 0;              // IRQs that stayed
  double moved_m = 0, weight_m = 0;          // IRQs that moved
  std::size_t moved_irqs = 0;
  auto prev = before.seen.begin();
  for (const IrqSnapshot& irq : snapshot.irqs) {  // ascending IRQ, as the snapshot keeps them
    const double l = irq_load_ns_per_s(irq, snapshot.window_s);
    const std::uint32_t cpu = main_cpu(irq);
    out.seen.push_back({irq.desc->irq, l, cpu});
    while (prev != before.seen.end() && prev->irq < irq.desc->irq) ++prev;
    if (prev == before.seen.end() || prev->irq != irq.desc->irq) continue;
    const double hi = std::max(l, prev->load_ns_per_s);
    if (hi <= 0) continue;
    const double change = std::abs(l - prev->load_ns_per_s);
    if (cpu != kNowhere && prev->cpu != kNowhere && cpu != prev->cpu) {
      moved_m += change;
      weight_m += hi;
      ++moved_irqs;
    } else {
      moved += change;
      weight += hi;
    }
  }
  out.observed = before.observed;
  if (weight > 0) {
    out.observed = moved / weight;
    const double lasting = before.observed < 0 ? out.observed : std::min(out.observed, before.observed);
    out.share = before.share < 0 ? lasting : 0.5 * before.share + 0.5 * lasting;
  }
  if (moved_irqs >= kMovedSample && weight_m > 0) {
    const double seen_now = moved_m / weight_m;
    out.moved_share = before.moved_share < 0 ? seen_now : 0.5 * before.moved_share + 0.5 * seen_now;
  }
  return out;
}

}  // namespace irqbpfd::model
