// Step 7 of plan(): is the path worth its writes? Every write that moves an
// IRQ to another CPU costs: the migration disturbs its caches and the
// interrupts in flight, and takes a vector from the kernel's allocator.
// A path is taken only when the objective (hottest CPU + spread) drops by
// more than a floor that never decays below a fixed minimum, plus the price
// of each write. So at steady load, where no placement is much better than
// the current one, a re-plan of the whole machine costs far more than it
// can gain, whatever the noise measured.
#include <algorithm>

#include "steps.hpp"

namespace irqbpfd::balance::detail {

double objective(const LoadIndex& load) { return load.max() + load.spread_std(); }

Gate gate_for(const Policy& policy, double hottest_ns, double noise) {
  // Until noise was measured, min_gain_pct; then three times the noise,
  // within [min_gain_floor_pct, min_gain_pct]. The noise is the larger of
  // the window-to-window noise and the change seen in moved IRQs' loads
  // (LoadNoise::for_plans): where an IRQ's load depends on where it runs
  // (the /proc estimate), a plan's predicted gain is that uncertain.
  const double hi = policy.min_gain_pct / 100.0;
  const double lo = std::min(policy.min_gain_floor_pct / 100.0, hi);
  const double share = noise < 0 ? hi : std::clamp(3.0 * noise, lo, hi);
  Gate g;
  g.floor_ns = std::max(share * hottest_ns, static_cast<double>(policy.min_gain_ns));
  g.write_cost_ns = static_cast<double>(policy.write_cost_ns);
  g.noise = noise;
  return g;
}

std::size_t steps_worth_taking(const Path& path, double objective_without, const Gate& gate) {
  const std::vector<Step>& steps = path.steps;
  std::size_t mandatory = 0;
  while (mandatory < steps.size() && steps[mandatory].kind == StepKind::kMandatory) ++mandatory;
  // The value of taking the first k steps: what they gain over the plan
  // without them, less their writes.
  double best_value = 0;
  std::size_t best = mandatory;
  std::size_t writes = 0;
  double value = 0;
  for (std::size_t k = mandatory; k < steps.size(); ++k) {
    if (steps[k].kind == StepKind::kRelocate) ++writes;
    value = objective_without - steps[k].cost_after - gate.write_cost_ns * static_cast<double>(writes);
    if (value > best_value + 1.0) {  // ties: the fewer writes
      best_value = value;
      best = k + 1;
    }
  }
  // The whole path when it pays (the last steps even out what the first
  // ones freed), else the prefix that pays most, else only what must move.
  if (steps.size() > mandatory && value > gate.floor_ns) return steps.size();
  if (best_value > gate.floor_ns) return best;
  return mandatory;
}

}  // namespace irqbpfd::balance::detail
