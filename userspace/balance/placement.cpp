// Step 5 of plan(): where each IRQ should be. Two candidate placements:
// longest processing time first from scratch, and every IRQ kept where it
// runs with only the rest placed; each improved by moves and swaps off the
// hottest CPU, then evened out. The one with fewer writes wins when it is
// about as good.
//
// An IRQ placed at core level lands on one CPU. At cache or package level
// its mask is the object's usable CPUs; where the machine delivers each IRQ
// to one CPU of its mask (x86, GICv3: effective_affinity says so) its load
// lands on the CPU the kernel's vector allocator picks, otherwise it is
// modelled as spread evenly.
#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "steps.hpp"

namespace irqbpfd::balance::detail {
namespace {
constexpr double eps = 1e-6 * kNsPerS;
}  // namespace

struct Placer::Cool {
  CoolIndex index;
  std::map<const CandidateList*, std::size_t> ids;
};

Placer::Placer(const std::vector<Item>& items, const Pool& pool, const Policy& policy, const Frame& frame,
               const topology::Machine& machine)
    : items_(items), pool_(pool), policy_(policy), frame_(frame), siblings_(frame.top) {
  for (const auto& node : machine.nodes) {
    for (const auto& pkg : node.packages) {
      for (const auto& cache : pkg.caches) {
        for (const auto& core : cache.cores) {
          core.cpus.for_each([&](CpuId c) {
            if (raw(c) >= frame.top) return;
            core.cpus.for_each([&](CpuId s) {
              if (s != c && raw(s) < frame.top) siblings_[raw(c)].push_back(s);
            });
          });
        }
      }
    }
  }
  // Items whose candidates are single CPUs of one node can use a CoolIndex:
  // (list -> CPUs) for the lists that qualify. numa=prefer lists mix nodes
  // and price leaving home: scanned instead.
  std::set<const CandidateList*> seen;
  for (const Item& item : items_) {
    if (!seen.insert(item.list).second) continue;
    std::vector<CpuId> cpus;
    bool all_single = true, one_node = true;
    for (std::size_t cand : item.list->indices) {
      if (!pool_.all[cand].single) {
        all_single = false;
        break;
      }
      cpus.push_back(*pool_.all[cand].single);
      one_node = one_node && in_home(item, cand);
    }
    if (all_single && one_node) single_lists_.emplace_back(item.list, std::move(cpus));
  }
  // Heaviest first, ties by IRQ number. The keys are sorted side by side
  // (a comparison that reached into two Items and their snapshots cost
  // half a millisecond a cycle at 2000 IRQs).
  struct Key {
    double load;
    std::uint32_t irq;
    std::uint32_t index;
  };
  std::vector<Key> keys(items_.size());
  for (std::size_t i = 0; i < items_.size(); ++i) {
    keys[i] = {items_[i].load, raw(items_[i].irq->desc->irq), static_cast<std::uint32_t>(i)};
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    if (a.load != b.load) return a.load > b.load;
    return a.irq < b.irq;
  });
  order_.resize(items_.size());
  for (std::size_t i = 0; i < keys.size(); ++i) order_[i] = keys[i].index;
}

// Where an item's load lands when candidate `cand` is written: its one CPU,
// the CPU the kernel picks on a single-target machine, or spread evenly.
Landing Placer::landing(const Item& item, std::size_t cand, const Vectors& v) const {
  const Candidate& c = pool_.all[cand];
  if (c.single) return {c.single, cand};
  if (frame_.single) return {v.pick(c.cpus, item.effective), cand};
  return {std::nullopt, cand};
}

CpuSet Placer::lands_set(const Landing& l) const { return l.cpu ? CpuSet{raw(*l.cpu)} : pool_.all[l.spread].cpus; }

bool Placer::in_home(const Item& item, std::size_t cand) const {
  return item.home < 0 || pool_.all[cand].node == item.home;
}

