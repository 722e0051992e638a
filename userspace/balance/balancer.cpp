// plan(): longest-processing-time placement of the movable IRQs over the
// CPUs each may use, improved by moves and swaps off the hottest CPU, then a
// path from the current placement to that target that never makes the
// hottest CPU hotter, gated by a minimum gain and capped per cycle.
//
// Loads are in ns of CPU time per second of window. An IRQ placed at core
// level lands on one CPU. At cache or package level its mask is the object's
// usable CPUs; where the machine delivers each IRQ to one CPU of its mask
// (x86, GICv3: effective_affinity says so) its load lands on the CPU the
// kernel's vector allocator picks, otherwise it is modelled as spread evenly.
#include "irqbpfd/balance/balancer.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <set>
#include <tuple>

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
  void add(CpuId c, double ns) { load_[raw(c)] += ns; }
  void add(const CpuSet& set, double ns) {
    const double share = ns / static_cast<double>(std::max<std::size_t>(set.count(), 1));
    set.for_each([&](CpuId c) { load_[raw(c)] += share; });
  }
  [[nodiscard]] std::size_t size() const { return load_.size(); }

 private:
  std::vector<double> load_;
};

// A tournament tree over slots 0..n-1: each inner node holds the better of
// its children, so the best slot is at the root and an update costs
// log2(n) steps, with no allocation after construction. `Hotter` picks the
// larger value, `Cooler` the smaller; equal values: the lower slot.
struct Hotter {
  static constexpr double kNone = -1e300;
  static bool better(double a, double b) { return a > b; }
};
struct Cooler {
  static constexpr double kNone = 1e300;
  static bool better(double a, double b) { return a < b; }
};
template <class Order>
class Tournament {
 public:
  explicit Tournament(std::size_t n) : size_(1) {
    while (size_ < std::max<std::size_t>(n, 1)) size_ *= 2;
    value_.assign(size_, Order::kNone);
    win_.assign(2 * size_, 0);
    for (std::size_t i = 0; i < size_; ++i) win_[size_ + i] = static_cast<std::uint32_t>(i);
    for (std::size_t i = size_ - 1; i >= 1; --i) win_[i] = pick(win_[2 * i], win_[2 * i + 1]);
  }
  void set(std::size_t slot, double v) {
    value_[slot] = v;
    for (std::size_t i = (size_ + slot) / 2; i >= 1; i /= 2) win_[i] = pick(win_[2 * i], win_[2 * i + 1]);
  }
  [[nodiscard]] double value(std::size_t slot) const { return value_[slot]; }
  [[nodiscard]] std::size_t best() const { return win_[1]; }
  [[nodiscard]] double best_value() const { return value_[win_[1]]; }
  // The best value among all slots but `a` and `b` (walks at most two
  // paths: the root's winner is a or b only along them).
  [[nodiscard]] double best_excluding(std::size_t a, std::size_t b) const {
    return value_[best_without(1, a, b)];
  }

 private:
  [[nodiscard]] std::uint32_t pick(std::uint32_t x, std::uint32_t y) const {
    if (Order::better(value_[y], value_[x])) return y;
    return x;
  }
  // Winner of node i's subtree with slots a and b left out (kNone if none).
  [[nodiscard]] std::size_t best_without(std::size_t i, std::size_t a, std::size_t b) const {
    const std::size_t w = win_[i];
    if (w != a && w != b) return w;
    if (i >= size_) return sentinel();
    const std::size_t l = best_without(2 * i, a, b), r = best_without(2 * i + 1, a, b);
    if (l == sentinel()) return r;
    if (r == sentinel()) return l;
    return Order::better(value_[r], value_[l]) ? r : l;
  }
  [[nodiscard]] std::size_t sentinel() const { return sentinel_slot(); }
  [[nodiscard]] std::size_t sentinel_slot() const {
    // A slot holding kNone: the last one is never a real CPU when n < size,
    // otherwise value_ gets one spare slot.
    return value_.size() - 1;
  }
  std::size_t size_;
  std::vector<double> value_;
  std::vector<std::uint32_t> win_;
};

// Per-CPU loads with the member CPUs in a tournament tree, so the hottest
// CPU, and the hottest outside one or two CPUs, cost no scan; the sum of
// squares over the members is kept as loads change.
class LoadIndex {
 public:
  LoadIndex(const LoadMap& load, const CpuSet& members)
      : load_(load), member_(load.size(), 0), tree_(load.size() + 1) {
    members.for_each([&](CpuId c) {
      member_[raw(c)] = 1;
      tree_.set(raw(c), load_[c]);
      sumsq_ += load_[c] * load_[c];
    });
  }
  double operator[](CpuId c) const { return load_[c]; }
  [[nodiscard]] const LoadMap& loads() const { return load_; }
  void add(CpuId c, double ns) {
    if (member_[raw(c)] != 0) {
      sumsq_ += (load_[c] + ns) * (load_[c] + ns) - load_[c] * load_[c];
      tree_.set(raw(c), load_[c] + ns);
    }
    load_[c] += ns;
  }
  void add(const CpuSet& set, double ns) {
    const double share = ns / static_cast<double>(std::max<std::size_t>(set.count(), 1));
    set.for_each([&](CpuId c) { add(c, share); });
  }
  [[nodiscard]] double max() const { return std::max(0.0, tree_.best_value()); }
  [[nodiscard]] CpuId hottest() const { return core::cpu_id(static_cast<std::uint32_t>(tree_.best())); }
  [[nodiscard]] double max_excluding(CpuId a, CpuId b) const {
    return std::max(0.0, tree_.best_excluding(raw(a), raw(b)));
  }
  [[nodiscard]] double max_excluding(const CpuSet& skip) const {
    double m = 0;
    for (std::size_t c = 0; c < member_.size(); ++c) {
      if (member_[c] != 0 && !skip.contains(core::cpu_id(static_cast<std::uint32_t>(c)))) m = std::max(m, load_[core::cpu_id(static_cast<std::uint32_t>(c))]);
    }
    return m;
  }
  [[nodiscard]] double sumsq() const { return sumsq_; }

 private:
  LoadMap load_;
  std::vector<char> member_;
  Tournament<Hotter> tree_;
  double sumsq_ = 0;
};

struct Candidate {
  CpuSet cpus;                 // the mask to write
  std::string label;           // "cpu3", "cache #1", "package 0"
  std::optional<CpuId> single; // its one CPU, when it has one
  int node = -1;               // the NUMA node holding all of it, -1 when it spans nodes
};

// Where a mask's load lands: on one CPU, or spread over a candidate's mask.
struct Landing {
  std::optional<CpuId> cpu;
  std::size_t spread = 0;  // candidate index, when !cpu
};

