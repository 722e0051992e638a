// apply_plan: writes a balance::Plan's moves through an AffinityWriter, in
// the plan's order, falling back to a move's alternative masks when the
// kernel has no vectors, and sums up what happened for the daemon's Status.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/balance/balancer.hpp"
#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/types.hpp"

namespace irqbpfd::apply {

// One move: the write that settled it, and the ENOSPC refusals before it.
struct MoveResult {
  WriteResult result;  // the last attempt: the plan's `to`, or a fallback
  // Which of Move::fallbacks `result` wrote; nullopt for the plan's `to`.
  std::optional<std::size_t> fallback;
  // Earlier attempts refused with ENOSPC, in order (empty when `to` settled).
  std::vector<WriteResult> no_vectors;
};

struct ApplyReport {
  std::vector<MoveResult> results;        // one per move, in plan order
  std::map<Outcome, std::size_t> counts;  // final outcome per move; absent outcomes are 0
  std::set<core::IrqNumber> managed;      // found kernel-managed: keep them out of later plans
  // The CPUs of every mask refused with ENOSPC: no free vectors there at the
  // time, so later plans can avoid them.
  core::CpuSet no_vector_cpus;

  [[nodiscard]] std::size_t count(Outcome outcome) const;
  // Every move ended done, unchanged, managed (the kernel's call, not an
  // error) or dry-run. True for an empty plan.
  [[nodiscard]] bool all_applied() const;
};

// Per move: write `to`; while the kernel answers ENOSPC, try the next of
// `fallbacks`, skipping any whose CPUs all refused already for this move
// (nothing was written in between that could have freed a vector there).
// Other outcomes are final; nothing is retried across moves.
ApplyReport apply_plan(const balance::Plan& plan, AffinityWriter& writer);

}  // namespace irqbpfd::apply
