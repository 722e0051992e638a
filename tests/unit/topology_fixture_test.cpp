// load_from_root on the checked-in fake machine tests/fixtures/roots/numa2
// (2 packages x 2 cores x 2 threads, package p on NUMA node p, Linux-style
// SMT numbering: core c of package p holds CPUs 2c+p and 4+2c+p).
#include <gtest/gtest.h>

#include "fake_root.hpp"
#include "irqbpfd/topology/machine.hpp"
#include "topology_test_util.hpp"

namespace irqbpfd::topology {
namespace {

using core::CpuSet;
using core::cpu_id;

TEST(TopologyFixtureNuma2, TreeFromHwlocFsroot) {
  irqbpfd::testing::FakeRoot root;
  root.copy_fixture("numa2");
  const auto loaded = load_from_root(root.path());
  ASSERT_TRUE(loaded) << loaded.error().message;
  const Machine& m = *loaded;
  test::expect_consistent(m);

  EXPECT_EQ(m.source, "root " + root.path().string());
  EXPECT_EQ(m.cpus, CpuSet::first_n(8));
  ASSERT_EQ(m.nodes.size(), 2U);
  EXPECT_EQ(m.package_count(), 2U);
  EXPECT_EQ(m.cache_count(), 2U);  // one L3 per package
  EXPECT_EQ(m.core_count(), 4U);

  for (unsigned p = 0; p < 2; ++p) {
    const NumaNode& node = m.nodes[p];
    EXPECT_EQ(node.os_index, static_cast<int>(p));
    EXPECT_EQ(node.cpus, (CpuSet{p, 2 + p, 4 + p, 6 + p}));
    ASSERT_EQ(node.packages.size(), 1U);
    const Package& pkg = node.packages[0];
    EXPECT_EQ(pkg.os_index, p);
    EXPECT_EQ(pkg.index, p);
    EXPECT_EQ(pkg.cpus, node.cpus);
    ASSERT_EQ(pkg.caches.size(), 1U);
    const CacheDomain& l3 = pkg.caches[0];
    EXPECT_EQ(l3.level, 3U);
    EXPECT_EQ(l3.size_bytes, 11264U * 1024U);
    EXPECT_EQ(l3.cpus, node.cpus);
    ASSERT_EQ(l3.cores.size(), 2U);
    for (unsigned c = 0; c < 2; ++c) {
      EXPECT_EQ(l3.cores[c].os_index, c);
      EXPECT_EQ(l3.cores[c].index, 2 * p + c);
      EXPECT_EQ(l3.cores[c].cpus, (CpuSet{2 * c + p, 4 + 2 * c + p}));
    }
  }

  // Node of every CPU: even CPUs on node 0, odd ones on node 1.
  for (std::uint32_t cpu = 0; cpu < 8; ++cpu) {
    const auto place = m.place(cpu_id(cpu));
    ASSERT_TRUE(place) << cpu;
    EXPECT_EQ(place->node, static_cast<int>(cpu % 2)) << cpu;
    EXPECT_EQ(place->package, cpu % 2) << cpu;
  }
  // SMT siblings share a core: 1 and 5 are core 0 of package 1.
  EXPECT_EQ(m.place(cpu_id(1))->core_index, m.place(cpu_id(5))->core_index);
  EXPECT_NE(m.place(cpu_id(1))->core_index, m.place(cpu_id(3))->core_index);
  EXPECT_EQ(m.place(cpu_id(7))->core_index, 3U);
  EXPECT_FALSE(m.place(cpu_id(8)));
  EXPECT_EQ(m.node(2), nullptr);
}

}  // namespace
}  // namespace irqbpfd::topology
