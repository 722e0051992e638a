// Step 6 of plan(): the writes from where IRQs run to the target, in write
// order: mandatory moves (heaviest first), then relocations off the hottest
// CPUs (heaviest IRQ first), then narrowings (the IRQ already runs inside
// its target: no load moves). A relocation may not take the hottest CPU
// above where it stood before the plan; passes repeat until one writes
// nothing (a relocation may wait until the IRQ leaving its CPU has moved),
// at most max_moves_per_cycle writes. Also each step's Move and reason.
#include <fmt/format.h>

#include <algorithm>

#include "steps.hpp"

namespace irqbpfd::balance::detail {
namespace {

constexpr double eps = 1e-6 * kNsPerS;

StepKind kind_of(const Item& item, const Candidate& target) {
  if (item.mandatory) return StepKind::kMandatory;
  return item.now->cpus.is_subset_of(target.cpus) ? StepKind::kNarrow : StepKind::kRelocate;
}

}  // namespace

std::vector<std::size_t> differing(const Placer& placer, const std::vector<Item>& items,
                                   const std::vector<std::size_t>& target) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    if (item.mandatory || !item.current || *item.current != target[i] ||
        !item.now->cpus.is_subset_of(placer.candidate(target[i]).cpus)) {
      out.push_back(i);
    }
  }
  return out;
}

Path walk_path(const Placer& placer, const std::vector<Item>& items, const Frame& frame, const LoadMap& start,
               const Vectors& vectors, const std::vector<std::size_t>& target, std::vector<std::size_t> pending,
               const Policy& policy) {
  Path path{{}, {}, LoadIndex(start, frame.online, frame.targets)};
  LoadIndex& load = path.end;
  std::vector<StepKind> kind(items.size(), StepKind::kRelocate);
  std::vector<double> source_load(items.size(), 0);
  for (std::size_t i : pending) {
    kind[i] = kind_of(items[i], placer.candidate(target[i]));
    for (const auto& [c, l] : items[i].now->load) source_load[i] = std::max(source_load[i], start[c]);
  }
  std::stable_sort(pending.begin(), pending.end(), [&](std::size_t a, std::size_t b) {
    if (kind[a] != kind[b]) return kind[a] < kind[b];
    if (kind[a] == StepKind::kRelocate && source_load[a] != source_load[b]) return source_load[a] > source_load[b];
    if (items[a].load != items[b].load) return items[a].load > items[b].load;
    return raw(items[a].irq->desc->irq) < raw(items[b].irq->desc->irq);
  });
  Vectors vec = vectors;
  const double start_max = load.max();
  std::vector<char> done(items.size(), 0);
  std::size_t left = pending.size();
  for (bool progress = true; progress && left > 0 && path.steps.size() < policy.max_moves_per_cycle;) {
    progress = false;
    for (std::size_t i : pending) {
      if (done[i] != 0 || path.steps.size() >= policy.max_moves_per_cycle) continue;
      const Item& item = items[i];
      // Written now, the mask lands where the kernel puts it given the
      // writes before it.
      Step step;
      step.item = i;
      step.target = target[i];
      step.kind = kind[i];
      step.lands = placer.landing(item, target[i], vec);
      step.max_before = load.max();
      for (const auto& [c, l] : item.now->load) step.from_load = std::max(step.from_load, load[c]);
      placer.lands_set(step.lands).for_each([&](CpuId c) { step.to_load = std::max(step.to_load, load[c]); });
      for (const auto& [c, l] : item.now->load) load.add(c, -l);
      placer.add_load(load, step.lands, item.load);
      if (step.kind == StepKind::kRelocate && load.max() > start_max + eps) {
        // Not yet: it would take the hottest CPU above where it stood.
        placer.add_load(load, step.lands, -item.load);
        for (const auto& [c, l] : item.now->load) load.add(c, l);
        continue;
      }
      step.max_after = load.max();
      step.cost_after = objective(load);
      if (step.lands.cpu) vec.move(item.effective, step.lands.cpu);
      path.steps.push_back(step);
      done[i] = 1;
      --left;
      progress = true;
    }
  }
  for (std::size_t i : pending) {
    if (done[i] == 0) path.left.push_back(i);
  }
  return path;
}

Move move_of(const Step& step, const Item& item, const Placer& placer, const Frame& frame) {
  const Candidate& to = placer.candidate(step.target);
  const core::IrqDesc& d = *item.irq->desc;
  constexpr double k = 100.0 / kNsPerS;
  std::string reason;
  if (step.kind == StepKind::kMandatory) {
    if (d.smp_affinity->intersects(frame.forbidden)) {
      reason = fmt::format("on forbidden CPU(s) {} (isolated, nohz_full or banned)", (*d.smp_affinity & frame.forbidden).to_list());
    } else if (item.now->cpus.intersects(frame.powersave)) {
      reason = fmt::format("powersave: draining cpu {}", (item.now->cpus & frame.powersave).to_list());
    } else {
      reason = fmt::format("runs on cpu {} outside its device's NUMA node {}", item.now->cpus.to_list(), d.node);
    }
    reason += fmt::format("; to {}", to.label);
  } else if (step.kind == StepKind::kNarrow) {
    reason = fmt::format("pinned to {} where it already runs (load {}): the mask {} let it wander", to.label,
                         pct(item.load), d.smp_affinity->to_list());
  } else {
    const CpuSet to_set = placer.lands_set(step.lands);
    const double share = item.load / static_cast<double>(to_set.count());
    const double left = item.load / static_cast<double>(std::max<std::size_t>(item.now->load.size(), 1));
    const std::string from_cpus = item.now->cpus.to_list();
    const bool lowers = step.max_after < step.max_before - eps;
    const std::string where =
        to_set == to.cpus ? to.label : fmt::format("{} (lands on cpu {})", to.label, to_set.to_list());
    reason = fmt::format("load {:.1f}% from cpu {} ({:.1f}% -> {:.1f}%) to {} ({:.1f}% -> {:.1f}%); {}", k * item.load,
                         from_cpus, k * step.from_load, k * (step.from_load - left), where, k * step.to_load,
                         k * (step.to_load + share),
                         lowers ? fmt::format("hottest CPU {:.1f}% -> {:.1f}%", k * step.max_before, k * step.max_after)
                                : std::string("evens the spread"));
  }
  return Move{d.irq, *d.smp_affinity, to.cpus, std::move(reason),
              static_cast<std::int64_t>(step.max_before - step.max_after)};
}

}  // namespace irqbpfd::balance::detail
