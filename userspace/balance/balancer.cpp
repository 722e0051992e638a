// plan(): longest-processing-time placement of the movable IRQs over the
// CPUs each may use, improved by moves and swaps off the hottest CPU, then a
// path from the current placement to that target that never makes the
// hottest CPU hotter, gated by a minimum gain and capped per cycle.
//
// Loads are in ns of CPU time per second of window. An IRQ placed at core
// level lands on one CPU; at cache or package level its mask is the
// object's usable CPUs and its load is modelled as spread evenly over them.
#include "irqbpfd/balance/balancer.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>
#include <unordered_map>

namespace irqbpfd::balance {
namespace {

using core::CpuId;
using core::CpuSet;
using core::raw;

constexpr double kNsPerS = 1e9;

// Per-CPU loads indexed by CPU id.
class LoadMap {
 public:
  explicit LoadMap(std::size_t cpus) : load_(cpus, 0.0) {}
  double& operator[](CpuId c) { return load_[raw(c)]; }
  double operator[](CpuId c) const { return load_[raw(c)]; }
  void add(const CpuSet& set, double ns) {
    const double share = ns / static_cast<double>(std::max<std::size_t>(set.count(), 1));
    set.for_each([&](CpuId c) { load_[raw(c)] += share; });
  }
  [[nodiscard]] double max_over(const CpuSet& cpus) const {
    double m = 0;
    cpus.for_each([&](CpuId c) { m = std::max(m, load_[raw(c)]); });
    return m;
  }
  [[nodiscard]] double sumsq_over(const CpuSet& cpus) const {
    double s = 0;
    cpus.for_each([&](CpuId c) { s += load_[raw(c)] * load_[raw(c)]; });
    return s;
  }