void Placer::add_load(LoadIndex& load, const Landing& l, double ns) const {
  if (l.cpu) {
    load.add(*l.cpu, ns);
  } else {
    load.add(pool_.all[l.spread].cpus, ns);
  }
}

void Placer::add_load(LoadMap& load, const Landing& l, double ns) const {
  if (l.cpu) {
    load.add(*l.cpu, ns);
  } else {
    load.add(pool_.all[l.spread].cpus, ns);
  }
}

std::unique_ptr<Placer::Cool> Placer::make_cool(const LoadMap& load, double sibling_weight) const {
  auto c = std::make_unique<Cool>(Cool{CoolIndex(load, siblings_, sibling_weight), {}});
  for (const auto& [list, cpus] : single_lists_) c->ids[list] = c->index.add_list(cpus);
  return c;
}

// The cost of putting `item` where `l` lands for candidate `cand`: the
// hottest CPU it touches, with an SMT term (a single CPU counts part of its
// siblings' load, so hot IRQs take distinct cores first), and numa=prefer's
// price for leaving home.
double Placer::cost(const LoadMap& load, const Item& item, std::size_t cand, const Landing& l) const {
  double worst = 0;
  if (l.cpu) {
    worst = load[*l.cpu] + item.load;
    for (CpuId s : siblings_[raw(*l.cpu)]) worst += policy_.smt_sibling_weight * load[s];
  } else {
    const CpuSet& cpus = pool_.all[l.spread].cpus;
    const double share = item.load / static_cast<double>(cpus.count());
    cpus.for_each([&](CpuId c) { worst = std::max(worst, load[c] + share); });
  }
  if (!in_home(item, cand)) worst += policy_.saturation * kNsPerS;
  return worst;
}

// The cheapest candidate for item `idx` given `load`; with `prefer_current`
// its current candidate wins ties.
void Placer::place_best(std::size_t idx, LoadMap& load, Vectors& vec, bool prefer_current,
                        std::vector<std::size_t>& target_of, std::vector<Landing>& lands_of, Cool* cool) const {
  const Item& item = items_[idx];
  if (cool != nullptr) {
    if (auto it = cool->ids.find(item.list); it != cool->ids.end()) {
      auto [key, cpu] = cool->index.best(it->second);
      if (prefer_current && item.current && pool_.all[*item.current].single &&
          cool->index.key(*pool_.all[*item.current].single) <= key + eps) {
        cpu = *pool_.all[*item.current].single;
      }
      const auto cand = static_cast<std::size_t>(item.list->by_cpu[raw(cpu)]);
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
  for (std::size_t cand : item.list->indices) {
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
      pool_.all[best_lands.spread].cpus.for_each([&](CpuId c) { cool->index.changed(c); });
    }
  }
  if (best_lands.cpu) vec.move(item.effective, best_lands.cpu);
}

Assignment Placer::assemble(const LoadMap& loads, Vectors vec, std::vector<std::size_t> target_of,
                            std::vector<Landing> lands_of) const {
  Assignment a{std::move(target_of), std::move(lands_of), LoadIndex(loads, frame_.targets), std::move(vec),
               std::vector<std::vector<std::size_t>>(frame_.top), {}};
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (a.lands[i].cpu) {
      a.on_cpu[raw(*a.lands[i].cpu)].push_back(i);
    } else {
      a.spread_items.push_back(i);
    }
  }
  return a;
}

void Placer::relocate(Assignment& a, std::size_t i, std::size_t cand, const Landing& to) const {
  const Item& item = items_[i];
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
}

// The hottest CPU after moving `amount` from `from` to `to`.
double Placer::max_after_move(const LoadIndex& load, const Landing& from, const Landing& to, double amount) const {
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
}

