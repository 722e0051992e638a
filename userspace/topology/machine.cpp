// Lookups over an already built Machine tree: where a CPU sits, a node by its
// kernel id, and counts. Pure: no hwloc and no I/O here (hwloc_loader.cpp
// builds the tree).
#include "irqbpfd/topology/machine.hpp"

#include <set>

namespace irqbpfd::topology {

// Descends by CpuSet membership at each level, so a lookup costs one check
// per node, per package of that node, per cache of that package and per core
// of that cache rather than a walk over every core of the machine.
std::optional<CpuPlace> Machine::place(core::CpuId cpu) const {
  if (!cpus.contains(cpu)) return std::nullopt;
  for (const NumaNode& n : nodes) {
    if (!n.cpus.contains(cpu)) continue;
    for (const Package& p : n.packages) {
      if (!p.cpus.contains(cpu)) continue;
      for (const CacheDomain& c : p.caches) {
        if (!c.cpus.contains(cpu)) continue;
        for (const Core& k : c.cores) {
          if (!k.cpus.contains(cpu)) continue;
          return CpuPlace{n.os_index, p.os_index, p.index, c.index, k.index};
        }
      }
    }
  }
  return std::nullopt;  // only reachable for a hand-built, inconsistent tree
}

const NumaNode* Machine::node(int os_index) const {
  for (const NumaNode& n : nodes) {
    if (n.os_index == os_index) return &n;
  }
  return nullptr;
}

std::size_t Machine::package_count() const {
  // A package spanning several nodes appears once per node with the same
  // os_index: count it once.
  std::set<unsigned> ids;
  for (const NumaNode& n : nodes) {
    for (const Package& p : n.packages) ids.insert(p.os_index);
  }
  return ids.size();
}

std::size_t Machine::cache_count() const {
  std::size_t count = 0;
  for (const NumaNode& n : nodes) {
    for (const Package& p : n.packages) count += p.caches.size();
  }
  return count;
}

std::size_t Machine::core_count() const {
  std::size_t count = 0;
  for (const NumaNode& n : nodes) {
    for (const Package& p : n.packages) {
      for (const CacheDomain& c : p.caches) count += c.cores.size();
    }
  }
  return count;
}

}  // namespace irqbpfd::topology