// Where an IRQ's interrupts landed in the window and how its load split
// over those CPUs (by interrupt count); an idle IRQ lands where its
// effective (else smp) affinity says, its (zero) load spread there.
struct Now {
  CpuSet cpus;
  std::vector<std::pair<CpuId, double>> load;  // ns per s per CPU
};
struct Item {
  const model::IrqSnapshot* irq = nullptr;
  double load = 0;                                     // ns per s
  const Now* now = nullptr;                            // where its interrupts land now, and its load there
  std::optional<CpuId> effective;                      // the one CPU the kernel delivers it to now
  int home = -1;                                       // its device's NUMA node, -1: anywhere
  const std::vector<std::size_t>* candidates = nullptr;  // indices into the candidate pool
  const std::vector<std::int32_t>* by_cpu = nullptr;     // CPU id -> its single-CPU candidate, or -1
  std::optional<std::size_t> current;                  // candidate it already is on, if any
  std::size_t target = 0;
  Landing lands;                                       // where it lands once the target is written
  bool mandatory = false;                              // sits on a forbidden CPU or off its node: must move
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
  if (irq.desc.effective_affinity) out.cpus = *irq.desc.effective_affinity;
  if (out.cpus.empty() && irq.desc.smp_affinity) out.cpus = *irq.desc.smp_affinity;
  const double share = load / static_cast<double>(std::max<std::size_t>(out.cpus.count(), 1));
  out.cpus.for_each([&](CpuId c) { out.load.emplace_back(c, share); });
  return out;
}

// An IRQ's load in ns per second of window: measured or estimated load, or
// 1 us per interrupt when the source has no time at all.
double load_of(const model::IrqSnapshot& irq, double window_s) {
  const double w = window_s > 0 ? window_s : 1.0;
  if (irq.load_ns) return static_cast<double>(*irq.load_ns) / w;
  return static_cast<double>(irq.count) * 1000.0 / w;
}

// Candidate targets for each level, within `allowed`. Lists are cached per
// (level, allowed CPUs), so the IRQs of one device share one list (and its
// CPU -> single-CPU candidate index, for swaps); std::map keeps them put.
struct CandidateList {
  std::vector<std::size_t> indices;
  std::vector<std::int32_t> by_cpu;  // CPU id -> index of its single-CPU candidate, -1 none
};
// A list's key: (level, home node or -1, 0 for the node's CPUs / 1 for the
// merged home-then-anywhere list of numa=prefer); within one plan the
// allowed CPUs follow from it.
using ListKey = std::tuple<int, int, int>;
struct Pool {
  std::vector<Candidate> all;
  std::map<ListKey, CandidateList> lists;
};