// The best swap off the hottest CPU `hot`: x (on hot) <-> y (on a CPU c),
// both on one CPU, each allowed on the other's CPU, y lighter than x, that
// leaves the hottest CPU below `limit`.
std::optional<Placer::Swap> Placer::find_swap(const Assignment& a, CpuId hot, double limit) const {
  std::optional<Swap> best;
  double best_max = limit;
  for (std::size_t x : a.on_cpu[raw(hot)]) {
    const Item& ix = items_[x];
    const bool home_x = in_home(ix, a.target[x]);
    for (std::size_t cx : ix.list->indices) {
      const Candidate& to_x = pool_.all[cx];
      if (!to_x.single || cx == a.target[x] || (home_x && !in_home(ix, cx))) continue;
      const CpuId c = *to_x.single;
      for (std::size_t y : a.on_cpu[raw(c)]) {
        const Item& iy = items_[y];
        if (iy.load >= ix.load - eps || raw(hot) >= iy.list->by_cpu.size()) continue;
        const std::int32_t cy = iy.list->by_cpu[raw(hot)];
        if (cy < 0 || (in_home(iy, a.target[y]) && !in_home(iy, static_cast<std::size_t>(cy)))) continue;
        const double m = std::max({a.load.max_excluding(hot, c), a.load[hot] - ix.load + iy.load,
                                   a.load[c] - iy.load + ix.load});
        if (m < best_max) {
          best_max = m;
          best = Swap{x, cx, y, static_cast<std::size_t>(cy)};
        }
      }
    }
  }
  return best;
}