 private:
  std::vector<double> load_;
};

struct Candidate {
  CpuSet cpus;        // the mask to write
  std::string label;  // "cpu3", "L3 #1", "package 0"
};

struct Item {
  const model::IrqSnapshot* irq = nullptr;
  double load = 0;             // ns per s
  CpuSet current_cpus;         // where its load lands now (per_cpu counts)
  std::optional<CpuId> effective;       // the one CPU the kernel delivers it to now (single-target machines)
  const std::vector<std::size_t>* candidates = nullptr;  // indices into the candidate pool
  const std::vector<std::int32_t>* by_cpu = nullptr;     // CPU id -> its single-CPU candidate, or -1
  std::optional<std::size_t> current;   // candidate it already is on, if any
  std::size_t target = 0;
  CpuSet target_cpus;          // where its load lands once the target mask is written
  bool mandatory = false;      // sits on a forbidden CPU: must move
};

std::string pct(double ns_per_s) { return fmt::format("{:.1f}%", 100.0 * ns_per_s / kNsPerS); }

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

// Where an IRQ's interrupts landed in the window (CPUs with any count), or
// its effective/smp affinity when it was idle.
CpuSet landing_cpus(const model::IrqSnapshot& irq) {
  CpuSet out;
  for (const auto& pc : irq.per_cpu) {
    if (pc.count > 0) out.insert(pc.cpu);
  }
  if (out.empty() && irq.desc.effective_affinity) out = *irq.desc.effective_affinity;
  if (out.empty() && irq.desc.smp_affinity) out = *irq.desc.smp_affinity;
  return out;
}

// An IRQ's load in ns per second of window: measured or estimated load, or
// 1 us per interrupt when the source has no time at all.
double load_of(const model::IrqSnapshot& irq, double window_s) {
  const double w = window_s > 0 ? window_s : 1.0;
  if (irq.load_ns) return static_cast<double>(*irq.load_ns) / w;
  return static_cast<double>(irq.count) * 1000.0 / w;
}

// Candidate targets for each level, within `usable`. Lists are cached per
// (level, allowed CPUs), so the IRQs of one device share one list (and its
// CPU -> single-CPU candidate index, for swaps); std::map keeps them put.
struct CandidateList {
  std::vector<std::size_t> indices;
  std::vector<std::int32_t> by_cpu;  // CPU id -> index of its single-CPU candidate, -1 none
};
struct Pool {
  std::vector<Candidate> all;
  std::map<std::pair<int, std::string>, CandidateList> lists;  // (level, allowed list) -> candidates
};

const CandidateList& candidates_for(Pool& pool, const topology::Machine& m, core::BalanceLevel level,
                                    const CpuSet& allowed, std::uint32_t top) {
  const std::pair<int, std::string> key{static_cast<int>(level), allowed.to_list()};
  if (auto it = pool.lists.find(key); it != pool.lists.end()) return it->second;
  CandidateList list;
  list.by_cpu.assign(top, -1);
  std::vector<std::size_t>& out = list.indices;
  const auto add = [&](const CpuSet& cpus, std::string label) {
    const CpuSet usable = cpus & allowed;
    if (usable.empty()) return;
    if (usable.count() == 1 && raw(*usable.first()) < top) {
      list.by_cpu[raw(*usable.first())] = static_cast<std::int32_t>(pool.all.size());
    }
    out.push_back(pool.all.size());
    pool.all.push_back({usable, std::move(label)});
  };
  for (const auto& node : m.nodes) {
    for (const auto& pkg : node.packages) {
      if (level == core::BalanceLevel::kPackage) {
        add(pkg.cpus, fmt::format("package {}", pkg.os_index));
        continue;
      }
      for (const auto& cache : pkg.caches) {
        if (level == core::BalanceLevel::kCache) {
          add(cache.cpus, fmt::format("cache #{}", cache.index));
          continue;
        }
        for (const auto& core : cache.cores) {
          core.cpus.for_each([&](CpuId c) { add(CpuSet{raw(c)}, fmt::format("cpu{}", raw(c))); });
        }
      }
    }
  }
  // CPUs the topology does not place still count, one by one.
  CpuSet placed;
  for (std::size_t i : out) placed |= pool.all[i].cpus;
  (allowed - placed).for_each([&](CpuId c) { add(CpuSet{raw(c)}, fmt::format("cpu{}", raw(c))); });
  return pool.lists.emplace(key, std::move(list)).first->second;
}

// x86 (and ARM GICv3) deliver an IRQ to one CPU of its mask, which
// effective_affinity names. The snapshot shows it when some IRQ's mask spans
// several CPUs while its effective affinity is one; then a wide mask's load
// does not spread, it lands where the kernel's vector allocator puts it.
bool single_target(const model::Snapshot& snap) {
  return std::any_of(snap.irqs.begin(), snap.irqs.end(), [](const model::IrqSnapshot& i) {
    return i.desc.smp_affinity && i.desc.effective_affinity && i.desc.smp_affinity->count() > 1 &&
           i.desc.effective_affinity->count() == 1;
  });
}

// The kernel's vectors in use per CPU, as far as the snapshot shows them:
// one per IRQ on its effective CPU.
class Vectors {
 public:
  explicit Vectors(std::size_t cpus) : n_(cpus, 0) {}
  void add(std::optional<CpuId> c, int d) {
    if (c && raw(*c) < n_.size()) n_[raw(*c)] = static_cast<std::uint32_t>(static_cast<int>(n_[raw(*c)]) + d);
  }
  // The x86 vector allocator's choice for a new mask (arch/x86/kernel/apic/
  // vector.c): the current CPU when it is in the mask ("no point in
  // moving"), else the mask's CPU with the fewest vectors, lowest id on ties.
  [[nodiscard]] CpuId pick(const CpuSet& mask, std::optional<CpuId> current) const {
    if (current && mask.contains(*current)) return *current;
    std::optional<CpuId> best;
    mask.for_each([&](CpuId c) {
      if (!best || count(c) < count(*best)) best = c;
    });
    return *best;
  }

