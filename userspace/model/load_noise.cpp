// Per-IRQ load from one window to the next, and the smoothed share by which
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

LoadNoise update_load_noise(const LoadNoise& before, const Snapshot& snapshot) {
  LoadNoise out;
  out.share = before.share;
  out.loads_ns_per_s.reserve(snapshot.irqs.size());
  double moved = 0, weight = 0;
  auto prev = before.loads_ns_per_s.begin();
  for (const IrqSnapshot& irq : snapshot.irqs) {  // ascending IRQ, as the snapshot keeps them
    const double l = irq_load_ns_per_s(irq, snapshot.window_s);
    out.loads_ns_per_s.emplace_back(irq.desc.irq, l);
    while (prev != before.loads_ns_per_s.end() && prev->first < irq.desc.irq) ++prev;
    if (prev == before.loads_ns_per_s.end() || prev->first != irq.desc.irq) continue;
    const double hi = std::max(l, prev->second);
    if (hi <= 0) continue;
    moved += std::abs(l - prev->second);
    weight += hi;
  }
  out.observed = before.observed;
  if (weight > 0) {
    out.observed = moved / weight;
    const double lasting = before.observed < 0 ? out.observed : std::min(out.observed, before.observed);
    out.share = before.share < 0 ? lasting : 0.5 * before.share + 0.5 * lasting;
  }
  return out;
}

}  // namespace irqbpfd::model