// Moves, then swaps, off the hottest CPU while that lowers it (bounded
// rounds). Swaps exchange a single-CPU IRQ on the hottest CPU with a
// lighter one elsewhere when no single move helps.
void Placer::improve(Assignment& a) const {
  // For single-CPU lists the best move goes to the list's coolest CPU by
  // placement key (load plus the SMT term): one candidate, not a scan.
  CoolIndex cool(a.load.loads(), siblings_, policy_.smt_sibling_weight);
  std::map<const CandidateList*, std::size_t> ids;
  for (const auto& [list, cpus] : single_lists_) ids[list] = cool.add_list(cpus);
  const auto move_item = [&](std::size_t i, std::size_t cand, const Landing& to) {
    const Landing from = a.lands[i];
    relocate(a, i, cand, to);
    for (const Landing& l : {from, to}) {
      if (l.cpu) {
        cool.changed(*l.cpu);
      } else {
        pool_.all[l.spread].cpus.for_each([&](CpuId c) { cool.changed(c); });
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
      for (CpuId s : siblings_[raw(*l.cpu)]) k += a.load[s];
      return k;
    };
    const auto try_moves = [&](std::size_t i) {
      const Item& item = items_[i];
      if (auto it = ids.find(item.list); it != ids.end() && a.lands[i].cpu) {
        const CpuId to_cpu = cool.best(it->second).second;
        if (to_cpu == *a.lands[i].cpu) return;
        const auto cand = static_cast<std::size_t>(item.list->by_cpu[raw(to_cpu)]);
        const Landing to{to_cpu, cand};
        const double m = max_after_move(a.load, a.lands[i], to, item.load);
        if (m < limit && (!best_move || m < best_max - eps)) {
          best_max = m;
          best_move = {i, cand, to};
        }
        return;
      }
      const bool home_now = in_home(item, a.target[i]);
      for (std::size_t cand : item.list->indices) {
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
      if (pool_.all[a.lands[i].spread].cpus.contains(hot)) try_moves(i);
    }
    if (best_move) {
      const auto [i, cand, to] = *best_move;
      move_item(i, cand, to);
      continue;
    }
    const std::optional<Swap> best_swap = find_swap(a, hot, best_max);
    if (!best_swap) break;
    move_item(best_swap->x, best_swap->cx, Landing{pool_.all[best_swap->cx].single, best_swap->cx});
    move_item(best_swap->y, best_swap->cy, Landing{pool_.all[best_swap->cy].single, best_swap->cy});
  }
}

// Spread: move single-CPU IRQs from a CPU to the coolest CPU they may use
// while that closes the gap by more than their own load plus a margin
// (each such move lowers the sum of squares and never the hottest CPU's
// standing), hottest CPUs first, a few passes.
void Placer::even_out(Assignment& a) const {
  CoolIndex cool(a.load.loads(), siblings_, 0.0);
  std::map<const CandidateList*, std::size_t> ids;
  for (const auto& [list, cpus] : single_lists_) ids[list] = cool.add_list(cpus);
  const double margin = static_cast<double>(policy_.min_gain_ns) / 5;
  std::vector<CpuId> cpus = frame_.targets.to_vector();
  for (int pass = 0; pass < 6; ++pass) {
    bool moved = false;
    std::stable_sort(cpus.begin(), cpus.end(), [&](CpuId x, CpuId y) { return a.load[x] > a.load[y]; });
    for (CpuId c : cpus) {
      const std::vector<std::size_t> here = a.on_cpu[raw(c)];
      for (std::size_t i : here) {
        const auto it = ids.find(items_[i].list);
        if (it == ids.end()) continue;
        const CpuId b = cool.best(it->second).second;
        if (b == c || a.load[c] - a.load[b] - items_[i].load <= margin) continue;
        const auto cand = static_cast<std::size_t>(items_[i].list->by_cpu[raw(b)]);
        relocate(a, i, cand, Landing{b, cand});
        cool.changed(c);
        cool.changed(b);
        moved = true;
      }
    }
    // Swaps between the k-th hottest and the k-th coolest CPU: x (on the
    // hot one) for a lighter y (on the cool one) when the gap exceeds
    // their difference plus the margin; the best pair per CPU pair.
    for (const auto& [list, list_cpus] : single_lists_) {
    std::vector<CpuId> group = list_cpus;
    std::stable_sort(group.begin(), group.end(), [&](CpuId x, CpuId y) { return a.load[x] > a.load[y]; });
    for (std::size_t k = 0; k < group.size() / 2; ++k) {
      const CpuId hot = group[k], cool_cpu = group[group.size() - 1 - k];
      const double gap = a.load[hot] - a.load[cool_cpu];
      if (gap <= margin) break;
      std::optional<std::pair<std::size_t, std::size_t>> best;
      double best_gain = 0;
      for (std::size_t x : a.on_cpu[raw(hot)]) {
        if (raw(cool_cpu) >= items_[x].list->by_cpu.size() || items_[x].list->by_cpu[raw(cool_cpu)] < 0) continue;
        if (ids.find(items_[x].list) == ids.end()) continue;
        for (std::size_t y : a.on_cpu[raw(cool_cpu)]) {
          const double d = items_[x].load - items_[y].load;
          if (d <= 0 || gap - d <= margin) continue;
          if (raw(hot) >= items_[y].list->by_cpu.size() || items_[y].list->by_cpu[raw(hot)] < 0) continue;
          if (ids.find(items_[y].list) == ids.end()) continue;
          const double gain = d * (gap - d);  // half the drop of the sum of squares
          if (gain > best_gain) {
            best_gain = gain;
            best = {{x, y}};
          }
        }
      }
      if (!best) continue;
      const auto [x, y] = *best;
      const auto cx = static_cast<std::size_t>(items_[x].list->by_cpu[raw(cool_cpu)]);
      const auto cy = static_cast<std::size_t>(items_[y].list->by_cpu[raw(hot)]);
      relocate(a, x, cx, Landing{cool_cpu, cx});
      relocate(a, y, cy, Landing{hot, cy});
      cool.changed(hot);
      cool.changed(cool_cpu);
      moved = true;
    }
    }
    if (!moved) break;
  }
}

void Placer::improve_and_even(Assignment& a) const {
  improve(a);
  even_out(a);
}

Assignment Placer::fresh(const LoadMap& base, const Vectors& vectors) const {
  LoadMap lpt = base;
  Vectors vec = vectors;
  std::vector<std::size_t> target_of(items_.size(), 0);
  std::vector<Landing> lands_of(items_.size());
  auto cool = make_cool(lpt, policy_.smt_sibling_weight);
  for (std::size_t idx : order_) place_best(idx, lpt, vec, true, target_of, lands_of, cool.get());
  Assignment a = assemble(lpt, std::move(vec), std::move(target_of), std::move(lands_of));
  improve_and_even(a);
  return a;
}

// `unfinished`: masks a capped plan of the last cycle still had to write;
// an IRQ with one that is still a candidate is placed there instead.
Assignment Placer::kept(const LoadMap& base, const Vectors& vectors,
                        const std::map<core::IrqNumber, CpuSet>* unfinished) const {
  const bool single = frame_.single;
  LoadMap loads = base;
  Vectors vec = vectors;
  std::vector<std::size_t> target_of(items_.size(), 0);
  std::vector<Landing> lands_of(items_.size());
  std::vector<std::size_t> rest;
  for (std::size_t idx : order_) {
    const Item& item = items_[idx];
    std::optional<std::size_t> stay;
    bool moves = false;
    if (unfinished != nullptr && !item.mandatory) {
      if (auto it = unfinished->find(item.irq->desc->irq); it != unfinished->end()) {
        for (std::size_t cand : item.list->indices) {
          if (pool_.all[cand].cpus == it->second) stay = cand;
        }
        moves = stay.has_value();
      }
    }
    if (stay) {
      // carried over from the last plan
    } else if (!item.mandatory && item.effective) {
      const CpuId here = *item.effective;
      if (raw(here) < item.list->by_cpu.size() && item.list->by_cpu[raw(here)] >= 0) {
        stay = static_cast<std::size_t>(item.list->by_cpu[raw(here)]);
      } else if (item.current && single) {
        stay = item.current;
      } else if (single) {
        for (std::size_t cand : item.list->indices) {
          if (pool_.all[cand].cpus.contains(here) && in_home(item, cand)) {
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
  auto cool = make_cool(loads, policy_.smt_sibling_weight);
  for (std::size_t idx : rest) place_best(idx, loads, vec, true, target_of, lands_of, cool.get());
  Assignment a = assemble(loads, std::move(vec), std::move(target_of), std::move(lands_of));
  improve_and_even(a);
  return a;
}

void Placer::place_mandatory(LoadMap load, Vectors vectors, std::vector<std::size_t>& target,
                             std::vector<Landing>& lands) const {
  for (std::size_t i : order_) {
    if (!items_[i].mandatory) continue;
    for (const auto& [c, l] : items_[i].now->load) load[c] -= l;
    place_best(i, load, vectors, false, target, lands, nullptr);
  }
}

Assignment choose_target(const Placer& placer, const Eligible& el, const State& state) {
  Assignment fresh = placer.fresh(el.base, el.vectors_now);
  Assignment kept = placer.kept(el.base, el.vectors_now, nullptr);
  std::optional<Assignment> carried;
  if (!state.unfinished.empty()) carried = placer.kept(el.base, el.vectors_now, &state.unfinished);
  // Kept wins when its hottest CPU is within 1% (or 0.5% of a CPU) of the
  // fresh one's and its spread within 3% of it: then it reaches the same
  // balance with fewer writes.
  const double tol = std::max(0.005 * kNsPerS, 0.01 * fresh.load.max());
  const auto as_good = [&](const Assignment& a) {
    return a.load.max() <= fresh.load.max() + tol &&
           a.load.spread_std() <= fresh.load.spread_std() * 1.03 + 1e-4 * kNsPerS;
  };
  // A plan the cap cut short is finished rather than re-decided, when it
  // still holds up; else the fewest writes that are as good; else fresh.
  if (carried && as_good(*carried)) return std::move(*carried);
  if (as_good(kept)) return kept;
  return fresh;
}

}  // namespace irqbpfd::balance::detail
