// Step 3 of plan(): the masks an IRQ may be given. At package or cache level
// a candidate is the object's CPUs that may take IRQs; at core level, one
// CPU. Lists are cached per (level, home node), so the IRQs of one device
// share one list (and its CPU -> single-CPU candidate index, for swaps).
#include <fmt/format.h>

#include <algorithm>

#include "steps.hpp"

namespace irqbpfd::balance::detail {
namespace {

const CandidateList& level_list(Pool& pool, const topology::Machine& m, core::BalanceLevel level,
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

}  // namespace

const CandidateList& candidate_list(Pool& pool, const topology::Machine& m, core::BalanceLevel level, int home,
                                    const CpuSet& allowed, const CpuSet& spill, std::uint32_t top) {
  const int lvl = static_cast<int>(level);
  const CandidateList& home_list = level_list(pool, m, level, allowed, top, {lvl, home, 0});
  if (spill.count() == allowed.count()) return home_list;
  const CandidateList& anywhere = level_list(pool, m, level, spill, top, {lvl, -1, 0});
  auto [it, fresh] = pool.lists.try_emplace(ListKey{lvl, home, 1});
  if (fresh) {
    // Home candidates first, so ties stay home.
    it->second.indices = home_list.indices;
    for (std::size_t i : anywhere.indices) {
      if (std::find(it->second.indices.begin(), it->second.indices.end(), i) == it->second.indices.end()) {
        it->second.indices.push_back(i);
      }
    }
    it->second.by_cpu = anywhere.by_cpu;
  }
  return it->second;
}

}  // namespace irqbpfd::balance::detail
