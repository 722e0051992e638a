// Step 4 of plan(): which IRQs the balancer may move. Kernel-managed IRQs and
// those without smp_affinity are held; pins are written as given; banned
// IRQs and those at level none stay, but lose any forbidden CPU from their
// mask; an IRQ that moved waits out its cooldown. The rest become items,
// each with its candidates and whether it must move (forbidden, powersave,
// off its node under numa=strict).
#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>

#include "steps.hpp"

namespace irqbpfd::balance::detail {
namespace {

bool matches_any(const std::vector<std::string>& patterns, const std::string& text) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return fnmatch(p.c_str(), text.c_str(), 0) == 0; });
}

std::optional<std::string> ban_reason(const core::IrqDesc& d, const Policy& policy) {
  if (policy.banned_irqs.count(d.irq) != 0) return std::string("banned (--ban-irq)");
  if (matches_any(policy.banned_names, d.name)) return fmt::format("banned (name {})", d.name);
  if (!d.driver.empty() && std::find(policy.banned_drivers.begin(), policy.banned_drivers.end(), d.driver) !=
                               policy.banned_drivers.end()) {
    return fmt::format("banned (driver {})", d.driver);
  }
  return std::nullopt;
}

std::optional<CpuId> effective_of(const model::IrqSnapshot& irq, const CpuSet& lands) {
  if (irq.desc->effective_affinity && irq.desc->effective_affinity->count() == 1) return irq.desc->effective_affinity->first();
  if (lands.count() == 1) return lands.first();
  return std::nullopt;
}

class Sorter {
 public:
  Sorter(const model::Snapshot& snap, const State& state, const Policy& policy, const Frame& frame,
         const LoadsNow& now, Pool& pool, Eligible& out)
      : snap_(snap), state_(state), policy_(policy), frame_(frame), now_(now), pool_(pool), out_(out) {}

  void sort(std::size_t k) {
    const model::IrqSnapshot& irq = snap_.irqs[k];
    const core::IrqDesc& d = *irq.desc;
    if (d.managed.value_or(false)) return hold(k, "kernel-managed");
    if (!d.smp_affinity) return hold(k, "no smp_affinity");
    if (auto pin = policy_.pinned.find(d.irq); pin != policy_.pinned.end()) return pinned(k, pin->second);
    std::optional<std::string> stay = ban_reason(d, policy_);
    if (!stay && d.level == core::BalanceLevel::kNone) stay = "balance level none";
    if (stay) return stays(k, *stay);
    const CpuSet& lands = now_.now_of[k].cpus;
    const bool on_forbidden = d.smp_affinity->intersects(frame_.forbidden);
    const bool on_powersave = lands.intersects(frame_.powersave) || d.smp_affinity->is_subset_of(frame_.powersave);
    const std::uint64_t cycle = state_.cycle + 1;
    if (auto hist = state_.irqs.find(d.irq); hist != state_.irqs.end() && hist->second.ever_moved &&
                                             cycle < hist->second.last_moved_cycle + policy_.cooldown_cycles &&
                                             !on_forbidden && !on_powersave) {
      return hold(k, fmt::format("cooldown until cycle {}", hist->second.last_moved_cycle + policy_.cooldown_cycles));
    }
    movable(k, on_forbidden || on_powersave);
  }

