// The balancer's load bookkeeping: per-CPU loads, a tournament tree that
// finds the hottest (or coolest) CPU without a scan, the running sum and sum
// of squares for the spread, and the x86 vector allocator's choice of CPU.
// Internal to balance/; header-only so the steps inline it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/types.hpp"

namespace irqbpfd::balance::detail {

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
// squares over the members is kept as loads change, and the sum and sum of
// squares over the spread CPUs (the members, unless named apart), so the
// spread's standard deviation costs no scan either.
class LoadIndex {
 public:
  LoadIndex(const LoadMap& load, const CpuSet& members) : LoadIndex(load, members, members) {}
  LoadIndex(const LoadMap& load, const CpuSet& members, const CpuSet& spread)
      : load_(load), member_(load.size(), 0), tree_(load.size() + 1) {
    members.for_each([&](CpuId c) {
      member_[raw(c)] |= 1;
      tree_.set(raw(c), load_[c]);
      sumsq_ += load_[c] * load_[c];
    });
    spread.for_each([&](CpuId c) {
      if (raw(c) >= member_.size()) return;
      member_[raw(c)] |= 2;
      spread_sum_ += load_[c];
      spread_sumsq_ += load_[c] * load_[c];
      ++spread_n_;
    });
  }
  double operator[](CpuId c) const { return load_[c]; }
  [[nodiscard]] const LoadMap& loads() const { return load_; }
  void add(CpuId c, double ns) {
    const double was = load_[c], now = was + ns;
    if ((member_[raw(c)] & 1) != 0) {
      sumsq_ += now * now - was * was;
      tree_.set(raw(c), now);
    }
    if ((member_[raw(c)] & 2) != 0) {
      spread_sum_ += ns;
      spread_sumsq_ += now * now - was * was;
    }
    load_[c] = now;
  }
  void add(const CpuSet& set, double ns) {
    const double share = ns / static_cast<double>(std::max<std::size_t>(set.count(), 1));
    set.for_each([&](CpuId c) { add(c, share); });
  }
  // Population standard deviation over the spread CPUs.
  [[nodiscard]] double spread_std() const {
    if (spread_n_ == 0) return 0;
    const auto n = static_cast<double>(spread_n_);
    const double mean = spread_sum_ / n;
    return std::sqrt(std::max(0.0, spread_sumsq_ / n - mean * mean));
  }
  [[nodiscard]] double max() const { return std::max(0.0, tree_.best_value()); }
  [[nodiscard]] CpuId hottest() const { return core::cpu_id(static_cast<std::uint32_t>(tree_.best())); }
  [[nodiscard]] double max_excluding(CpuId a, CpuId b) const {
    return std::max(0.0, tree_.best_excluding(raw(a), raw(b)));
  }
  [[nodiscard]] double max_excluding(const CpuSet& skip) const {
    double m = 0;
    for (std::size_t c = 0; c < member_.size(); ++c) {
      if ((member_[c] & 1) != 0 && !skip.contains(core::cpu_id(static_cast<std::uint32_t>(c)))) m = std::max(m, load_[core::cpu_id(static_cast<std::uint32_t>(c))]);
    }
    return m;
  }
  [[nodiscard]] double sumsq() const { return sumsq_; }

 private:
  LoadMap load_;
  std::vector<char> member_;
  Tournament<Hotter> tree_;
  double sumsq_ = 0;
  double spread_sum_ = 0, spread_sumsq_ = 0;
  std::size_t spread_n_ = 0;
};


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

}  // namespace irqbpfd::balance::detail