const CandidateList& candidates_for(Pool& pool, const topology::Machine& m, core::BalanceLevel level,
                                    const CpuSet& allowed, std::uint32_t top, const ListKey& key) {
  if (auto it = pool.lists.find(key); it != pool.lists.end()) return it->second;
  CandidateList list;
  list.by_cpu.assign(top, -1);
  std::vector<std::size_t>& out = list.indices;
  const auto add = [&](const CpuSet& cpus, std::string label) {
    Candidate c;
    c.cpus = cpus & allowed;
    if (c.cpus.empty()) return;
    c.label = std::move(label);
    if (c.cpus.count() == 1) {
      c.single = c.cpus.first();
      if (raw(*c.single) < top) list.by_cpu[raw(*c.single)] = static_cast<std::int32_t>(pool.all.size());
    }
    for (const auto& node : m.nodes) {
      if (c.cpus.is_subset_of(node.cpus)) c.node = node.os_index;
    }
    out.push_back(pool.all.size());
    pool.all.push_back(std::move(c));
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
  void move(std::optional<CpuId> from, std::optional<CpuId> to) {
    if (from == to) return;
    add(from, -1);
    add(to, +1);
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

// For candidate lists made only of single CPUs: the CPU with the lowest
// placement key, L[c] + w * (siblings' load), without a scan. The key is the
// same in every list; each list keeps its CPUs (in list order) in a
// tournament tree by key.
class CoolIndex {
 public:
  CoolIndex(const LoadMap& load, const std::vector<std::vector<CpuId>>& siblings, double w)
      : load_(load), siblings_(siblings), w_(w), key_(load.size(), 0), lists_of_(load.size()) {
    for (std::size_t c = 0; c < load.size(); ++c) key_[c] = compute(core::cpu_id(static_cast<std::uint32_t>(c)));
  }
  // Registers a list of CPUs; returns its id.
  std::size_t add_list(const std::vector<CpuId>& cpus) {
    const std::size_t id = lists_.size();
    lists_.push_back({cpus, Tournament<Cooler>(cpus.size() + 1)});
    for (std::size_t i = 0; i < cpus.size(); ++i) {
      lists_.back().tree.set(i, key_[raw(cpus[i])]);
      lists_of_[raw(cpus[i])].push_back({id, i});
    }
    return id;
  }
  // The coolest CPU of a list and its key (the earliest in the list on
  // equal keys).
  [[nodiscard]] std::pair<double, CpuId> best(std::size_t list) const {
    const List& l = lists_[list];
    return {l.tree.best_value(), l.cpus[l.tree.best()]};
  }
  [[nodiscard]] double key(CpuId c) const { return key_[raw(c)]; }
  // c's load changed: its key and its siblings' keys move.
  void changed(CpuId c) {
    refresh(c);
    for (CpuId s : siblings_[raw(c)]) refresh(s);
  }

 private:
  struct List {
    std::vector<CpuId> cpus;
    Tournament<Cooler> tree;
  };
  [[nodiscard]] double compute(CpuId c) const {
    double k = load_[c];
    for (CpuId s : siblings_[raw(c)]) k += w_ * load_[s];
    return k;
  }
  void refresh(CpuId c) {
    const double k = compute(c);
    if (k == key_[raw(c)]) return;
    key_[raw(c)] = k;
    for (const auto& [list, slot] : lists_of_[raw(c)]) lists_[list].tree.set(slot, k);
  }
  const LoadMap& load_;
  const std::vector<std::vector<CpuId>>& siblings_;
  double w_;
  std::vector<double> key_;
  std::vector<std::vector<std::pair<std::size_t, std::size_t>>> lists_of_;  // per CPU: (list, slot)
  std::vector<List> lists_;
};

struct Objective {
  double max = 0;
  double sumsq = 0;
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

PlanResult plan(const model::Snapshot& snap, const State& state, const Policy& policy) {
  PlanResult result;
  result.next = state;
  result.next.unfinished.clear();
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
  std::vector<Now> now_of;  // per snapshot IRQ
  now_of.reserve(snap.irqs.size());
  for (const auto& irq : snap.irqs) now_of.push_back(where_now(irq, load_of(irq, snap.window_s)));
  const auto add_landing = [&](LoadMap& map, std::size_t k) {
    for (const auto& [c, l] : now_of[k].load) map[c] += l;
  };
  for (std::size_t k = 0; k < snap.irqs.size(); ++k) add_landing(before, k);

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
  for (std::size_t k = 0; k < snap.irqs.size(); ++k) vectors_now.add(effective_of(snap.irqs[k], now_of[k].cpus), +1);
  Pool pool;
  std::map<int, CpuSet> allowed_by_node;  // home node (-1: none) -> CPUs its IRQs may use
  std::vector<std::tuple<CpuSet, CpuSet, double>> narrowed;  // (landing, where it lands after, load)
  std::vector<Item> items;
  for (std::size_t k = 0; k < snap.irqs.size(); ++k) {
    const model::IrqSnapshot& irq = snap.irqs[k];
    const auto& d = irq.desc;
    const double load = load_of(irq, snap.window_s);
    const CpuSet& lands = now_of[k].cpus;
    std::optional<std::string> hold;
    if (d.managed.value_or(false)) {
      hold = "kernel-managed";
    } else if (!d.smp_affinity) {
      hold = "no smp_affinity";
    }
    if (hold) {
      out.held.push_back({d.irq, *hold});
      add_landing(base, k);
      continue;
    }
    // Pinned (a rule, or the API's set_affinity): exactly that mask, as far
    // as its CPUs are online; the user's word overrides level, node and bans.
    if (auto pin = policy.pinned.find(d.irq); pin != policy.pinned.end()) {
      const CpuSet want = pin->second & online;
      if (want.empty()) {
        out.held.push_back({d.irq, fmt::format("pinned to {}, none of them online", pin->second.to_list())});
        add_landing(base, k);
      } else if (*d.smp_affinity == want) {
        out.held.push_back({d.irq, fmt::format("pinned to {}", want.to_list())});
        add_landing(base, k);
      } else {
        out.moves.push_back({d.irq, *d.smp_affinity, want, fmt::format("pinned to {}", want.to_list()), 0});
        const CpuSet lands_after = single ? CpuSet{raw(vectors_now.pick(want, effective_of(irq, lands)))} : want;
        base.add(lands_after, load);
        narrowed.emplace_back(lands, lands_after, load);
      }
      continue;
    }
    const NumaPolicy numa = [&] {
      auto it = policy.numa_of.find(d.irq);
      return it == policy.numa_of.end() ? policy.numa : it->second;
    }();
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
        add_landing(base, k);
      }
      continue;
    }
    const auto hist = state.irqs.find(d.irq);
    if (hist != state.irqs.end() && hist->second.ever_moved && cycle < hist->second.last_moved_cycle + policy.cooldown_cycles &&
        !on_forbidden && !on_powersave) {
      out.held.push_back({d.irq, fmt::format("cooldown until cycle {}", hist->second.last_moved_cycle + policy.cooldown_cycles)});
      add_landing(base, k);
      continue;
    }
    Item item;
    item.irq = &irq;
    item.load = load;
    item.now = &now_of[k];
    item.effective = effective_of(irq, lands);
    // The CPUs of its node that may take IRQs (all targets when it has no
    // node or none of its node's CPUs may), once per node.
    const topology::NumaNode* node = d.node >= 0 ? machine.node(d.node) : nullptr;
    if (node != nullptr) item.home = node->os_index;
    auto allowed_it = allowed_by_node.find(item.home);
    if (allowed_it == allowed_by_node.end()) {
      CpuSet node_cpus = node != nullptr ? node->cpus & targets : targets;
      allowed_it = allowed_by_node.emplace(item.home, node_cpus.empty() ? targets : std::move(node_cpus)).first;
    }
    const CpuSet& allowed = allowed_it->second;
    const bool whole = allowed.count() == targets.count();  // allowed is a subset of targets
    // numa=strict: running outside the device's node is wrong whatever the load.
    const bool off_node = numa == NumaPolicy::kStrict && !whole && !lands.empty() &&
                          (lands.count() == 1 ? !allowed.contains(*lands.first()) : !lands.is_subset_of(allowed));
    item.mandatory = on_forbidden || on_powersave || off_node;
    // numa=prefer may spill to other nodes; the home node wins ties and
    // anything short of saturation (see the cost below).
    const CpuSet& spill = numa == NumaPolicy::kPrefer ? targets : allowed;
    const int level = static_cast<int>(d.level);
    const int home_key = whole ? -1 : item.home;
    const CandidateList& home_list = candidates_for(pool, machine, d.level, allowed, top, {level, home_key, 0});
    if (spill.count() != allowed.count()) {
      const CandidateList& list = candidates_for(pool, machine, d.level, spill, top, {level, -1, 0});
      auto [it, fresh] = pool.lists.try_emplace(ListKey{level, home_key, 1});
      if (fresh) {
        // Home candidates first, so ties stay home.
        it->second.indices = home_list.indices;
        for (std::size_t i : list.indices) {
          if (std::find(it->second.indices.begin(), it->second.indices.end(), i) == it->second.indices.end()) {
            it->second.indices.push_back(i);
          }
        }
        it->second.by_cpu = list.by_cpu;
      }
      item.candidates = &it->second.indices;
      item.by_cpu = &it->second.by_cpu;
    } else {
      item.candidates = &home_list.indices;
      item.by_cpu = &home_list.by_cpu;
    }
    if (item.candidates->empty()) {
      out.held.push_back({d.irq, "no usable CPU at its level"});
      add_landing(base, k);
      continue;
    }
    if (d.smp_affinity->count() == 1) {
      const CpuId c = *d.smp_affinity->first();
      if (raw(c) < item.by_cpu->size() && (*item.by_cpu)[raw(c)] >= 0) {
        item.current = static_cast<std::size_t>((*item.by_cpu)[raw(c)]);
      }
    } else {
      for (std::size_t i : *item.candidates) {
        if (!pool.all[i].single && pool.all[i].cpus == *d.smp_affinity) item.current = i;
      }
    }
    items.push_back(std::move(item));
  }

  // Where an item's load lands when candidate `cand` is written: its one CPU,
  // the CPU the kernel picks on a single-target machine, or spread evenly.
  const auto landing = [&](const Item& item, std::size_t cand, const Vectors& v) -> Landing {
    const Candidate& c = pool.all[cand];
    if (c.single) return {c.single, cand};
    if (single) return {v.pick(c.cpus, item.effective), cand};
    return {std::nullopt, cand};
  };
  const auto in_home = [&](const Item& item, std::size_t cand) {
    return item.home < 0 || pool.all[cand].node == item.home;
  };
  const auto add_load = [&](auto& load, const Landing& l, double ns) {
    if (l.cpu) {
      load.add(*l.cpu, ns);
    } else {
      load.add(pool.all[l.spread].cpus, ns);
    }
  };
  const auto lands_set = [&](const Landing& l) { return l.cpu ? CpuSet{raw(*l.cpu)} : pool.all[l.spread].cpus; };

  // --- Target: longest processing time first onto the cheapest candidate.
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (items[a].load != items[b].load) return items[a].load > items[b].load;
    return raw(items[a].irq->desc.irq) < raw(items[b].irq->desc.irq);
  });
  const double eps = 1e-6 * kNsPerS;
  std::vector<std::vector<CpuId>> siblings(top);
  for (const auto& node : machine.nodes) {
    for (const auto& pkg : node.packages) {
      for (const auto& cache : pkg.caches) {
        for (const auto& core : cache.cores) {
          core.cpus.for_each([&](CpuId c) {
            if (raw(c) >= top) return;
            core.cpus.for_each([&](CpuId s) {
              if (s != c && raw(s) < top) siblings[raw(c)].push_back(s);
            });
          });
        }
      }
    }
  }
  // The cost of putting `item` where `l` lands for candidate `cand`: the
  // hottest CPU it touches, with an SMT term (a single CPU counts part of its
  // siblings' load, so hot IRQs take distinct cores first), and numa=prefer's
  // price for leaving home.
  const auto cost = [&](const LoadMap& load, const Item& item, std::size_t cand, const Landing& l) {
    double worst = 0;
    if (l.cpu) {
      worst = load[*l.cpu] + item.load;
      for (CpuId s : siblings[raw(*l.cpu)]) worst += policy.smt_sibling_weight * load[s];
    } else {
      const CpuSet& cpus = pool.all[l.spread].cpus;
      const double share = item.load / static_cast<double>(cpus.count());
      cpus.for_each([&](CpuId c) { worst = std::max(worst, load[c] + share); });
    }
    if (!in_home(item, cand)) worst += policy.saturation * kNsPerS;
    return worst;
  };
  // Where each item goes in one candidate placement, and the loads it makes.
  struct Assignment {
    std::vector<std::size_t> target;  // per item: candidate index
    std::vector<Landing> lands;       // per item
    LoadIndex load;
    Vectors vectors;
    std::vector<std::vector<std::size_t>> on_cpu;  // items landing on one CPU, per CPU
    std::vector<std::size_t> spread_items;         // items spread over a mask
  };
  // Items whose candidates are single CPUs of one plain list can use a
  // CoolIndex: (list pointer -> CPUs) for the lists that qualify.
  std::map<const std::vector<std::size_t>*, std::vector<CpuId>> single_lists;
  for (const Item& item : items) {
    if (single_lists.count(item.candidates) != 0) continue;
    std::vector<CpuId> cpus;
    bool all_single = true;
    for (std::size_t cand : *item.candidates) {
      if (!pool.all[cand].single) {
        all_single = false;
        break;
      }
      cpus.push_back(*pool.all[cand].single);
    }
    // numa=prefer lists mix nodes and price leaving home: scanned instead.
    bool one_node = true;
    for (std::size_t cand : *item.candidates) one_node = one_node && in_home(item, cand);
    if (all_single && one_node) single_lists.emplace(item.candidates, std::move(cpus));
  }
  struct Cool {
    CoolIndex index;
    std::map<const std::vector<std::size_t>*, std::size_t> ids;
  };
  const auto make_cool = [&](const LoadMap& load) {
    auto c = std::make_unique<Cool>(Cool{CoolIndex(load, siblings, policy.smt_sibling_weight), {}});
    for (const auto& [list, cpus] : single_lists) c->ids[list] = c->index.add_list(cpus);
    return c;
  };
  const auto place_best = [&](std::size_t idx, LoadMap& load, Vectors& vec, bool prefer_current,
                              std::vector<std::size_t>& target_of, std::vector<Landing>& lands_of,
                              Cool* cool = nullptr) {
    const Item& item = items[idx];
    if (cool != nullptr) {
      if (auto it = cool->ids.find(item.candidates); it != cool->ids.end()) {
        auto [key, cpu] = cool->index.best(it->second);
        if (prefer_current && item.current && pool.all[*item.current].single &&
            cool->index.key(*pool.all[*item.current].single) <= key + eps) {
          cpu = *pool.all[*item.current].single;
        }
        const auto cand = static_cast<std::size_t>((*item.by_cpu)[raw(cpu)]);
        target_of[idx] = cand;
        lands_of[idx] = Landing{cpu, cand};
        load.add(cpu, item.load);
        cool->index.changed(cpu);
        vec.move(item.effective, cpu);
        return;
      }
    }
    std::optional<std::size_t> best;
    Landing best_lands;
    double best_cost = 0;
    for (std::size_t cand : *item.candidates) {
      const Landing l = landing(item, cand, vec);
      const double c = cost(load, item, cand, l);
      const bool tie = best && std::abs(c - best_cost) <= eps;
      if (!best || c < best_cost - eps || (prefer_current && tie && item.current == cand)) {
        best = cand;
        best_cost = c;
        best_lands = l;
      }
    }
    target_of[idx] = *best;
    lands_of[idx] = best_lands;
    add_load(load, best_lands, item.load);
    if (cool != nullptr) {
      if (best_lands.cpu) {
        cool->index.changed(*best_lands.cpu);
      } else {
        pool.all[best_lands.spread].cpus.for_each([&](CpuId c) { cool->index.changed(c); });
      }
    }
    if (best_lands.cpu) vec.move(item.effective, best_lands.cpu);
  };
  const auto assemble = [&](LoadMap loads, Vectors vec, std::vector<std::size_t> target_of, std::vector<Landing> lands_of) {
    Assignment a{std::move(target_of), std::move(lands_of), LoadIndex(loads, targets), std::move(vec),
                 std::vector<std::vector<std::size_t>>(top), {}};
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (a.lands[i].cpu) {
        a.on_cpu[raw(*a.lands[i].cpu)].push_back(i);
      } else {
        a.spread_items.push_back(i);
      }
    }
    return a;
  };
  const auto relocate = [&](Assignment& a, std::size_t i, std::size_t cand, const Landing& to) {
    const Item& item = items[i];
    if (a.lands[i].cpu) {
      auto& v = a.on_cpu[raw(*a.lands[i].cpu)];
      v.erase(std::find(v.begin(), v.end(), i));
    } else {
      a.spread_items.erase(std::find(a.spread_items.begin(), a.spread_items.end(), i));
    }
    add_load(a.load, a.lands[i], -item.load);
    a.vectors.move(a.lands[i].cpu, to.cpu);
    a.target[i] = cand;
    a.lands[i] = to;
    add_load(a.load, to, item.load);
    if (to.cpu) {
      a.on_cpu[raw(*to.cpu)].push_back(i);
    } else {
      a.spread_items.push_back(i);
    }
  };
  // The hottest CPU after moving `amount` from `from` to `to`.
  const auto max_after_move = [&](const LoadIndex& load, const Landing& from, const Landing& to, double amount) {
    if (from.cpu && to.cpu) {
      return std::max({load.max_excluding(*from.cpu, *to.cpu), load[*from.cpu] - amount, load[*to.cpu] + amount});
    }
    const CpuSet sa = lands_set(from), sb = lands_set(to);
    const double out_share = amount / static_cast<double>(sa.count()), in_share = amount / static_cast<double>(sb.count());
    const CpuSet touched = sa | sb;
    double m = load.max_excluding(touched);
    touched.for_each([&](CpuId c) {
      double v = load[c];
      if (sa.contains(c)) v -= out_share;
      if (sb.contains(c)) v += in_share;
      m = std::max(m, v);
    });
    return m;
  };
  // Moves, then swaps, off the hottest CPU while that lowers it (bounded
  // rounds). Swaps exchange a single-CPU IRQ on the hottest CPU with a
  // lighter one elsewhere when no single move helps.
  const auto improve = [&](Assignment& a) {
    // For single-CPU lists the best move goes to the list's coolest CPU by
    // placement key (load plus the SMT term): one candidate, not a scan.
    CoolIndex cool(a.load.loads(), siblings, policy.smt_sibling_weight);
    std::map<const std::vector<std::size_t>*, std::size_t> ids;
    for (const auto& [list, cpus] : single_lists) ids[list] = cool.add_list(cpus);
    const auto move_item = [&](std::size_t i, std::size_t cand, const Landing& to) {
      const Landing from = a.lands[i];
      relocate(a, i, cand, to);
      for (const Landing& l : {from, to}) {
        if (l.cpu) {
          cool.changed(*l.cpu);
        } else {
          pool.all[l.spread].cpus.for_each([&](CpuId c) { cool.changed(c); });
        }
      }
    };
    for (int round = 0; round < 4096; ++round) {
      const CpuId hot = a.load.hottest();
      const double limit = a.load.max() - eps;
      double best_max = limit;
      double best_key = 0;  // among equal maxima: the destination with the least SMT sibling load
      std::optional<std::tuple<std::size_t, std::size_t, Landing>> best_move;  // item, candidate, landing
      const auto sibling_key = [&](const Landing& l) {
        if (!l.cpu) return 0.0;
        double k = 0;
        for (CpuId s : siblings[raw(*l.cpu)]) k += a.load[s];
        return k;
      };
      const auto try_moves = [&](std::size_t i) {
        const Item& item = items[i];
        if (auto it = ids.find(item.candidates); it != ids.end() && a.lands[i].cpu) {
          const CpuId to_cpu = cool.best(it->second).second;
          if (to_cpu == *a.lands[i].cpu) return;
          const auto cand = static_cast<std::size_t>((*item.by_cpu)[raw(to_cpu)]);
          const Landing to{to_cpu, cand};
          const double m = max_after_move(a.load, a.lands[i], to, item.load);
          if (m < limit && (!best_move || m < best_max - eps)) {
            best_max = m;
            best_move = {i, cand, to};
          }
          return;
        }
        const bool home_now = in_home(item, a.target[i]);
        for (std::size_t cand : *item.candidates) {
          if (cand == a.target[i] || (home_now && !in_home(item, cand))) continue;
          const Landing to = landing(item, cand, a.vectors);
          const double m = max_after_move(a.load, a.lands[i], to, item.load);
          if (m >= limit || m > best_max + eps) continue;  // must lower the hottest CPU
          const double k = sibling_key(to);
          if (!best_move || m < best_max - eps || k < best_key - eps) {
            best_max = std::min(best_max, m);
            best_key = k;
            best_move = {i, cand, to};
          }
        }
      };
      for (std::size_t i : a.on_cpu[raw(hot)]) try_moves(i);
      for (std::size_t i : a.spread_items) {
        if (pool.all[a.lands[i].spread].cpus.contains(hot)) try_moves(i);
      }
      if (best_move) {
        const auto [i, cand, to] = *best_move;
        move_item(i, cand, to);
        continue;
      }
      // Swaps: x (on hot) <-> y (on cpu c), both on one CPU, each allowed
      // on the other's CPU, y lighter than x.
      std::optional<std::tuple<std::size_t, std::size_t, std::size_t, std::size_t>> best_swap;  // x, cand x, y, cand y
      for (std::size_t x : a.on_cpu[raw(hot)]) {
        const Item& ix = items[x];
        const bool home_x = in_home(ix, a.target[x]);
        for (std::size_t cx : *ix.candidates) {
          const Candidate& to_x = pool.all[cx];
          if (!to_x.single || cx == a.target[x] || (home_x && !in_home(ix, cx))) continue;
          const CpuId c = *to_x.single;
          for (std::size_t y : a.on_cpu[raw(c)]) {
            const Item& iy = items[y];
            if (iy.load >= ix.load - eps || raw(hot) >= iy.by_cpu->size()) continue;
            const std::int32_t cy = (*iy.by_cpu)[raw(hot)];
            if (cy < 0 || (in_home(iy, a.target[y]) && !in_home(iy, static_cast<std::size_t>(cy)))) continue;
            const double m = std::max({a.load.max_excluding(hot, c), a.load[hot] - ix.load + iy.load,
                                       a.load[c] - iy.load + ix.load});
            if (m < best_max) {
              best_max = m;
              best_swap = {x, cx, y, static_cast<std::size_t>(cy)};
            }
          }
        }
      }
      if (!best_swap) break;
      const auto [x, cx, y, cy] = *best_swap;
      move_item(x, cx, Landing{pool.all[cx].single, cx});
      move_item(y, cy, Landing{pool.all[cy].single, cy});
    }
  };

  // Spread: move single-CPU IRQs from a CPU to the coolest CPU they may use
  // while that closes the gap by more than their own load plus the gain
  // floor (each such move lowers the sum of squares and never the hottest
  // CPU's standing), hottest CPUs first, a few passes.
  const auto even_out = [&](Assignment& a) {
    CoolIndex cool(a.load.loads(), siblings, 0.0);
    std::map<const std::vector<std::size_t>*, std::size_t> ids;
    for (const auto& [list, cpus] : single_lists) ids[list] = cool.add_list(cpus);
    const double margin = static_cast<double>(policy.min_gain_ns) / 5;
    std::vector<CpuId> cpus = targets.to_vector();
    for (int pass = 0; pass < 6; ++pass) {
      bool moved = false;
      std::stable_sort(cpus.begin(), cpus.end(), [&](CpuId x, CpuId y) { return a.load[x] > a.load[y]; });
      for (CpuId c : cpus) {
        const std::vector<std::size_t> here = a.on_cpu[raw(c)];
        for (std::size_t i : here) {
          const auto it = ids.find(items[i].candidates);
          if (it == ids.end()) continue;
          const CpuId b = cool.best(it->second).second;
          if (b == c || a.load[c] - a.load[b] - items[i].load <= margin) continue;
          const auto cand = static_cast<std::size_t>((*items[i].by_cpu)[raw(b)]);
          relocate(a, i, cand, Landing{b, cand});
          cool.changed(c);
          cool.changed(b);
          moved = true;
        }
      }
      // Swaps between the k-th hottest and the k-th coolest CPU: x (on the
      // hot one) for a lighter y (on the cool one) when the gap exceeds
      // their difference plus the margin; the best pair per CPU pair.
      for (const auto& [list, list_cpus] : single_lists) {
      std::vector<CpuId> group = list_cpus;
      std::stable_sort(group.begin(), group.end(), [&](CpuId x, CpuId y) { return a.load[x] > a.load[y]; });
      for (std::size_t k = 0; k < group.size() / 2; ++k) {
        const CpuId hot = group[k], cool_cpu = group[group.size() - 1 - k];
        const double gap = a.load[hot] - a.load[cool_cpu];
        if (gap <= margin) break;
        std::optional<std::pair<std::size_t, std::size_t>> best;
        double best_gain = 0;
        for (std::size_t x : a.on_cpu[raw(hot)]) {
          if (raw(cool_cpu) >= items[x].by_cpu->size() || (*items[x].by_cpu)[raw(cool_cpu)] < 0) continue;
          if (ids.find(items[x].candidates) == ids.end()) continue;
          for (std::size_t y : a.on_cpu[raw(cool_cpu)]) {
            const double d = items[x].load - items[y].load;
            if (d <= 0 || gap - d <= margin) continue;
            if (raw(hot) >= items[y].by_cpu->size() || (*items[y].by_cpu)[raw(hot)] < 0) continue;
            if (ids.find(items[y].candidates) == ids.end()) continue;
            const double gain = d * (gap - d);  // half the drop of the sum of squares
            if (gain > best_gain) {
              best_gain = gain;
              best = {{x, y}};
            }
          }
        }
        if (!best) continue;
        const auto [x, y] = *best;
        const auto cx = static_cast<std::size_t>((*items[x].by_cpu)[raw(cool_cpu)]);
        const auto cy = static_cast<std::size_t>((*items[y].by_cpu)[raw(hot)]);
        relocate(a, x, cx, Landing{cool_cpu, cx});
        relocate(a, y, cy, Landing{hot, cy});
        cool.changed(hot);
        cool.changed(cool_cpu);
        moved = true;
      }
      }
      if (!moved) break;
    }
  };

  // Placement 1: longest processing time first onto the cheapest candidate,
  // then improved.
  Assignment fresh = [&] {
    LoadMap lpt = base;
    Vectors vec = vectors_now;
    std::vector<std::size_t> target_of(items.size(), 0);
    std::vector<Landing> lands_of(items.size());
    auto cool = make_cool(lpt);
    for (std::size_t idx : order) place_best(idx, lpt, vec, true, target_of, lands_of, cool.get());
    return assemble(std::move(lpt), std::move(vec), std::move(target_of), std::move(lands_of));
  }();
  improve(fresh);
  even_out(fresh);
  // Placement 2: every IRQ where it runs (when that is a place its level
  // allows), the rest placed longest first, then improved. It needs far
  // fewer writes; it is taken when it is about as good as placement 1.
  // `unfinished`: masks a capped plan of the last cycle still had to write;
  // an IRQ with one that is still a candidate is placed there instead.
  const auto build_kept = [&](const std::map<core::IrqNumber, CpuSet>* unfinished) {
    LoadMap loads = base;
    Vectors vec = vectors_now;
    std::vector<std::size_t> target_of(items.size(), 0);
    std::vector<Landing> lands_of(items.size());
    std::vector<std::size_t> rest;
    for (std::size_t idx : order) {
      const Item& item = items[idx];
      std::optional<std::size_t> stay;
      bool moves = false;
      if (unfinished != nullptr && !item.mandatory) {
        if (auto it = unfinished->find(item.irq->desc.irq); it != unfinished->end()) {
          for (std::size_t cand : *item.candidates) {
            if (pool.all[cand].cpus == it->second) stay = cand;
          }
          moves = stay.has_value();
        }
      }
      if (stay) {
        // carried over from the last plan
      } else if (!item.mandatory && item.effective) {
        const CpuId here = *item.effective;
        if (raw(here) < item.by_cpu->size() && (*item.by_cpu)[raw(here)] >= 0) {
          stay = static_cast<std::size_t>((*item.by_cpu)[raw(here)]);
        } else if (item.current && single) {
          stay = item.current;
        } else if (single) {
          for (std::size_t cand : *item.candidates) {
            if (pool.all[cand].cpus.contains(here) && in_home(item, cand)) {
              stay = cand;
              break;
            }
          }
        }
      } else if (!item.mandatory && item.current && !single) {
        stay = item.current;
      }
      if (!stay) {
        rest.push_back(idx);
        continue;
      }
      target_of[idx] = *stay;
      lands_of[idx] = landing(item, *stay, vec);
      add_load(loads, lands_of[idx], item.load);
      if (moves && lands_of[idx].cpu) vec.move(item.effective, lands_of[idx].cpu);
    }
    auto cool = make_cool(loads);
    for (std::size_t idx : rest) place_best(idx, loads, vec, true, target_of, lands_of, cool.get());
    Assignment a = assemble(std::move(loads), std::move(vec), std::move(target_of), std::move(lands_of));
    improve(a);
    even_out(a);
    return a;
  };
  Assignment kept = build_kept(nullptr);
  std::optional<Assignment> carried;
  if (!state.unfinished.empty()) carried = build_kept(&state.unfinished);
  // Population std of the loads over the CPUs that may take IRQs.
  const auto std_over = [&](const LoadMap& l) {
    double sum = 0, sq = 0;
    targets.for_each([&](CpuId c) {
      sum += l[c];
      sq += l[c] * l[c];
    });
    const auto n = static_cast<double>(targets.count());
    return std::sqrt(std::max(0.0, sq / n - (sum / n) * (sum / n)));
  };
  const auto std_of = [&](const LoadIndex& l) { return std_over(l.loads()); };
  // Kept wins when its hottest CPU is within 1% (or 0.5% of a CPU) of the
  // fresh one's and its spread within 3% of it: then it reaches the same
  // balance with fewer writes.
  const double tol = std::max(0.005 * kNsPerS, 0.01 * fresh.load.max());
  const auto as_good = [&](const Assignment& a) {
    return a.load.max() <= fresh.load.max() + tol && std_of(a.load) <= std_of(fresh.load) * 1.03 + 1e-4 * kNsPerS;
  };
  // A plan the cap cut short is finished rather than re-decided, when it
  // still holds up; else the fewest writes that are as good; else fresh.
  const bool carry = carried && as_good(*carried);
  const bool keep = !carry && as_good(kept);
  Assignment& chosen = carry ? *carried : (keep ? kept : fresh);
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i].target = chosen.target[i];
    items[i].lands = chosen.lands[i];
  }
  const LoadIndex& target = chosen.load;

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
  const Objective goal = objective(target.loads());
  // How much loads moved since the last cycle, load-weighted.
  double moved_sum = 0, weight = 0;
  {
    auto prev = state.loads.begin();
    result.next.loads.clear();
    result.next.loads.reserve(snap.irqs.size());
    for (const auto& irq : snap.irqs) {
      const double l = load_of(irq, snap.window_s);
      result.next.loads.emplace_back(irq.desc.irq, l);
      while (prev != state.loads.end() && prev->first < irq.desc.irq) ++prev;
      if (prev == state.loads.end() || prev->first != irq.desc.irq) continue;
      const double hi = std::max(l, prev->second);
      if (hi <= 0) continue;
      moved_sum += std::abs(l - prev->second);
      weight += hi;
    }
  }
  if (weight > 0) {
    const double observed = moved_sum / weight;
    result.next.noise = state.noise < 0 ? observed : 0.5 * state.noise + 0.5 * observed;
  }
  const double gain_share = result.next.noise < 0 ? policy.min_gain_pct / 100.0
                                                  : std::min(policy.min_gain_pct / 100.0, 3.0 * result.next.noise);
  const double threshold = std::max(gain_share * now.max, static_cast<double>(policy.min_gain_ns));
  // Worth it: the hottest CPU drops by more than the threshold, or, the
  // hottest CPU no worse, the spread (std over the CPUs that may take IRQs)
  // drops by more than half of it (a CPU back online gets work).
  const double spread_threshold = std::max(gain_share / 2.0 * now.max, static_cast<double>(policy.min_gain_ns));
  const bool worth = (now.max - goal.max) > threshold ||
                     (goal.max <= now.max + eps && std_over(before) - std_over(target.loads()) > spread_threshold);
  const bool any_mandatory = std::any_of(items.begin(), items.end(), [](const Item& i) { return i.mandatory; });

  // --- Path: from where loads are now towards the target, one move at a
  // time, never raising the hottest CPU (mandatory moves excepted), capped.
  LoadMap path_start = before;
  for (const auto& [from, to, load] : narrowed) {  // forced narrowings already decided
    path_start.add(from, -load);
    path_start.add(to, load);
  }
  // Without the full target, mandatory moves go where the loads are now
  // lowest (the target assumed the other moves too), heaviest first.
  if (!worth) {
    LoadMap scratch = path_start;
    Vectors vec = vectors_now;
    std::vector<std::size_t> target_of(items.size(), 0);
    std::vector<Landing> lands_of(items.size());
    for (std::size_t i : order) {
      if (!items[i].mandatory) continue;
      for (const auto& [c, l] : items[i].now->load) scratch[c] -= l;
      place_best(i, scratch, vec, false, target_of, lands_of);
      items[i].target = target_of[i];
      items[i].lands = lands_of[i];
    }
  }
  // What to write, in the order it is considered: mandatory moves (heaviest
  // first), then relocations from the hottest CPUs (heaviest IRQ first),
  // then pins (the IRQ already runs inside its target: no load moves).
  const auto kind_of = [&](const Item& item) {
    return item.mandatory ? 0 : (item.now->cpus.is_subset_of(pool.all[item.target].cpus) ? 2 : 1);
  };
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    const bool differs = !item.current || *item.current != item.target || !(item.now->cpus.is_subset_of(pool.all[item.target].cpus));
    if (item.mandatory || (worth && differs)) pending.push_back(i);
  }
  std::vector<int> kind(items.size(), 0);
  std::vector<double> source_load(items.size(), 0);
  for (std::size_t i : pending) {
    kind[i] = kind_of(items[i]);
    for (const auto& [c, l] : items[i].now->load) source_load[i] = std::max(source_load[i], before[c]);
  }
  std::stable_sort(pending.begin(), pending.end(), [&](std::size_t a, std::size_t b) {
    if (kind[a] != kind[b]) return kind[a] < kind[b];
    if (kind[a] == 1 && source_load[a] != source_load[b]) return source_load[a] > source_load[b];
    if (items[a].load != items[b].load) return items[a].load > items[b].load;
    return raw(items[a].irq->desc.irq) < raw(items[b].irq->desc.irq);
  });

  LoadIndex path(path_start, online);
  Vectors vectors_path = vectors_now;
  const double start_max = path.max();
  std::vector<char> done(items.size(), 0);
  std::size_t written = 0, left = pending.size();
  // Passes over what is left until a pass writes nothing: a relocation may
  // have to wait until the IRQ that leaves its target CPU has moved.
  for (bool progress = true; progress && left > 0 && written < policy.max_moves_per_cycle;) {
    progress = false;
    for (std::size_t i : pending) {
      if (done[i] != 0 || written >= policy.max_moves_per_cycle) continue;
      Item& item = items[i];
      const Objective here{path.max(), path.sumsq()};
      // Written now, the mask lands where the kernel puts it given the
      // writes before it.
      const Landing lands = landing(item, item.target, vectors_path);
      Objective o;
      if (item.now->load.size() == 1 && lands.cpu && online.contains(item.now->load[0].first)) {
        const CpuId from = item.now->load[0].first, to_cpu = *lands.cpu;
        const double l = item.now->load[0].second;
        if (from == to_cpu) {
          o = {here.max, here.sumsq};
          const double v = path[from] - l + item.load;
          o.max = std::max(path.max_excluding(from, from), v);
          o.sumsq += v * v - path[from] * path[from];
        } else {
          const double vf = path[from] - l, vt = path[to_cpu] + item.load;
          o.max = std::max({path.max_excluding(from, to_cpu), vf, vt});
          o.sumsq = here.sumsq + vf * vf - path[from] * path[from] + vt * vt - path[to_cpu] * path[to_cpu];
        }
      } else {
        const CpuSet to_set = lands_set(lands);
        CpuSet touched = to_set;
        for (const auto& [c, l] : item.now->load) touched.insert(c);
        const double in_share = item.load / static_cast<double>(to_set.count());
        o.max = path.max_excluding(touched);
        o.sumsq = here.sumsq;
        touched.for_each([&](CpuId c) {
          double v = path[c];
          for (const auto& [nc, l] : item.now->load) {
            if (nc == c) v -= l;
          }
          if (to_set.contains(c)) v += in_share;
          if (!online.contains(c)) return;
          o.sumsq += v * v - path[c] * path[c];
          o.max = std::max(o.max, v);
        });
      }
      // A relocation may not take the hottest CPU above where it stood
      // before this plan (the plan as a whole was judged worth it; a step
      // may briefly raise a cooler CPU while the IRQ leaving it waits its
      // turn in this pass). Partial plans (capped, refused writes) are thus
      // never worse than no plan at the hottest CPU.
      if (kind[i] == 1 && o.max > start_max + eps) continue;
      const Candidate& to = pool.all[item.target];
      const auto& d = item.irq->desc;
      std::string reason;
      if (item.mandatory) {
        if (d.smp_affinity->intersects(forbidden)) {
          reason = fmt::format("on forbidden CPU(s) {} (isolated, nohz_full or banned)", (*d.smp_affinity & forbidden).to_list());
        } else if (item.now->cpus.intersects(powersave)) {
          reason = fmt::format("powersave: draining cpu {}", (item.now->cpus & powersave).to_list());
        } else {
          reason = fmt::format("runs on cpu {} outside its device's NUMA node {}", item.now->cpus.to_list(), d.node);
        }
        reason += fmt::format("; to {}", to.label);
      } else if (kind[i] == 2) {
        reason = fmt::format("pinned to {} where it already runs (load {}): the mask {} let it wander", to.label,
                             pct(item.load), d.smp_affinity->to_list());
      } else {
        // One format call with the numbers (this runs for every move of a
        // first plan on a big machine): percent of a CPU, one decimal.
        const CpuSet to_set = lands_set(lands);
        double from_load = 0;
        for (const auto& [c, l] : item.now->load) from_load = std::max(from_load, path[c]);
        double to_load = 0;
        to_set.for_each([&](CpuId c) { to_load = std::max(to_load, path[c]); });
        const double share = item.load / static_cast<double>(to_set.count());
        const double left = item.load / static_cast<double>(std::max<std::size_t>(item.now->load.size(), 1));
        constexpr double k = 100.0 / kNsPerS;
        const std::string from_cpus = item.now->cpus.to_list();
        if (lands.cpu && to_set == to.cpus) {
          reason = o.max < here.max - eps
                       ? fmt::format("load {:.1f}% from cpu {} ({:.1f}% -> {:.1f}%) to {} ({:.1f}% -> {:.1f}%); "
                                     "hottest CPU {:.1f}% -> {:.1f}%",
                                     k * item.load, from_cpus, k * from_load, k * (from_load - left), to.label,
                                     k * to_load, k * (to_load + share), k * here.max, k * o.max)
                       : fmt::format("load {:.1f}% from cpu {} ({:.1f}% -> {:.1f}%) to {} ({:.1f}% -> {:.1f}%); evens the spread",
                                     k * item.load, from_cpus, k * from_load, k * (from_load - left), to.label,
                                     k * to_load, k * (to_load + share));
        } else {
          const std::string where =
              to_set == to.cpus ? to.label : fmt::format("{} (lands on cpu {})", to.label, to_set.to_list());
          reason = fmt::format("load {:.1f}% from cpu {} ({:.1f}% -> {:.1f}%) to {} ({:.1f}% -> {:.1f}%){}", k * item.load,
                               from_cpus, k * from_load, k * (from_load - left), where, k * to_load, k * (to_load + share),
                               o.max < here.max - eps ? fmt::format("; hottest CPU {:.1f}% -> {:.1f}%", k * here.max, k * o.max)
                                                      : std::string("; evens the spread"));
        }
      }
      out.moves.push_back({d.irq, *d.smp_affinity, to.cpus, std::move(reason),
                           static_cast<std::int64_t>(here.max - o.max)});
      for (const auto& [c, l] : item.now->load) path.add(c, -l);
      add_load(path, lands, item.load);
      if (lands.cpu) vectors_path.move(item.effective, lands.cpu);
      // A pin moves no load: it starts no cooldown.
      if (kind[i] != 2) result.next.irqs[d.irq] = IrqHistory{cycle, true};
      done[i] = 1;
      --left;
      ++written;
      progress = true;
    }
  }

  // What the cap left for the next cycle.
  if (written >= policy.max_moves_per_cycle) {
    for (std::size_t i : pending) {
      if (done[i] == 0 && kind[i] != 0) result.next.unfinished[items[i].irq->desc.irq] = pool.all[items[i].target].cpus;
    }
  }

  // --- Report loads before and after, in ns per second.
  online.for_each([&](CpuId c) {
    out.load_before[c] = static_cast<std::uint64_t>(std::max(0.0, before[c]));
    out.load_after[c] = static_cast<std::uint64_t>(std::max(0.0, path[c]));
  });
  const Objective after = objective(path.loads());
  out.max_before = static_cast<std::uint64_t>(now.max);
  out.max_after = static_cast<std::uint64_t>(after.max);
  if (out.moves.empty()) {
    out.summary = fmt::format("no moves: hottest CPU at {}{}", pct(now.max),
                              worth || any_mandatory ? "" : fmt::format(" (best placement found: {}, gain below {})",
                                                                        pct(goal.max), pct(threshold)));
  } else {
    out.summary = fmt::format("{} move{}: hottest CPU {} -> {}{}", out.moves.size(), out.moves.size() == 1 ? "" : "s",
                              pct(now.max), pct(after.max), left == 0 ? "" : fmt::format(" ({} more next cycle)", left));
  }
  return result;
}

}  // namespace irqbpfd::balance