 private:
  void hold(std::size_t k, std::string reason) {
    out_.held.push_back({snap_.irqs[k].desc->irq, std::move(reason)});
    for (const auto& [c, l] : now_.now_of[k].load) out_.base[c] += l;
  }
  // Written as asked, whatever else applies; its load lands where the
  // kernel will put it.
  void force(std::size_t k, const CpuSet& to, std::string reason) {
    const model::IrqSnapshot& irq = snap_.irqs[k];
    const CpuSet& lands = now_.now_of[k].cpus;
    const CpuSet after = frame_.single ? CpuSet{raw(out_.vectors_now.pick(to, effective_of(irq, lands)))} : to;
    out_.base.add(after, now_.load_of[k]);
    out_.forced.push_back({Move{irq.desc->irq, *irq.desc->smp_affinity, to, std::move(reason), 0}, lands, after,
                           now_.load_of[k]});
  }
  // Pinned (a rule, or the API's set_affinity): exactly that mask, as far
  // as its CPUs are online; the user's word overrides level, node and bans.
  void pinned(std::size_t k, const CpuSet& pin) {
    const core::IrqDesc& d = *snap_.irqs[k].desc;
    const CpuSet want = pin & frame_.online;
    if (want.empty()) return hold(k, fmt::format("pinned to {}, none of them online", pin.to_list()));
    if (*d.smp_affinity == want) return hold(k, fmt::format("pinned to {}", want.to_list()));
    force(k, want, fmt::format("pinned to {}", want.to_list()));
  }
  // Banned IRQs and level none stay, except off forbidden CPUs.
  void stays(std::size_t k, const std::string& why) {
    const core::IrqDesc& d = *snap_.irqs[k].desc;
    if (!d.smp_affinity->intersects(frame_.forbidden)) return hold(k, why);
    const CpuSet keep = *d.smp_affinity - frame_.forbidden;
    force(k, keep.empty() ? frame_.usable : keep,
          fmt::format("{}; its mask covers forbidden CPUs {}: removed them", why,
                      (*d.smp_affinity & frame_.forbidden).to_list()));
  }
  // The CPUs of its node that may take IRQs (all targets when it has no node
  // or none of its node's CPUs may), once per node.
  const CpuSet& allowed_for(int home, const topology::NumaNode* node) {
    auto it = allowed_by_node_.find(home);
    if (it == allowed_by_node_.end()) {
      CpuSet node_cpus = node != nullptr ? node->cpus & frame_.targets : frame_.targets;
      it = allowed_by_node_.emplace(home, node_cpus.empty() ? frame_.targets : std::move(node_cpus)).first;
    }
    return it->second;
  }
  void movable(std::size_t k, bool must_move) {
    const model::IrqSnapshot& irq = snap_.irqs[k];
    const core::IrqDesc& d = *irq.desc;
    const CpuSet& lands = now_.now_of[k].cpus;
    const NumaPolicy numa = [&] {
      auto it = policy_.numa_of.find(d.irq);
      return it == policy_.numa_of.end() ? policy_.numa : it->second;
    }();
    Item item;
    item.irq = &irq;
    item.load = now_.load_of[k];
    item.now = &now_.now_of[k];
    item.effective = effective_of(irq, lands);
    const topology::NumaNode* node = d.node >= 0 ? snap_.machine.node(d.node) : nullptr;
    if (node != nullptr) item.home = node->os_index;
    const CpuSet& allowed = allowed_for(item.home, node);
    const bool whole = allowed.count() == frame_.targets.count();  // allowed is a subset of targets
    // numa=strict: running outside the device's node is wrong whatever the load.
    const bool off_node = numa == NumaPolicy::kStrict && !whole && !lands.empty() &&
                          (lands.count() == 1 ? !allowed.contains(*lands.first()) : !lands.is_subset_of(allowed));
    item.mandatory = must_move || off_node;
    // numa=prefer may spill to other nodes; the home node wins ties and
    // anything short of saturation (see Placer::cost).
    const CpuSet& spill = numa == NumaPolicy::kPrefer ? frame_.targets : allowed;
    item.list = &candidate_list(pool_, snap_.machine, d.level, whole ? -1 : item.home, allowed, spill, frame_.top);
    if (item.list->indices.empty()) return hold(k, "no usable CPU at its level");
    if (d.smp_affinity->count() == 1) {
      const CpuId c = *d.smp_affinity->first();
      if (raw(c) < item.list->by_cpu.size() && item.list->by_cpu[raw(c)] >= 0) {
        item.current = static_cast<std::size_t>(item.list->by_cpu[raw(c)]);
      }
    } else {
      for (std::size_t i : item.list->indices) {
        if (!pool_.all[i].single && pool_.all[i].cpus == *d.smp_affinity) item.current = i;
      }
    }
    out_.items.push_back(std::move(item));
  }

  const model::Snapshot& snap_;
  const State& state_;
  const Policy& policy_;
  const Frame& frame_;
  const LoadsNow& now_;
  Pool& pool_;
  Eligible& out_;
  std::map<int, CpuSet> allowed_by_node_;  // home node (-1: none) -> CPUs its IRQs may use
};

}  // namespace

Eligible eligible_items(const model::Snapshot& snap, const State& state, const Policy& policy, const Frame& frame,
                        const LoadsNow& now, Pool& pool) {
  Eligible out(frame.top);
  out.base = now.background;
  for (std::size_t k = 0; k < snap.irqs.size(); ++k) {
    out.vectors_now.add(effective_of(snap.irqs[k], now.now_of[k].cpus), +1);
  }
  Sorter sorter(snap, state, policy, frame, now, pool, out);
  for (std::size_t k = 0; k < snap.irqs.size(); ++k) sorter.sort(k);
  return out;
}

}  // namespace irqbpfd::balance::detail
