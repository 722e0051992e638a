// apply_plan: the moves of a plan written in order, the ENOSPC fallback
// chain per move, and the report's counts, managed IRQs and vector-less CPUs.
#include "irqbpfd/apply/apply_plan.hpp"

#include <algorithm>

namespace irqbpfd::apply {

std::size_t ApplyReport::count(Outcome outcome) const {
  const auto it = counts.find(outcome);
  return it == counts.end() ? 0 : it->second;
}

bool ApplyReport::all_applied() const {
  return std::all_of(results.begin(), results.end(), [](const MoveResult& m) { return is_settled(m.result.outcome); });
}

ApplyReport apply_plan(const balance::Plan& plan, AffinityWriter& writer) {
  ApplyReport report;
  for (const balance::Move& move : plan.moves) {
    MoveResult m{writer.write(move.irq, move.to), std::nullopt, {}};
    core::CpuSet refused;  // CPUs that refused this move for want of vectors
    std::size_t next = 0;
    while (m.result.outcome == Outcome::kNoVectors) {
      refused |= m.result.requested;
      while (next < move.fallbacks.size() && move.fallbacks[next].is_subset_of(refused)) ++next;
      if (next == move.fallbacks.size()) break;
      m.no_vectors.push_back(std::move(m.result));
      m.result = writer.write(move.irq, move.fallbacks[next]);
      m.fallback = next++;
    }
    report.no_vector_cpus |= refused;
    if (m.result.outcome == Outcome::kManaged) report.managed.insert(move.irq);
    ++report.counts[m.result.outcome];
    report.results.push_back(std::move(m));
  }
  return report;
}

}  // namespace irqbpfd::apply
