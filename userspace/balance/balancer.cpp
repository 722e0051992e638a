// plan(snapshot, state, policy) -> Plan: where each movable IRQ should run,
// and the writes that get it there when they pay for themselves. Pure: no
// I/O, no clock; the same input gives the same plan.
//
// Overview: one cycle's plan, in the order plan() runs the steps.
//
//  1. CPUs (frame.cpp): online, forbidden (isolated, nohz_full, banned),
//     usable; whether the machine delivers an IRQ to one CPU of its mask.
//  2. Loads now (frame.cpp): background softirq time plus every IRQ where
//     its interrupts landed; powersave may drain one CPU; the noise of the
//     loads is updated (model::update_load_noise).
//  3. Candidates (candidates.cpp): the masks an IRQ may get at its level
//     (package, cache domain, core), on its device's node.
//  4. Eligibility (eligibility.cpp): kernel-managed IRQs are held; pins and
//     a banned IRQ's forbidden CPUs are written whatever else applies; bans,
//     level none and cooldowns hold; the rest become items, some of which
//     must move (forbidden or drained CPU, off its node under strict).
//  5. Placement (placement.cpp): longest first from scratch, and every IRQ
//     kept where it runs; each improved and evened out; the one with fewer
//     writes wins when about as good, and a capped plan is finished.
//  6. Path and cap (path.cpp): the writes from now to the target, in write
//     order, none raising the hottest CPU, at most max_moves_per_cycle.
//  7. The gate (gate.cpp): the path is taken when its gain in hottest CPU
//     plus spread exceeds a fixed-minimum floor plus a price per IRQ moved;
//     else its best-paying prefix; else only the moves that must happen,
//     placed where loads are lowest now.
//  8. Moves (path.cpp): each step taken, with its reason, in write order;
//     what the cap left is finished next cycle.
#include "irqbpfd/balance/balancer.hpp"

#include <fmt/format.h>

#include "steps.hpp"