 private:
  [[nodiscard]] std::uint32_t count(CpuId c) const { return raw(c) < n_.size() ? n_[raw(c)] : 0; }
  std::vector<std::uint32_t> n_;
};

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

namespace {

// Loads of online CPUs, hottest first, to find the maximum outside a set of
// CPUs without a full scan.
class Ranking {
 public:
  Ranking(const LoadMap& load, const CpuSet& cpus) {
    cpus.for_each([&](CpuId c) { order_.push_back({load[c], c}); });
    std::sort(order_.begin(), order_.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : raw(a.second) < raw(b.second);
    });
  }
  [[nodiscard]] double max_excluding(const CpuSet& skip) const {
    for (const auto& [l, c] : order_) {
      if (!skip.contains(c)) return l;
    }
    return 0;
  }
  [[nodiscard]] double max() const { return order_.empty() ? 0 : order_.front().first; }
  [[nodiscard]] CpuId hottest() const { return order_.front().second; }

 private:
  std::vector<std::pair<double, CpuId>> order_;
};

struct Objective {
  double max = 0;
  double sumsq = 0;
};

bool better(const Objective& a, const Objective& b, double eps) {
  if (a.max < b.max - eps) return true;
  if (a.max > b.max + eps) return false;
  return a.sumsq < b.sumsq - eps * eps;
}

// Loads after moving `load` from `from` to `to` (each spread evenly).
Objective objective_after(const LoadMap& load, const Ranking& rank, double sumsq, const CpuSet& from,
                          const CpuSet& to, double amount) {
  const CpuSet touched = from | to;
  Objective o;
  o.max = rank.max_excluding(touched);
  o.sumsq = sumsq;
  const double out_share = amount / static_cast<double>(std::max<std::size_t>(from.count(), 1));
  const double in_share = amount / static_cast<double>(std::max<std::size_t>(to.count(), 1));
  touched.for_each([&](CpuId c) {
    double v = load[c];
    if (from.contains(c)) v -= out_share;
    if (to.contains(c)) v += in_share;
    o.sumsq += v * v - load[c] * load[c];
    o.max = std::max(o.max, v);
  });
  return o;
}

}  // namespace

PlanResult plan(const model::Snapshot& snap, const State& state, const Policy& policy) {
  PlanResult result;
  result.next = state;
  result.next.cycle = state.cycle + 1;
  Plan& out = result.plan;
  const std::uint64_t cycle = result.next.cycle;
  const topology::Machine& machine = snap.machine;

  // --- CPUs: online, forbidden (isolated, nohz_full, banned), usable.
  CpuSet online, forbidden;
  std::uint32_t top = 1;
  for (const auto& c : snap.cpus) {
    top = std::max(top, raw(c.cpu) + 1);
    if (!c.online) continue;
    online.insert(c.cpu);
    if (c.isolated || c.nohz_full) forbidden.insert(c.cpu);
  }
  forbidden |= policy.banned_cpus & online;
  CpuSet usable = online - forbidden;

  // --- Loads now: background softirq work no device raised (measured only),
  // plus every IRQ where its interrupts landed.
  LoadMap before(top);
  for (const auto& c : snap.cpus) {
    if (c.online && c.softirq_unattributed_ns && snap.window_s > 0) {
      const auto& v = *c.softirq_unattributed_ns;
      before[c.cpu] += static_cast<double>(std::accumulate(v.begin(), v.end(), std::uint64_t{0})) / snap.window_s;
    }
  }
  LoadMap base = before;  // background + whatever does not move this cycle
  const auto add_landing = [](LoadMap& map, const model::IrqSnapshot& irq, double load) {
    double counted = 0;
    for (const auto& pc : irq.per_cpu) counted += static_cast<double>(pc.count);
    if (counted == 0) return;
    for (const auto& pc : irq.per_cpu) {
      if (pc.count > 0) map[pc.cpu] += load * static_cast<double>(pc.count) / counted;
    }
  };
  for (const auto& irq : snap.irqs) add_landing(before, irq, load_of(irq, snap.window_s));

  // --- Powersave: with few loaded CPUs, drain one so it can sleep; leave
  // powersave as soon as any CPU is over-loaded.
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
  result.next.powersave = powersave;
  out.powersave = powersave;
  const CpuSet targets = usable - powersave;
  if (targets.empty()) {
    out.summary = "no CPU may take IRQs (all offline, isolated, nohz_full or banned)";
    return result;
  }

  // --- Which IRQs move, and where each may go.
  const bool single = single_target(snap);
  Vectors vectors_now(top);
  const auto effective_of = [&](const model::IrqSnapshot& irq, const CpuSet& lands) -> std::optional<CpuId> {
    if (irq.desc.effective_affinity && irq.desc.effective_affinity->count() == 1) return irq.desc.effective_affinity->first();
    if (lands.count() == 1) return lands.first();
    return std::nullopt;
  };
  for (const auto& irq : snap.irqs) vectors_now.add(effective_of(irq, landing_cpus(irq)), +1);
  Pool pool;
  std::vector<std::tuple<CpuSet, CpuSet, double>> narrowed;  // (landing, new mask, load)
  std::vector<Item> items;
  for (const auto& irq : snap.irqs) {
    const auto& d = irq.desc;
    const double load = load_of(irq, snap.window_s);
    const CpuSet lands = landing_cpus(irq);
    std::optional<std::string> hold;
    if (d.managed.value_or(false)) {
      hold = "kernel-managed";
    } else if (!d.smp_affinity) {
      hold = "no smp_affinity";
    }
    if (hold) {
      out.held.push_back({d.irq, *hold});
      add_landing(base, irq, load);
      continue;
    }
    const bool on_forbidden = d.smp_affinity->intersects(forbidden);
    const bool on_powersave = lands.intersects(powersave) || d.smp_affinity->is_subset_of(powersave);
    // Banned IRQs and level none stay, except off forbidden CPUs.
    std::optional<std::string> stay = ban_reason(d, policy);
    if (!stay && d.level == core::BalanceLevel::kNone) stay = "balance level none";
    if (stay) {
      if (on_forbidden) {
        const CpuSet keep = *d.smp_affinity - forbidden;
        const CpuSet to = keep.empty() ? usable : keep;
        out.moves.push_back({d.irq, *d.smp_affinity, to,
                             fmt::format("{}; its mask covers forbidden CPUs {}: removed them", *stay,
                                         (*d.smp_affinity & forbidden).to_list()),
                             0});
        const CpuSet lands_after = single ? CpuSet{raw(vectors_now.pick(to, effective_of(irq, lands)))} : to;
        base.add(lands_after, load);
        narrowed.emplace_back(lands, lands_after, load);
      } else {
        out.held.push_back({d.irq, *stay});
        add_landing(base, irq, load);
      }
      continue;
    }
    const auto hist = state.irqs.find(d.irq);
    if (hist != state.irqs.end() && hist->second.ever_moved && cycle < hist->second.last_moved_cycle + policy.cooldown_cycles &&
        !on_forbidden && !on_powersave) {
      out.held.push_back({d.irq, fmt::format("cooldown until cycle {}", hist->second.last_moved_cycle + policy.cooldown_cycles)});
      add_landing(base, irq, load);
      continue;
    }
    Item item;
    item.irq = &irq;
    item.load = load;
    item.current_cpus = lands;
    item.effective = effective_of(irq, lands);
    CpuSet node_cpus = targets;
    if (const topology::NumaNode* node = d.node >= 0 ? machine.node(d.node) : nullptr) node_cpus = node->cpus & targets;
    const CpuSet allowed = node_cpus.empty() ? targets : node_cpus;
    // numa=strict: running outside the device's node is wrong whatever the load.
    const bool off_node = policy.numa == NumaPolicy::kStrict && allowed != targets && !lands.empty() &&
                          !lands.is_subset_of(allowed);
    item.mandatory = on_forbidden || on_powersave || off_node;
    // numa=prefer may spill to other nodes; the home node wins ties and
    // anything short of saturation (see the cost below).
    const CpuSet spill = policy.numa == NumaPolicy::kPrefer ? targets : allowed;
    const CandidateList& home_list = candidates_for(pool, machine, d.level, allowed, top);
    const CandidateList& list = spill == allowed ? home_list : candidates_for(pool, machine, d.level, spill, top);
    if (spill != allowed) {
      // Home candidates first, so ties stay home.
      std::vector<std::size_t> merged = home_list.indices;
      for (std::size_t i : list.indices) {
        if (std::find(merged.begin(), merged.end(), i) == merged.end()) merged.push_back(i);
      }
      const std::pair<int, std::string> key{static_cast<int>(d.level) + 100, allowed.to_list() + "|" + spill.to_list()};
      auto [it, fresh] = pool.lists.try_emplace(key);
      if (fresh) {
        it->second.indices = std::move(merged);
        it->second.by_cpu = list.by_cpu;
      }
      item.candidates = &it->second.indices;
      item.by_cpu = &it->second.by_cpu;
    } else {
      item.candidates = &list.indices;
      item.by_cpu = &list.by_cpu;
    }
    if (item.candidates->empty()) {
      out.held.push_back({d.irq, "no usable CPU at its level"});
      add_landing(base, irq, load);
      continue;
    }
    for (std::size_t i : *item.candidates) {
      if (pool.all[i].cpus == *d.smp_affinity) item.current = i;
    }
    items.push_back(std::move(item));
  }

  // Where an item's load lands when candidate `cand` is written: the whole
  // mask (spread evenly) unless the machine delivers to one CPU per mask.
  const auto landing = [&](const Item& item, std::size_t cand, const Vectors& v) -> CpuSet {
    const CpuSet& mask = pool.all[cand].cpus;
    if (!single || mask.count() <= 1) return mask;
    return CpuSet{raw(v.pick(mask, item.effective))};
  };

  // --- Target: longest processing time first onto the cheapest candidate.
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (items[a].load != items[b].load) return items[a].load > items[b].load;
    return raw(items[a].irq->desc.irq) < raw(items[b].irq->desc.irq);
  });
  LoadMap target = base;
  Vectors vectors_target = vectors_now;
  const double eps = 1e-6 * kNsPerS;
  std::vector<CpuSet> siblings(top);
  for (const auto& node : machine.nodes) {
    for (const auto& pkg : node.packages) {
      for (const auto& cache : pkg.caches) {
        for (const auto& core : cache.cores) {
          core.cpus.for_each([&](CpuId c) {
            if (raw(c) < top) siblings[raw(c)] = core.cpus - CpuSet{raw(c)};
          });
        }
      }
    }
  }
  std::vector<CpuSet> home_of;  // per item
  home_of.reserve(items.size());
  for (const Item& item : items) {
    const int node = item.irq->desc.node;
    const topology::NumaNode* n = node >= 0 ? machine.node(node) : nullptr;
    home_of.push_back(n == nullptr ? targets : n->cpus);
  }
  // The cost of putting `item` where it lands (`lands`, for candidate mask
  // `mask`): the hottest CPU it touches, with an SMT term (a single CPU
  // counts part of its siblings' load, so hot IRQs take distinct cores
  // first), and numa=prefer's price for leaving home.
  const auto cost = [&](const LoadMap& load, std::size_t item_index, const CpuSet& mask, const CpuSet& lands) {
    const Item& item = items[item_index];
    const double share = item.load / static_cast<double>(lands.count());
    double worst = 0;
    lands.for_each([&](CpuId cpu) {
      double v = load[cpu] + share;
      if (lands.count() == 1 && raw(cpu) < top) {
        siblings[raw(cpu)].for_each([&](CpuId sib) { v += policy.smt_sibling_weight * load[sib]; });
      }
      worst = std::max(worst, v);
    });
    if (!mask.is_subset_of(home_of[item_index])) worst += policy.saturation * kNsPerS;
    return worst;
  };
  const auto place_best = [&](std::size_t idx, LoadMap& load, Vectors& vec, bool prefer_current) {
    Item& item = items[idx];
    std::optional<std::size_t> best;
    CpuSet best_lands;
    double best_cost = 0;
    for (std::size_t cand : *item.candidates) {
      const CpuSet lands = landing(item, cand, vec);
      const double c = cost(load, idx, pool.all[cand].cpus, lands);
      const bool tie = best && std::abs(c - best_cost) <= eps;
      if (!best || c < best_cost - eps || (prefer_current && tie && item.current == cand)) {
        best = cand;
        best_cost = c;
        best_lands = lands;
      }
    }
    item.target = *best;
    item.target_cpus = best_lands;
    load.add(best_lands, item.load);
    if (!(best_lands == item.current_cpus) && best_lands.count() == 1) {
      vec.add(item.effective, -1);
      vec.add(best_lands.first(), +1);
    }
  };
  for (std::size_t idx : order) place_best(idx, target, vectors_target, true);

  // --- Improve: moves, then swaps, off the hottest target CPU while that
  // lowers it (bounded rounds). Swaps exchange a single-CPU IRQ on the
  // hottest CPU with a lighter one elsewhere when no single move helps.
  std::vector<std::vector<std::size_t>> on_cpu(top);  // single-CPU items per target CPU
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].target_cpus.count() == 1) on_cpu[raw(*items[i].target_cpus.first())].push_back(i);
  }
  const auto relocate = [&](std::size_t i, std::size_t cand, const CpuSet& lands) {
    Item& item = items[i];
    if (item.target_cpus.count() == 1) {
      auto& v = on_cpu[raw(*item.target_cpus.first())];
      v.erase(std::find(v.begin(), v.end(), i));
    }
    target.add(item.target_cpus, -item.load);
    if (item.target_cpus.count() == 1) vectors_target.add(item.target_cpus.first(), -1);
    if (lands.count() == 1) vectors_target.add(lands.first(), +1);
    item.target = cand;
    item.target_cpus = lands;
    target.add(lands, item.load);
    if (lands.count() == 1) on_cpu[raw(*lands.first())].push_back(i);
  };
  for (int round = 0; round < 1024; ++round) {
    const Ranking rank(target, targets);
    const CpuId hot = rank.hottest();
    double best_max = rank.max() - eps;
    // Single moves.
    std::optional<std::tuple<std::size_t, std::size_t, CpuSet>> best_move;  // item, candidate, lands
    for (std::size_t i = 0; i < items.size(); ++i) {
      const Item& item = items[i];
      const CpuSet& at = item.target_cpus;
      if (!at.contains(hot)) continue;
      for (std::size_t cand : *item.candidates) {
        if (cand == item.target) continue;
        if (!pool.all[cand].cpus.is_subset_of(home_of[i]) && pool.all[item.target].cpus.is_subset_of(home_of[i])) continue;
        const CpuSet to = landing(item, cand, vectors_target);
        const double share_in = item.load / static_cast<double>(to.count());
        const double share_out = item.load / static_cast<double>(at.count());
        const CpuSet touched = at | to;
        double m = rank.max_excluding(touched);
        touched.for_each([&](CpuId c) {
          double v = target[c];
          if (at.contains(c)) v -= share_out;
          if (to.contains(c)) v += share_in;
          m = std::max(m, v);
        });
        if (m < best_max) {
          best_max = m;
          best_move = {i, cand, to};
        }
      }
    }
    if (best_move) {
      auto& [i, cand, to] = *best_move;
      relocate(i, cand, to);
      continue;
    }
    // Swaps: a (on hot) <-> b (on cpu x), both single-CPU, each allowed on
    // the other's CPU, b lighter than a.
    std::optional<std::tuple<std::size_t, std::size_t, std::size_t, std::size_t>> best_swap;  // a, cand a, b, cand b
    for (std::size_t a : on_cpu[raw(hot)]) {
      const Item& ia = items[a];
      for (std::size_t ca : *ia.candidates) {
        const CpuSet& xs = pool.all[ca].cpus;
        if (xs.count() != 1 || ca == ia.target) continue;
        const CpuId x = *xs.first();
        if (!xs.is_subset_of(home_of[a]) && pool.all[ia.target].cpus.is_subset_of(home_of[a])) continue;
        for (std::size_t b : on_cpu[raw(x)]) {
          const Item& ib = items[b];
          if (ib.load >= ia.load - eps || raw(hot) >= ib.by_cpu->size()) continue;
          const std::int32_t cb = (*ib.by_cpu)[raw(hot)];
          if (cb < 0) continue;
          if (!pool.all[static_cast<std::size_t>(cb)].cpus.is_subset_of(home_of[b]) &&
              pool.all[ib.target].cpus.is_subset_of(home_of[b])) {
            continue;
          }
          const double hot_after = target[hot] - ia.load + ib.load;
          const double x_after = target[x] - ib.load + ia.load;
          const double m = std::max({rank.max_excluding(CpuSet{raw(hot), raw(x)}), hot_after, x_after});
          if (m < best_max) {
            best_max = m;
            best_swap = {a, ca, b, static_cast<std::size_t>(cb)};
          }
        }
      }
    }
    if (!best_swap) break;
    auto& [a, ca, b, cb] = *best_swap;
    const CpuSet to_a = pool.all[ca].cpus, to_b = pool.all[cb].cpus;
    relocate(a, ca, to_a);
    relocate(b, cb, to_b);
  }

  // --- Is the target worth it? Hottest CPU and spread, now vs target.
  const auto objective = [&](const LoadMap& load) {
    Objective o;
    online.for_each([&](CpuId c) {
      o.max = std::max(o.max, load[c]);
      o.sumsq += load[c] * load[c];
    });
    return o;
  };
  const Objective now = objective(before);
  const Objective goal = objective(target);
  const double threshold = std::max(policy.min_gain_pct / 100.0 * now.max, static_cast<double>(policy.min_gain_ns));
  const bool worth = (now.max - goal.max) > threshold ||
                     (goal.max <= now.max + eps && (std::sqrt(now.sumsq) - std::sqrt(goal.sumsq)) > threshold);
  const bool any_mandatory = std::any_of(items.begin(), items.end(), [](const Item& i) { return i.mandatory; });

  // --- Path: from where loads are now towards the target, one move at a
  // time, never raising the hottest CPU (mandatory moves excepted), capped.
  LoadMap path = before;
  Vectors vectors_path = vectors_now;
  for (const auto& [from, to, load] : narrowed) {  // forced narrowings already decided
    path.add(from, -load);
    path.add(to, load);
  }
  // Without the full target, mandatory moves go where the loads are now
  // lowest (the target assumed the other moves too), heaviest first.
  if (!worth) {
    LoadMap scratch = path;
    Vectors vec = vectors_now;
    for (std::size_t i : order) {
      if (!items[i].mandatory) continue;
      scratch.add(items[i].current_cpus, -items[i].load);
      place_best(i, scratch, vec, false);
    }
  }
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    const bool differs = !item.current || *item.current != item.target || !(item.current_cpus.is_subset_of(pool.all[item.target].cpus));
    if (item.mandatory || (worth && differs)) pending.push_back(i);
  }
  std::size_t written = 0;
  while (!pending.empty() && written < policy.max_moves_per_cycle) {
    const Ranking rank(path, online);
    double sumsq = 0;
    online.for_each([&](CpuId c) { sumsq += path[c] * path[c]; });
    const Objective here{rank.max(), sumsq};
    // Mandatory moves first; then relocations that earn their write (lower
    // the hottest CPU, or cut the spread by more than the gain floor), best
    // first; then pins (the IRQ already runs inside its target: no load moves).
    const double floor_sq = static_cast<double>(policy.min_gain_ns) * static_cast<double>(policy.min_gain_ns);
    std::optional<std::size_t> pick;
    Objective pick_obj;
    CpuSet pick_lands;
    int pick_rank = 3;  // 0 mandatory, 1 relocation, 2 pin
    for (std::size_t k = 0; k < pending.size(); ++k) {
      const Item& item = items[pending[k]];
      const CpuSet& to = pool.all[item.target].cpus;
      // Written now, the mask lands where the kernel puts it given the
      // writes before it.
      const CpuSet lands = landing(item, item.target, vectors_path);
      const Objective o = objective_after(path, rank, sumsq, item.current_cpus, lands, item.load);
      int rank_k = item.mandatory ? 0 : (item.current_cpus.is_subset_of(to) ? 2 : 1);
      if (rank_k == 1 && !(o.max < here.max - eps) && !(here.sumsq - o.sumsq > floor_sq)) continue;  // not worth a write
      if (rank_k == 1 && o.max > here.max + eps) continue;  // would make the hottest CPU hotter
      if (!pick || rank_k < pick_rank || (rank_k == pick_rank && better(o, pick_obj, eps))) {
        pick = k;
        pick_obj = o;
        pick_rank = rank_k;
        pick_lands = lands;
      }
    }
    if (!pick) break;
    Item& item = items[pending[*pick]];
    const Candidate& to = pool.all[item.target];
    const auto& d = item.irq->desc;
    std::string reason;
    if (item.mandatory) {
      if (d.smp_affinity->intersects(forbidden)) {
        reason = fmt::format("on forbidden CPU(s) {} (isolated, nohz_full or banned)", (*d.smp_affinity & forbidden).to_list());
      } else if (item.current_cpus.intersects(powersave)) {
        reason = fmt::format("powersave: draining cpu {}", (item.current_cpus & powersave).to_list());
      } else {
        reason = fmt::format("runs on cpu {} outside its device's NUMA node {}", item.current_cpus.to_list(), d.node);
      }
      reason += fmt::format("; to {}", to.label);
    } else {
      const double from_load = path.max_over(item.current_cpus);
      const double to_load = path.max_over(pick_lands);
      const double share = item.load / static_cast<double>(pick_lands.count());
      if (item.current_cpus.is_subset_of(to.cpus)) {
        reason = fmt::format("pinned to {} where it already runs (load {}): the mask {} let it wander", to.label,
                             pct(item.load), d.smp_affinity->to_list());
      } else {
        const std::string where = pick_lands == to.cpus ? to.label : fmt::format("{} (lands on cpu {})", to.label, pick_lands.to_list());
        reason = fmt::format("load {} from cpu {} ({} -> {}) to {} ({} -> {})", pct(item.load),
                             item.current_cpus.to_list(), pct(from_load),
                             pct(from_load - item.load / static_cast<double>(std::max<std::size_t>(item.current_cpus.count(), 1))),
                             where, pct(to_load), pct(to_load + share));
        reason += pick_obj.max < here.max - eps ? fmt::format("; hottest CPU {} -> {}", pct(here.max), pct(pick_obj.max))
                                                : std::string("; evens the spread");
      }
    }
    out.moves.push_back({d.irq, *d.smp_affinity, to.cpus, std::move(reason),
                         static_cast<std::int64_t>(here.max - pick_obj.max)});
    path.add(item.current_cpus, -item.load);
    path.add(pick_lands, item.load);
    if (pick_lands.count() == 1 && !(pick_lands == item.current_cpus)) {
      vectors_path.add(item.effective, -1);
      vectors_path.add(pick_lands.first(), +1);
    }
    result.next.irqs[d.irq] = IrqHistory{cycle, true};
    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(*pick));
    ++written;
  }

  // --- Report loads before and after, in ns per second.
  online.for_each([&](CpuId c) {
    out.load_before[c] = static_cast<std::uint64_t>(std::max(0.0, before[c]));
    out.load_after[c] = static_cast<std::uint64_t>(std::max(0.0, path[c]));
  });
  out.max_before = static_cast<std::uint64_t>(now.max);
  out.max_after = static_cast<std::uint64_t>(objective(path).max);
  if (out.moves.empty()) {
    out.summary = fmt::format("no moves: hottest CPU at {}{}", pct(now.max),
                              worth || any_mandatory ? "" : fmt::format(" (best placement found: {}, gain below {})",
                                                                        pct(goal.max), pct(threshold)));
  } else {
    out.summary = fmt::format("{} move{}: hottest CPU {} -> {}{}", out.moves.size(), out.moves.size() == 1 ? "" : "s",
                              pct(now.max), pct(objective(path).max),
                              pending.empty() ? "" : fmt::format(" ({} more next cycle)", pending.size()));
  }
  return result;
}

}  // namespace irqbpfd::balance
