// load_synthetic and load_xml: hwloc synthetic descriptions give exact, known
// shapes (NUMA under packages, packages spanning nodes, Linux-style SMT
// numbering), and an XML round trip gives the same tree.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "fake_root.hpp"
#include "irqbpfd/topology/machine.hpp"
#include "topology_test_util.hpp"

namespace irqbpfd::topology {
namespace {

using core::CpuSet;
using core::cpu_id;

Machine load_ok(std::string_view description) {
  auto m = load_synthetic(description);
  EXPECT_TRUE(m) << description << ": " << (m ? "" : m.error().message);
  if (!m) return Machine{};
  test::expect_consistent(*m);
  return std::move(*m);
}

CpuSet range(std::uint32_t lo, std::uint32_t hi) {
  CpuSet s;
  for (std::uint32_t c = lo; c <= hi; ++c) s.insert(cpu_id(c));
  return s;
}

TEST(TopologySynthetic, TwoSocketsWithL3Slices) {
  // 2 packages, each its own NUMA node with 4 L3 slices of 16 two-thread
  // cores: 2 x 4 x 16 x 2 = 256 CPUs numbered depth-first.
  const Machine m = load_ok("pack:2 [numa] l3:4 core:16 pu:2");
  EXPECT_EQ(m.source, "synthetic pack:2 [numa] l3:4 core:16 pu:2");
  EXPECT_EQ(m.cpus, CpuSet::first_n(256));
  ASSERT_EQ(m.nodes.size(), 2U);
  EXPECT_EQ(m.package_count(), 2U);
  EXPECT_EQ(m.cache_count(), 8U);
  EXPECT_EQ(m.core_count(), 128U);
  for (int n = 0; n < 2; ++n) {
    const NumaNode& node = m.nodes[static_cast<std::size_t>(n)];
    EXPECT_EQ(node.os_index, n);
    EXPECT_EQ(node.cpus, range(128U * static_cast<unsigned>(n), 128U * static_cast<unsigned>(n) + 127));
    ASSERT_EQ(node.packages.size(), 1U);
    EXPECT_EQ(node.packages[0].os_index, static_cast<unsigned>(n));
    ASSERT_EQ(node.packages[0].caches.size(), 4U);
    for (const CacheDomain& c : node.packages[0].caches) {
      EXPECT_EQ(c.level, 3U);
      EXPECT_GT(c.size_bytes, 0U);
      EXPECT_EQ(c.cpus.count(), 32U);
      EXPECT_EQ(c.cores.size(), 16U);
    }
  }
  // SMT siblings: core k holds CPUs 2k and 2k+1.
  for (std::uint32_t cpu = 0; cpu < 256; ++cpu) {
    const auto place = m.place(cpu_id(cpu));
    ASSERT_TRUE(place) << cpu;
    EXPECT_EQ(place->core_index, cpu / 2);
    EXPECT_EQ(place->cache_index, cpu / 32);
    EXPECT_EQ(place->node, static_cast<int>(cpu / 128));
  }
  const CacheDomain& third = m.nodes[0].packages[0].caches[2];
  EXPECT_EQ(third.cores[5].cpus, (CpuSet{74, 75}));
}

TEST(TopologySynthetic, SmallerTwoSocketShape) {
  // 2 x 4 x 8 x 2 = 128 CPUs, 64 cores, 8 L3 domains.
  const Machine m = load_ok("pack:2 [numa] l3:4 core:8 pu:2");
  EXPECT_EQ(m.cpus.count(), 128U);
  EXPECT_EQ(m.nodes.size(), 2U);
  EXPECT_EQ(m.package_count(), 2U);
  EXPECT_EQ(m.cache_count(), 8U);
  EXPECT_EQ(m.core_count(), 64U);
  EXPECT_EQ(m.nodes[1].packages[0].caches[0].cores[0].cpus, (CpuSet{64, 65}));
}

TEST(TopologySynthetic, NoNumaNoCachesIsOneNodeWithLevelZeroDomains) {
  // hwloc adds a single NUMA node itself; there are no caches at all.
  const Machine m = load_ok("pack:2 core:2 pu:2");
  EXPECT_EQ(m.cpus, CpuSet::first_n(8));
  ASSERT_EQ(m.nodes.size(), 1U);
  EXPECT_EQ(m.nodes[0].os_index, 0);
  ASSERT_EQ(m.nodes[0].packages.size(), 2U);
  EXPECT_EQ(m.package_count(), 2U);
  EXPECT_EQ(m.core_count(), 4U);
  ASSERT_EQ(m.cache_count(), 2U);
  for (const Package& p : m.nodes[0].packages) {
    ASSERT_EQ(p.caches.size(), 1U);
    EXPECT_EQ(p.caches[0].level, 0U);
    EXPECT_EQ(p.caches[0].size_bytes, 0U);
    EXPECT_EQ(p.caches[0].cpus, p.cpus);
  }
  EXPECT_EQ(m.nodes[0].packages[1].cpus, range(4, 7));
  EXPECT_EQ(m.nodes[0].packages[1].caches[0].cores[1].cpus, (CpuSet{6, 7}));
}

TEST(TopologySynthetic, LinuxStyleSmtNumbering) {
  // x86 Linux numbers the first thread of every core, then the second ones:
  // core c of package p holds {4p+c, 8+4p+c}. hwloc silently ignores an
  // attribute it does not understand, so check the numbers really took.
  const Machine m = load_ok("pack:2 core:4 pu:2(indexes=0,8,1,9,2,10,3,11,4,12,5,13,6,14,7,15)");
  EXPECT_EQ(m.cpus, CpuSet::first_n(16));
  ASSERT_EQ(m.nodes.size(), 1U);
  ASSERT_EQ(m.nodes[0].packages.size(), 2U);
  for (unsigned p = 0; p < 2; ++p) {
    const Package& pkg = m.nodes[0].packages[p];
    EXPECT_EQ(pkg.os_index, p);
    EXPECT_EQ(pkg.cpus, range(4 * p, 4 * p + 3) | range(8 + 4 * p, 8 + 4 * p + 3));
    ASSERT_EQ(pkg.caches.size(), 1U);
    ASSERT_EQ(pkg.caches[0].cores.size(), 4U);
    for (unsigned c = 0; c < 4; ++c) {
      EXPECT_EQ(pkg.caches[0].cores[c].cpus, (CpuSet{4 * p + c, 8 + 4 * p + c}));
    }
  }
  // Siblings of CPU 9 are {1, 9}: the same core index.
  EXPECT_EQ(m.place(cpu_id(9))->core_index, m.place(cpu_id(1))->core_index);
  EXPECT_EQ(m.place(cpu_id(12))->package, 1U);
}

TEST(TopologySynthetic, BigMachine) {
  // 4 x 8 x 8 x 2 = 512 CPUs: wider than any 64-bit word.
  const Machine m = load_ok("pack:4 [numa] l3:8 core:8 pu:2");
  EXPECT_EQ(m.cpus, CpuSet::first_n(512));
  EXPECT_EQ(m.nodes.size(), 4U);
  EXPECT_EQ(m.package_count(), 4U);
  EXPECT_EQ(m.cache_count(), 32U);
  EXPECT_EQ(m.core_count(), 256U);
  const auto last = m.place(cpu_id(511));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->node, 3);
  EXPECT_EQ(last->package, 3U);
  EXPECT_EQ(last->package_index, 3U);
  EXPECT_EQ(last->cache_index, 31U);
  EXPECT_EQ(last->core_index, 255U);
}

TEST(TopologySynthetic, PackageSpanningTwoNodes) {
  // One package split into two NUMA nodes (sub-NUMA clustering): "[numa]:2"
  // directly under pack is rejected by hwloc, a group level carries it.
  const Machine m = load_ok("pack:1 group:2 [numa] l3:1 core:2 pu:2");
  EXPECT_EQ(m.cpus, CpuSet::first_n(8));
  ASSERT_EQ(m.nodes.size(), 2U);
  EXPECT_EQ(m.package_count(), 1U);  // one physical package...
  for (int n = 0; n < 2; ++n) {
    const NumaNode& node = m.nodes[static_cast<std::size_t>(n)];
    const unsigned base = 4U * static_cast<unsigned>(n);
    EXPECT_EQ(node.os_index, n);
    EXPECT_EQ(node.cpus, range(base, base + 3));
    ASSERT_EQ(node.packages.size(), 1U);  // ...seen once from each node
    EXPECT_EQ(node.packages[0].os_index, 0U);
    EXPECT_EQ(node.packages[0].index, static_cast<unsigned>(n));
    EXPECT_EQ(node.packages[0].cpus, node.cpus);
    ASSERT_EQ(node.packages[0].caches.size(), 1U);
    EXPECT_EQ(node.packages[0].caches[0].level, 3U);
    EXPECT_EQ(node.packages[0].caches[0].cores.size(), 2U);
  }
  EXPECT_EQ(m.place(cpu_id(5))->node, 1);
  EXPECT_EQ(m.place(cpu_id(5))->package_index, 1U);
}

TEST(TopologySynthetic, CacheSpanningNodesIsClipped) {
  // One L3 over the whole package, two NUMA nodes under it: each node's
  // package part gets the L3 clipped to its CPUs.
  const Machine m = load_ok("pack:1 l3:1 group:2 [numa] core:2 pu:2");
  ASSERT_EQ(m.nodes.size(), 2U);
  ASSERT_EQ(m.cache_count(), 2U);
  EXPECT_EQ(m.nodes[1].packages[0].caches[0].level, 3U);
  EXPECT_EQ(m.nodes[1].packages[0].caches[0].cpus, range(4, 7));
}

TEST(TopologySynthetic, InvalidStringIsAnErrorNamingIt) {
  const auto m = load_synthetic("bogus:3 pu:2");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("bogus:3 pu:2"), std::string::npos) << m.error().message;
  EXPECT_FALSE(load_synthetic("pack:1 [numa]:2 core:2 pu:2"));
  EXPECT_FALSE(load_synthetic(""));
}

TEST(TopologyXml, RoundTripsThroughLstopo) {
  irqbpfd::testing::FakeRoot root;
  const auto xml = root.path() / "machine.xml";
  const std::string cmd = "lstopo-no-graphics --input 'pack:2 [numa] l3:2 core:2 pu:2' --of xml '" + xml.string() +
                          "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "lstopo-no-graphics is not installed (hwloc-nox)";
  const auto m = load_xml(xml);
  ASSERT_TRUE(m) << m.error().message;
  test::expect_consistent(*m);
  EXPECT_EQ(m->source, "xml " + xml.string());
  EXPECT_EQ(m->cpus, CpuSet::first_n(16));
  EXPECT_EQ(m->nodes.size(), 2U);
  EXPECT_EQ(m->cache_count(), 4U);
  EXPECT_EQ(m->core_count(), 8U);

  const auto missing = load_xml(root.path() / "nope.xml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.xml"), std::string::npos);
  root.write("/bad.xml", "<topology>not really</topology>");
  EXPECT_FALSE(load_xml(root.path() / "bad.xml"));
}

}  // namespace
}  // namespace irqbpfd::topology
