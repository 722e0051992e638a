// Shared checks for the topology tests: the structural invariants every
// loaded Machine must keep, whatever its source.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::topology::test {

// "{0-3,8}", built by appending: `"{" + std::string&&` inserts at the
// front, and g++ 12 at -O2/-O3 inlines that into a memcpy it reports as a
// 2^63-byte overlap (-Wrestrict, a false positive: GCC PR 105329), which
// fails a Release build with -Werror.
inline std::string list(const core::CpuSet& s) {
  std::string out = "{";
  out += s.to_list();
  out += '}';
  return out;
}

// Sets nest and partition at every level, indices count up in tree order,
// nodes are sorted, and every CPU of the machine has a place that points back
// at the tree entries holding it.
inline void expect_consistent(const Machine& m) {
  core::CpuSet seen_nodes;
  unsigned package_index = 0, cache_index = 0, core_index = 0;
  const NumaNode* previous = nullptr;
  for (const NumaNode& n : m.nodes) {
    if (previous != nullptr) {
      EXPECT_LT(previous->os_index, n.os_index) << "nodes sorted by os_index";
    }
    previous = &n;
    EXPECT_FALSE(n.cpus.empty()) << "node " << n.os_index;
    EXPECT_FALSE(seen_nodes.intersects(n.cpus)) << "node " << n.os_index << " overlaps another";
    seen_nodes |= n.cpus;
    core::CpuSet in_packages;
    for (const Package& p : n.packages) {
      EXPECT_EQ(p.index, package_index++);
      EXPECT_FALSE(p.cpus.empty());
      EXPECT_FALSE(in_packages.intersects(p.cpus));
      in_packages |= p.cpus;
      core::CpuSet in_caches;
      for (const CacheDomain& c : p.caches) {
        EXPECT_EQ(c.index, cache_index++);
        EXPECT_FALSE(c.cpus.empty());
        EXPECT_FALSE(in_caches.intersects(c.cpus));
        in_caches |= c.cpus;
        core::CpuSet in_cores;
        for (const Core& k : c.cores) {
          EXPECT_EQ(k.index, core_index++);
          EXPECT_FALSE(k.cpus.empty());
          EXPECT_FALSE(in_cores.intersects(k.cpus));
          in_cores |= k.cpus;
          k.cpus.for_each([&](core::CpuId cpu) {
            const auto place = m.place(cpu);
            ASSERT_TRUE(place.has_value()) << "cpu " << raw(cpu);
            EXPECT_EQ(place->node, n.os_index);
            EXPECT_EQ(place->package, p.os_index);
            EXPECT_EQ(place->package_index, p.index);
            EXPECT_EQ(place->cache_index, c.index);
            EXPECT_EQ(place->core_index, k.index);
          });
        }
        EXPECT_EQ(in_cores, c.cpus) << "cores of cache " << c.index;
      }
      EXPECT_EQ(in_caches, p.cpus) << "caches of package " << p.index;
    }
    EXPECT_EQ(in_packages, n.cpus) << "packages of node " << n.os_index;
    EXPECT_EQ(m.node(n.os_index), &n);
  }
  EXPECT_EQ(seen_nodes, m.cpus) << "nodes cover exactly the machine's CPUs";
  EXPECT_EQ(m.cache_count(), cache_index);
  EXPECT_EQ(m.core_count(), core_index);
  EXPECT_FALSE(m.place(core::cpu_id(100000)).has_value());
}

}  // namespace irqbpfd::topology::test
