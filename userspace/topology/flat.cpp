// flat_machine: node 0 / package 0 / one cache domain / a core per CPU.
#include "irqbpfd/topology/flat.hpp"

namespace irqbpfd::topology {

Machine flat_machine(const core::CpuSet& cpus, std::string source) {
  CacheDomain cache;
  cache.cpus = cpus;
  unsigned index = 0;
  for (core::CpuId c : cpus.to_vector()) {
    Core k;
    k.index = index;
    k.os_index = index;
    k.cpus.insert(c);
    cache.cores.push_back(k);
    ++index;
  }
  Package pkg;
  pkg.cpus = cpus;
  pkg.caches.push_back(std::move(cache));
  NumaNode node;
  node.cpus = cpus;
  node.packages.push_back(std::move(pkg));
  Machine m;
  m.cpus = cpus;
  m.nodes.push_back(std::move(node));
  m.source = std::move(source);
  return m;
}

}  // namespace irqbpfd::topology