namespace irqbpfd::balance {
namespace {

using namespace detail;

// Step 8: the moves of the steps taken, the cooldowns they start, and what
// the cap left for the next cycle.
void record_moves(const Path& path, std::size_t taken, const std::vector<Item>& items, const Placer& placer,
                  const Frame& frame, const std::vector<std::size_t>& target, std::uint32_t cap, PlanResult& result) {
  for (std::size_t s = 0; s < taken; ++s) {
    const Step& step = path.steps[s];
    const Item& item = items[step.item];
    result.plan.moves.push_back(move_of(step, item, placer, frame));
    // A narrowing moves no load: it starts no cooldown.
    if (step.kind != StepKind::kNarrow) result.next.irqs[item.irq->desc->irq] = IrqHistory{result.next.cycle, true};
  }
  if (taken == path.steps.size() && taken >= cap) {
    for (std::size_t i : path.left) {
      if (!items[i].mandatory) result.next.unfinished[items[i].irq->desc->irq] = placer.candidate(target[i]).cpus;
    }
  }
}

double max_over(const LoadMap& load, const CpuSet& cpus) {
  double m = 0;
  cpus.for_each([&](CpuId c) { m = std::max(m, load[c]); });
  return m;
}

// The plan's loads before and after the steps taken, and its one line.
void summarise(const Path& path, std::size_t taken, bool worth, std::size_t wanted, const std::vector<Item>& items, const Placer& placer,
               const Frame& frame, const LoadMap& start, const LoadMap& before, const Assignment& target,
               const Gate& gate, const Policy& policy, Plan& out) {
  LoadIndex after(start, frame.online, frame.targets);
  for (std::size_t s = 0; s < taken; ++s) {
    const Step& step = path.steps[s];
    for (const auto& [c, l] : items[step.item].now->load) after.add(c, -l);
    placer.add_load(after, step.lands, items[step.item].load);
  }
  frame.online.for_each([&](CpuId c) {
    out.load_before[c] = static_cast<std::uint64_t>(std::max(0.0, before[c]));
    out.load_after[c] = static_cast<std::uint64_t>(std::max(0.0, after[c]));
  });
  const double max_now = max_over(before, frame.online);
  out.max_before = static_cast<std::uint64_t>(max_now);
  out.max_after = static_cast<std::uint64_t>(after.max());
  if (out.moves.empty()) {
    out.summary = fmt::format("no moves: hottest CPU at {}", pct(max_now));
    if (wanted > 0) {
      out.summary += fmt::format(" (best placement found: {}; its {} writes do not pay: gain below {} + {} a write)",
                                 pct(max_over(target.load.loads(), frame.online)), wanted,
                                 pct(gate.floor_ns), pct(gate.write_cost_ns));
    }
    return;
  }
  const std::size_t left =
      worth && taken == path.steps.size() && taken >= policy.max_moves_per_cycle ? path.left.size() : 0;
  out.summary = fmt::format("{} move{}: hottest CPU {} -> {}{}", out.moves.size(), out.moves.size() == 1 ? "" : "s",
                            pct(max_now), pct(after.max()), left == 0 ? "" : fmt::format(" ({} more next cycle)", left));
}

}  // namespace

core::Result<core::CpuSet> banned_cpus_from_env(const char* mask, const char* list) {
  core::CpuSet out;
  if (mask != nullptr && *mask != '\0') {
    auto m = core::CpuSet::parse_mask(mask);
    if (!m) return m.error().with_context("IRQBALANCE_BANNED_CPUS");
    out |= *m;
  }
  if (list != nullptr && *list != '\0') {
    auto l = core::CpuSet::parse_list(list);
    if (!l) return l.error().with_context("IRQBALANCE_BANNED_CPULIST");
    out |= *l;
  }
  return out;
}

PlanResult plan(const model::Snapshot& snap, const State& state, const Policy& policy) {
  PlanResult result;
  result.next = state;
  result.next.unfinished.clear();
  result.next.cycle = state.cycle + 1;
  Plan& out = result.plan;

  // 1-2. CPUs, loads now, powersave, noise.
  Frame frame = cpu_frame(snap, policy);
  const LoadsNow now = loads_now(snap, frame);
  choose_powersave(frame, now.before, state, policy);
  result.next.powersave = out.powersave = frame.powersave;
  result.next.noise = model::update_load_noise(state.noise, snap);
  const double max_now = max_over(now.before, frame.online);
  if (frame.targets.empty()) {
    out.summary = "no CPU may take IRQs (all offline, isolated, nohz_full or banned)";
    return result;
  }

  // 3-4. Candidates and eligibility.
  Pool pool;
  Eligible el = eligible_items(snap, state, policy, frame, now, pool);
  out.held = std::move(el.held);
  LoadMap start = now.before;  // where loads are once the forced writes are made
  for (Forced& f : el.forced) {
    start.add(f.lands_before, -f.load);
    start.add(f.lands_after, f.load);
    out.moves.push_back(std::move(f.move));
  }

  // 5. Placement.
  const Placer placer(el.items, pool, policy, frame, snap.machine);
  const Assignment target = choose_target(placer, el, state);

  // 6-7. Path, cap and gate: the path to the target against the mandatory
  // moves alone, each to where loads are lowest now (the target assumed the
  // other moves too), heaviest first.
  const Gate gate = gate_for(policy, max_now, result.next.noise.for_plans());
  std::vector<std::size_t> alone = target.target;
  std::vector<std::size_t> must;
  {
    std::vector<Landing> lands(el.items.size());
    placer.place_mandatory(start, el.vectors_now, alone, lands);
    for (std::size_t i = 0; i < el.items.size(); ++i) {
      if (el.items[i].mandatory) must.push_back(i);
    }
  }
  Path path_alone = walk_path(placer, el.items, frame, start, el.vectors_now, alone, must, policy);
  const double objective_alone = path_alone.steps.empty() ? objective(LoadIndex(start, frame.online, frame.targets))
                                                          : path_alone.steps.back().cost_after;
  Path path = walk_path(placer, el.items, frame, start, el.vectors_now, target.target,
                        differing(placer, el.items, target.target), policy);
  std::size_t taken = steps_worth_taking(path, objective_alone, gate);
  const bool worth = taken > 0 && path.steps[taken - 1].kind != StepKind::kMandatory;
  const std::size_t wanted = path.steps.size() + path.left.size();
  std::vector<std::size_t> targets = target.target;
  if (!worth) {
    path = std::move(path_alone);
    targets = std::move(alone);
    taken = path.steps.size();
  }

  // 8. Moves.
  record_moves(path, taken, el.items, placer, frame, targets, policy.max_moves_per_cycle, result);
  summarise(path, taken, worth, wanted, el.items, placer, frame, start, now.before, target, gate, policy, out);
  return result;
}

}  // namespace irqbpfd::balance
