// FakeMachine and scenario files: the files it writes parse with the real
// readers, counts land on the CPU x86's vector allocator picks for the
// written mask (kept when still in it, else the fewest vectors), CPU
// hotplug and IRQ lifecycle behave like the kernel, bad scenarios say where.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/sim/fake_machine.hpp"
#include "irqbpfd/sim/replay_collector.hpp"
#include "irqbpfd/sim/scenario.hpp"
#include "irqbpfd/sys/cpus.hpp"
#include "irqbpfd/sys/irq_files.hpp"
#include "irqbpfd/sys/irq_inventory.hpp"
#include "irqbpfd/sys/proc_interrupts.hpp"
#include "irqbpfd/sys/proc_stat.hpp"
#include "irqbpfd/topology/machine.hpp"
#include "fake_root.hpp"
#include "sim_test_util.hpp"

namespace irqbpfd::sim {
namespace {

using core::cpu_id;
using core::CpuId;
using core::CpuSet;
using core::irq_number;

constexpr const char* kSmall = R"(
topology = "pack:1 l3:1 core:4 pu:1"
ticks = 10
tick_s = 10
[[irq]]
number = 30
name = "eth0-q0"
class = "10gbit-ethernet"
rate = 1000
cost_ns = 2000
softirq_pct = 50
[[irq]]
number = 31
name = "eth0-q1"
class = "10gbit-ethernet"
affinity = "2-3"
rate = 500
cost_ns = 10000
[[irq]]
number = 32
name = "nvme0q1"
class = "storage"
managed = true
cpu = 3
rate = 100
cost_ns = 1000
[[irq]]
number = 9
name = "acpi"
class = "legacy"
rate = 3
cost_ns = 1000
)";

std::uint64_t count_on(const sys::ProcInterrupts& pi, std::uint32_t irq, std::uint32_t cpu) {
  const sys::InterruptRow* row = pi.find(irq_number(irq));
  if (row == nullptr) return 0;
  for (std::size_t i = 0; i < pi.cpus.size(); ++i) {
    if (pi.cpus[i] == cpu_id(cpu)) return row->counts[i];
  }
  return 0;
}

TEST(FakeMachine, WritesFilesTheRealParsersAccept) {
  auto s = parse_scenario(kSmall, "small.toml");
  ASSERT_TRUE(s) << s.error().message;
  auto fm = FakeMachine::create(*s);
  ASSERT_TRUE(fm) << fm.error().message;
  const sys::SysRoot root((*fm)->root());
  ASSERT_TRUE((*fm)->step());

  auto pi = sys::read_proc_interrupts(root);
  ASSERT_TRUE(pi) << pi.error().message;
  ASSERT_EQ(pi->cpus.size(), 4U);
  const sys::InterruptRow* row = pi->find(irq_number(30));
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->chip, "IR-PCI-MSI");
  EXPECT_EQ(row->trigger, "edge");
  EXPECT_EQ(row->name, "eth0-q0");
  // Default affinity (all CPUs): everything on CPU 0. 1000/s for 10 s.
  EXPECT_EQ(count_on(*pi, 30, 0), 10000U);
  EXPECT_EQ(count_on(*pi, 30, 1), 0U);
  // Mask 2-3: the first CPU of the mask.
  EXPECT_EQ(count_on(*pi, 31, 2), 5000U);
  EXPECT_EQ(count_on(*pi, 31, 3), 0U);
  EXPECT_EQ(count_on(*pi, 32, 3), 1000U);
  EXPECT_EQ(pi->find(irq_number(9))->chip, "IR-IO-APIC");

  // /proc/stat: whole 10 ms ticks of the exact time. CPU 0: eth0-q0 10000 *
  // 2 us = 20 ms, half softirq, plus acpi 30 * 1 us; CPU 2: 50 ms hardirq.
  auto stat = sys::read_proc_stat(root);
  ASSERT_TRUE(stat) << stat.error().message;
  ASSERT_EQ(stat->cpus.size(), 4U);
  EXPECT_EQ(stat->cpus[0].irq, 1U);
  EXPECT_EQ(stat->cpus[0].softirq, 1U);
  EXPECT_EQ(stat->cpus[2].irq, 5U);
  EXPECT_EQ(stat->cpus[2].softirq, 0U);
  EXPECT_EQ(stat->intr_per_irq.at(30), 10000U);

  auto cpus = sys::read_cpu_state(root);
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_EQ(cpus->online, CpuSet::first_n(4));

  // The inventory classifies through the fake PCI devices and files.
  auto inv = sys::read_irq_inventory(root, *pi);
  ASSERT_TRUE(inv) << inv.error().message;
  ASSERT_EQ(inv->irqs.size(), 4U);
  EXPECT_EQ(inv->irqs[0].irq_class, core::IrqClass::kLegacy);  // irq 9
  EXPECT_EQ(inv->irqs[1].irq_class, core::IrqClass::k10GbitEthernet);
  EXPECT_EQ(inv->irqs[1].driver, "ixgbe");
  EXPECT_EQ(inv->irqs[1].level, core::BalanceLevel::kCore);
  EXPECT_EQ(inv->irqs[3].irq_class, core::IrqClass::kStorage);
  EXPECT_EQ(inv->irqs[3].managed, std::optional<bool>(true));
  EXPECT_EQ(inv->irqs[1].managed, std::optional<bool>(false));
  EXPECT_EQ(inv->irqs[2].effective_affinity, std::optional<CpuSet>(CpuSet{2}));

  // Cumulative: a second tick doubles the counts.
  ASSERT_TRUE((*fm)->step());
  pi = sys::read_proc_interrupts(root);
  ASSERT_TRUE(pi);
  EXPECT_EQ(count_on(*pi, 30, 0), 20000U);
}

TEST(FakeMachine, CountsFollowTheWrittenMask) {
  auto s = parse_scenario(kSmall, "small.toml");
  ASSERT_TRUE(s);
  auto fm = FakeMachine::create(*s);
  ASSERT_TRUE(fm);
  FakeMachine& m = **fm;
  const sys::SysRoot root(m.root());
  ASSERT_TRUE(m.step());
  ASSERT_TRUE(write_affinity(root, irq_number(30), CpuSet{1, 3}, m.nr_cpu_ids()));
  ASSERT_TRUE(m.step());
  auto pi = sys::read_proc_interrupts(root);
  ASSERT_TRUE(pi);
  EXPECT_EQ(count_on(*pi, 30, 0), 10000U);  // the first tick, before the write
  EXPECT_EQ(count_on(*pi, 30, 1), 10000U);  // of 1,3 the CPU with no vectors (irq 32 is on 3)
  EXPECT_EQ(count_on(*pi, 30, 3), 0U);
  auto files = sys::read_proc_irq(root, irq_number(30));
  ASSERT_TRUE(files);
  EXPECT_EQ(files->smp_affinity, (CpuSet{1, 3}));
  EXPECT_EQ(files->smp_affinity_list, std::optional<CpuSet>(CpuSet({1, 3})));
  EXPECT_EQ(files->effective_affinity, std::optional<CpuSet>(CpuSet{1}));
  // A wider mask that still holds its CPU does not move it; one without it
  // goes to the CPU of the mask with the fewest vectors, lowest on ties
  // (2 and 3 have one each).
  ASSERT_TRUE(write_affinity(root, irq_number(30), CpuSet{0, 1, 2, 3}, m.nr_cpu_ids()));
  ASSERT_TRUE(m.step());
  EXPECT_EQ(m.effective_cpu(irq_number(30)), cpu_id(1));
  ASSERT_TRUE(write_affinity(root, irq_number(30), CpuSet{2, 3}, m.nr_cpu_ids()));
  ASSERT_TRUE(m.step());
  EXPECT_EQ(m.effective_cpu(irq_number(30)), cpu_id(2));

  // Kernel-managed: the writer refuses like the kernel (EIO), nothing moves.
  auto refused = write_affinity(root, irq_number(32), CpuSet{0}, m.nr_cpu_ids());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().errno_value, EIO);
  EXPECT_NE(refused.error().message.find("irq 32"), std::string::npos);
  // A vanished IRQ: ENOENT.
  EXPECT_EQ(write_affinity(root, irq_number(77), CpuSet{0}, m.nr_cpu_ids()).error().errno_value, ENOENT);
}

TEST(FakeMachine, RefusesMasksWithoutAnOnlineCpuAndKeepsAGivenRoot) {
  const std::string text = "offline = \"3\"\n" + std::string(kSmall);
  auto s = parse_scenario(text, "small.toml");
  ASSERT_TRUE(s) << s.error().message;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("irqbpfd-sim-test-" + std::to_string(::getpid()));
  {
    auto fm = FakeMachine::create(*s, dir);
    ASSERT_TRUE(fm) << fm.error().message;
    FakeMachine& m = **fm;
    const sys::SysRoot root(m.root());
    EXPECT_EQ(m.root(), dir);
    // The offline CPU's column is not there from the start.
    auto pi = sys::read_proc_interrupts(root);
    ASSERT_TRUE(pi);
    EXPECT_EQ(pi->cpus.size(), 3U);
    // Only offline CPUs in the mask: the kernel says EINVAL; the machine
    // restores the file and the IRQ stays.
    ASSERT_TRUE(write_affinity(root, irq_number(30), CpuSet{3}, m.nr_cpu_ids()));
    auto facts = m.step();
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->refused_writes, 1U);
    EXPECT_EQ(facts->affinity_changes, 0U);
    EXPECT_EQ(m.effective_cpu(irq_number(30)), cpu_id(0));
    auto files = sys::read_proc_irq(root, irq_number(30));
    ASSERT_TRUE(files);
    EXPECT_EQ(files->smp_affinity, CpuSet::first_n(4));
  }
  // A root the caller gave is kept.
  EXPECT_TRUE(std::filesystem::exists(dir / "proc/interrupts"));
  std::filesystem::remove_all(dir);
  // Never the live root.
  auto live = FakeMachine::create(*s, std::filesystem::path("/"));
  ASSERT_FALSE(live);
  EXPECT_NE(live.error().message.find("never writes to the live root"), std::string::npos);
}

TEST(FakeMachine, CpuOfflineDropsTheColumnAndMovesItsIrqs) {
  const std::string text = std::string(kSmall) + R"(
[[event]]
at = 1
kind = "cpu-offline"
cpu = 2
[[event]]
at = 2
kind = "cpu-offline"
cpu = 3
[[event]]
at = 3
kind = "cpu-online"
cpu = 3
)";
  auto s = parse_scenario(text, "offline.toml");
  ASSERT_TRUE(s) << s.error().message;
  auto fm = FakeMachine::create(*s);
  ASSERT_TRUE(fm);
  FakeMachine& m = **fm;
  const sys::SysRoot root(m.root());
  ASSERT_TRUE(m.step());  // tick 0
  auto t1 = m.step();     // tick 1: cpu 2 offline
  ASSERT_TRUE(t1);
  auto pi = sys::read_proc_interrupts(root);
  ASSERT_TRUE(pi);
  EXPECT_EQ(pi->cpus, (std::vector<core::CpuId>{cpu_id(0), cpu_id(1), cpu_id(3)}));
  // irq 31 (mask 2-3) moved to cpu 3, the next online CPU of its mask.
  EXPECT_EQ(m.effective_cpu(irq_number(31)), cpu_id(3));
  EXPECT_EQ(count_on(*pi, 31, 3), 5000U);
  auto stat = sys::read_proc_stat(root);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->cpus.size(), 3U);
  auto cpus = sys::read_cpu_state(root);
  ASSERT_TRUE(cpus);
  EXPECT_EQ(cpus->online, (CpuSet{0, 1, 3}));

  ASSERT_TRUE(m.step());  // tick 2: cpu 3 offline too
  // irq 31's mask has no online CPU: affinity broken to every online CPU,
  // and the vector allocator picks the one with the fewest vectors (CPU 1:
  // none; CPU 0 has irqs 9 and 30).
  EXPECT_EQ(m.affinity(irq_number(31)), std::optional<CpuSet>(CpuSet({0, 1})));
  EXPECT_EQ(m.effective_cpu(irq_number(31)), cpu_id(1));
  // The managed irq 32 (cpu 3) is shut down, not moved.
  EXPECT_EQ(m.effective_cpu(irq_number(32)), std::nullopt);
  auto files = sys::read_proc_irq(root, irq_number(31));
  ASSERT_TRUE(files);
  EXPECT_EQ(files->smp_affinity, (CpuSet{0, 1}));

  ASSERT_TRUE(m.step());  // tick 3: cpu 3 back; its old counts reappear
  pi = sys::read_proc_interrupts(root);
  ASSERT_TRUE(pi);
  EXPECT_EQ(pi->cpus.size(), 3U);
  EXPECT_EQ(m.effective_cpu(irq_number(32)), cpu_id(3));
  EXPECT_EQ(count_on(*pi, 32, 3), 3000U);  // ticks 0, 1 and 3
}

TEST(FakeMachine, IrqsAppearAndVanish) {
  const std::string text = std::string(kSmall) + R"(
[[irq]]
number = 60
name = "eth1-q0"
class = "gbit-ethernet"
rate = 100
[[event]]
at = 2
kind = "irq-appears"
irq = 60
[[event]]
at = 3
kind = "irq-vanishes"
irq = 31
)";
  auto s = parse_scenario(text, "life.toml");
  ASSERT_TRUE(s) << s.error().message;
  auto fm = FakeMachine::create(*s);
  ASSERT_TRUE(fm);
  FakeMachine& m = **fm;
  const sys::SysRoot root(m.root());
  ASSERT_TRUE(m.step());
  auto pi = sys::read_proc_interrupts(root);
  EXPECT_EQ(pi->find(irq_number(60)), nullptr);
  EXPECT_FALSE(root.exists("/proc/irq/60"));
  ASSERT_TRUE(m.step());
  ASSERT_TRUE(m.step());  // tick 2: 60 appears
  pi = sys::read_proc_interrupts(root);
  ASSERT_NE(pi->find(irq_number(60)), nullptr);
  // Allocated with the default mask: the CPU with the fewest vectors (1).
  EXPECT_EQ(count_on(*pi, 60, 1), 1000U);
  EXPECT_EQ(m.effective_cpu(irq_number(60)), cpu_id(1));
  auto inv = sys::read_irq_inventory(root, *pi);
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(inv->irqs.back().irq_class, core::IrqClass::kGbitEthernet);
  ASSERT_TRUE(m.step());  // tick 3: 31 vanishes
  pi = sys::read_proc_interrupts(root);
  EXPECT_EQ(pi->find(irq_number(31)), nullptr);
  EXPECT_FALSE(root.exists("/proc/irq/31"));
}

TEST(FakeMachine, ReplayCollectorCarriesExactTime) {
  auto s = parse_scenario(kSmall, "small.toml");
  ASSERT_TRUE(s);
  auto fm = FakeMachine::create(*s);
  ASSERT_TRUE(fm);
  FakeMachine& m = **fm;
  ReplayCollector replay(sys::SysRoot(m.root()), m.clock(), m);
  EXPECT_EQ(replay.name(), "replay");
  ASSERT_TRUE(m.step());
  auto sample = replay.read();
  ASSERT_TRUE(sample) << sample.error().message;
  ASSERT_TRUE(sample->bpf);
  ASSERT_TRUE(sample->stat);
  const collect::BpfReading& r = *sample->bpf;
  EXPECT_EQ(r.cpus.size(), 4U);
  bool found = false;
  for (const collect::BpfCell& c : r.cells) {
    if (c.irq != irq_number(30)) continue;
    found = true;
    EXPECT_EQ(c.cpu, cpu_id(0));
    EXPECT_EQ(c.count, 10000U);
    EXPECT_EQ(c.hardirq_ns + c.softirq_ns, 20'000'000U);  // 10000 * 2 us
    EXPECT_EQ(c.softirq_ns, 10'000'000U);                 // softirq_pct = 50
  }
  EXPECT_TRUE(found);
  EXPECT_DOUBLE_EQ(*sample->uptime_s, 1010.0);
}

TEST(FakeMachine, NoiseIsSeededAndBounded) {
  const std::string text = std::string("noise_pct = 10\nseed = 7\n") + kSmall;
  auto s = parse_scenario(text, "noise.toml");
  ASSERT_TRUE(s) << s.error().message;
  std::vector<std::uint64_t> a, b;
  for (auto* out : {&a, &b}) {
    auto fm = FakeMachine::create(*s);
    ASSERT_TRUE(fm);
    for (int i = 0; i < 5; ++i) {
      auto f = (*fm)->step();
      ASSERT_TRUE(f);
      out->push_back(f->irqs[1].count);  // irq 30
    }
  }
  EXPECT_EQ(a, b);
  bool varied = false;
  for (std::uint64_t n : a) {
    EXPECT_GE(n, 9000U);
    EXPECT_LE(n, 11000U);
    varied = varied || n != 10000U;
  }
  EXPECT_TRUE(varied);
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The sysfs tree the fake machine writes is the scenario's topology: hwloc
// reading it back (as it reads a real machine) finds the same nodes,
// packages, shared caches, cores and CPUs as the synthetic description.
TEST(FakeMachine, SysfsTopologyLoadsBackThroughHwloc) {
  for (const char* topo : {"pack:1 l3:1 core:4 pu:2", "pack:1 l3:2 core:4 pu:2", "pack:2 [numa] l3:1 core:8 pu:2",
                           "pack:2 [numa] l3:4 core:16 pu:2", "pack:1 l2:4 core:2 pu:1"}) {
    SCOPED_TRACE(topo);
    auto s = parse_scenario(fmt::format("topology = \"{}\"\n[[irq]]\nnumber = 30\nrate = 10\nclass = \"storage\"\n", topo),
                            "topo.toml");
    ASSERT_TRUE(s) << s.error().message;
    auto fm = FakeMachine::create(*s);
    ASSERT_TRUE(fm) << fm.error().message;
    const topology::Machine& want = (*fm)->machine();
    auto got = topology::load_from_root((*fm)->root());
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got->cpus, want.cpus);
    ASSERT_EQ(got->nodes.size(), want.nodes.size());
    for (std::size_t n = 0; n < want.nodes.size(); ++n) {
      EXPECT_EQ(got->nodes[n].os_index, want.nodes[n].os_index);
      EXPECT_EQ(got->nodes[n].cpus, want.nodes[n].cpus);
    }
    EXPECT_EQ(got->package_count(), want.package_count());
    EXPECT_EQ(got->cache_count(), want.cache_count());
    EXPECT_EQ(got->core_count(), want.core_count());
    for (CpuId c : want.cpus.to_vector()) {
      const auto a = got->place(c), b = want.place(c);
      ASSERT_TRUE(a && b);
      EXPECT_EQ(a->node, b->node);
      EXPECT_EQ(a->package, b->package);
      EXPECT_EQ(a->cache_index, b->cache_index);
      EXPECT_EQ(a->core_index, b->core_index);
    }
  }
}

// Byte formats as the kernel prints them, with masks wider than one 32-bit
// word (48 CPUs: the top word has 4 digits), and CPU hotplug in the files.
TEST(FakeMachine, SysfsFilesSpeakTheKernelFormats) {
  auto s = parse_scenario(R"(
topology = "pack:2 [numa] l3:1 core:12 pu:2"
ticks = 3
[[irq]]
number = 30
name = "eth0-q0"
class = "10gbit-ethernet"
node = 1
rate = 10
[[event]]
at = 1
kind = "cpu-offline"
cpu = 30
)",
                          "wide.toml");
  ASSERT_TRUE(s) << s.error().message;
  auto fm = FakeMachine::create(*s);
  ASSERT_TRUE(fm) << fm.error().message;
  const std::filesystem::path sys = (*fm)->root() / "sys";
  const std::filesystem::path cpu25 = sys / "devices/system/cpu/cpu25";
  EXPECT_EQ(read_text(cpu25 / "topology/thread_siblings"), "0000,03000000\n");
  EXPECT_EQ(read_text(cpu25 / "topology/thread_siblings_list"), "24-25\n");
  EXPECT_EQ(read_text(cpu25 / "topology/core_siblings"), "ffff,ff000000\n");
  EXPECT_EQ(read_text(cpu25 / "topology/physical_package_id"), "1\n");
  EXPECT_EQ(read_text(cpu25 / "topology/core_id"), "12\n");  // hwloc synthetic numbers cores machine-wide
  EXPECT_EQ(read_text(cpu25 / "cache/index2/level"), "2\n");
  EXPECT_EQ(read_text(cpu25 / "cache/index2/shared_cpu_map"), "0000,03000000\n");
  EXPECT_EQ(read_text(cpu25 / "cache/index3/level"), "3\n");
  EXPECT_EQ(read_text(cpu25 / "cache/index3/type"), "Unified\n");
  EXPECT_EQ(read_text(cpu25 / "cache/index3/shared_cpu_map"), "ffff,ff000000\n");
  EXPECT_EQ(std::filesystem::read_symlink(cpu25 / "node1"), "../../node/node1");
  EXPECT_EQ(read_text(cpu25 / "online"), "1\n");
  EXPECT_EQ(read_text(sys / "devices/system/node/node1/cpumap"), "ffff,ff000000\n");
  EXPECT_EQ(read_text(sys / "devices/system/node/node0/cpulist"), "0-23\n");
  EXPECT_EQ(read_text(sys / "devices/system/node/online"), "0-1\n");
  EXPECT_EQ(read_text((*fm)->root() / "proc/irq/default_smp_affinity"), "ffff,ffffffff\n");
  const std::filesystem::path nic = sys / "bus/pci/devices/0000:40:00.0";
  EXPECT_EQ(read_text(nic / "local_cpus"), "ffff,ff000000\n");
  EXPECT_EQ(read_text(nic / "numa_node"), "1\n");
  EXPECT_EQ(read_text(nic / "class"), "0x020000\n");
  EXPECT_TRUE(std::filesystem::exists(nic / "msi_irqs/30"));

  ASSERT_TRUE((*fm)->step());
  ASSERT_TRUE((*fm)->step());  // tick 1: cpu 30 goes offline
  const std::filesystem::path cpu = sys / "devices/system/cpu";
  EXPECT_EQ(read_text(cpu / "cpu30/online"), "0\n");
  EXPECT_EQ(read_text(cpu / "cpu29/online"), "1\n");
  EXPECT_EQ(read_text(cpu / "offline"), "30\n");
  EXPECT_EQ(read_text(cpu / "online"), "0-29,31-47\n");
}

// Bind mounts of single files (the irqbalance peer's /proc/interrupts and
// /proc/stat) stay valid only while the machine rewrites files in place.
TEST(FakeMachine, RewritesFilesInPlace) {
  auto s = parse_scenario(kSmall, "small.toml");
  ASSERT_TRUE(s);
  auto fm = FakeMachine::create(*s);
  ASSERT_TRUE(fm);
  const auto inode = [&](const char* rel) {
    struct stat st {};
    EXPECT_EQ(::stat(((*fm)->root() / rel).c_str(), &st), 0) << rel;
    return st.st_ino;
  };
  const char* files[] = {"proc/interrupts", "proc/stat", "proc/irq/default_smp_affinity", "proc/irq/30/smp_affinity",
                         "sys/devices/system/cpu/online"};
  std::vector<ino_t> before;
  for (const char* f : files) before.push_back(inode(f));
  ASSERT_TRUE(write_affinity(sys::SysRoot((*fm)->root()), irq_number(30), CpuSet{2}, (*fm)->nr_cpu_ids()));
  ASSERT_TRUE((*fm)->step());
  ASSERT_TRUE((*fm)->step());
  EXPECT_EQ((*fm)->effective_cpu(irq_number(30)), cpu_id(2));
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(inode(files[i]), before[i]) << files[i];
}

TEST(Scenario, QueueGroupsExpandToZipfRatesAndSpreadMasks) {
  auto s = parse_scenario(R"(
topology = "pack:2 [numa] core:4 pu:1"
seed = 9
[[queues]]
first = 100
count = 8
name = "eth0-{}"
class = "10gbit-ethernet"
node = 1
rate = 1000
zipf = 1.0
cost_ns = 2000
cost_spread_pct = 20
softirq_pct = 50
initial = "spread"
)",
                          "q.toml");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->irqs.size(), 8U);
  // Rates: 1/(k+1) shares of 1000 (harmonic number of 8 = 2.7179), queue 0
  // the hottest without shuffle; names and numbers in order; one device.
  EXPECT_EQ(s->irqs[0].name, "eth0-0");
  EXPECT_EQ(raw(s->irqs[7].irq), 107U);
  EXPECT_NEAR(s->irqs[0].interrupts_per_s, 1000 / 2.717857, 1e-3);
  EXPECT_NEAR(s->irqs[7].interrupts_per_s, 1000 / 2.717857 / 8, 1e-3);
  double total = 0;
  for (const SimIrq& i : s->irqs) {
    total += i.interrupts_per_s;
    EXPECT_GE(i.cost_ns, 1600.0);
    EXPECT_LE(i.cost_ns, 2400.0);
    EXPECT_EQ(i.device, s->irqs[0].device);
    EXPECT_EQ(i.node, 1);
    EXPECT_DOUBLE_EQ(i.softirq_share, 0.5);
  }
  EXPECT_NEAR(total, 1000, 1e-6);
  // Spread: queue q on the q-th CPU of node 1 (CPUs 4-7), round robin.
  EXPECT_EQ(s->irqs[0].affinity, CpuSet{4});
  EXPECT_EQ(s->irqs[5].affinity, CpuSet{5});
  // The same file expands the same way; a shuffle keeps the rates, moves them.
  auto again = parse_scenario("topology = \"core:2 pu:1\"\n[[queues]]\nfirst = 10\ncount = 16\nrate = 160\nzipf = 1\n"
                              "shuffle = true\ncost_spread_pct = 50\n",
                              "a.toml");
  auto twice = parse_scenario("topology = \"core:2 pu:1\"\n[[queues]]\nfirst = 10\ncount = 16\nrate = 160\nzipf = 1\n"
                              "shuffle = true\ncost_spread_pct = 50\n",
                              "a.toml");
  ASSERT_TRUE(again && twice);
  for (std::size_t i = 0; i < 16; ++i) {
    EXPECT_EQ(again->irqs[i].interrupts_per_s, twice->irqs[i].interrupts_per_s);
    EXPECT_EQ(again->irqs[i].cost_ns, twice->irqs[i].cost_ns);
  }
  EXPECT_NE(again->irqs[0].interrupts_per_s, 160 / 3.380729) << "shuffled: queue 0 is not always the hottest";
  // Errors name the group and key; overlaps with [[irq]] are refused.
  auto bad = parse_scenario("topology = \"core:2 pu:1\"\n[[queues]]\nfirst = 1\ncount = 2\nrate = 1\nname = \"q\"\n", "b.toml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "b.toml: queues[0].name: must contain {} (the queue index)");
  auto twice_declared = parse_scenario(
      "topology = \"core:2 pu:1\"\n[[irq]]\nnumber = 11\nrate = 1\n[[queues]]\nfirst = 10\ncount = 2\nrate = 1\n", "c.toml");
  ASSERT_FALSE(twice_declared);
  EXPECT_EQ(twice_declared.error().message, "c.toml: queues[0]: IRQ 11 is declared twice");
}

TEST(Scenario, ErrorsNameTheFileAndKey) {
  const auto err = [](std::string_view text) {
    auto s = parse_scenario(text, "bad.toml");
    return s ? std::string("(parsed)") : s.error().message;
  };
  EXPECT_EQ(err("ticks = 3\n"),
            "bad.toml: topology: required (hwloc synthetic string, e.g. \"pack:1 l3:1 core:4 pu:2\"), or capture");
  EXPECT_EQ(err("topology = \"core:2 pu:1\"\n[[irq]]\nnumber = 5\nrate = \"x\"\n"), "bad.toml: irq[0].rate: expected a number");
  EXPECT_EQ(err("topology = \"core:2 pu:1\"\n[[irq]]\nnumber = 5\nrate = 1\nclass = \"nic\"\n"),
            "bad.toml: irq[0].class: unknown IRQ class \"nic\"");
  EXPECT_EQ(err("topology = \"core:2 pu:1\"\n[[irq]]\nnumber = 5\nrate = 1\ncpu = 9\n"),
            "bad.toml: irq[0].affinity: CPUs 9 are not in the topology (0-1)");
  EXPECT_EQ(err("topology = \"core:2 pu:1\"\nrates = 1\n"), "bad.toml: rates: unknown key");
  EXPECT_EQ(err("topology = \"core:2 pu:1\"\n[[event]]\nat = 0\nkind = \"burst\"\nirq = 4\n"),
            "bad.toml: event[0].irq: IRQ 4 is not declared in [[irq]]");
  EXPECT_EQ(err("topology = \"core:2 pu:1\"\n[policy]\nnuma = \"loose\"\n"),
            "bad.toml: policy.numa: expected \"strict\" or \"prefer\", found \"loose\"");
  const std::string syntax = err("topology = \n");
  EXPECT_EQ(syntax.rfind("bad.toml:1:", 0), 0U) << syntax;
  auto missing = load_scenario("/nonexistent/x.toml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/x.toml"), std::string::npos);
}

TEST(Scenario, EveryScenarioFileLoads) {
  int n = 0;
  // The test scenarios and the benchmark's (tests/bench/scenarios).
  for (const auto& dir : {scenarios_dir(), scenarios_dir().parent_path().parent_path() / "bench" / "scenarios"}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".toml") continue;
      auto s = load_scenario(entry.path());
      EXPECT_TRUE(s) << s.error().message;
      ++n;
    }
  }
  EXPECT_GE(n, 15);
}

}  // namespace
}  // namespace irqbpfd::sim

namespace irqbpfd::sim {
namespace {

// A scenario on a real machine's topology: the capture's NUMA nodes and
// CPUs (16amd64-8n2c: 8 nodes x 2 CPUs) become the fake machine's, and the
// balancer keeps a node-2 device's queues on node 2's CPUs.
TEST(Scenario, CaptureTopologyDrivesTheSimulator) {
  const std::filesystem::path machines = irqbpfd::testing::machines_dir();
  if (machines.empty()) GTEST_SKIP() << "no machine captures (../shared/machines/hwloc-linux beside the clone)";
  const irqbpfd::testing::FakeRoot holder;
  const std::filesystem::path capture = holder.unpack_capture(machines / "16amd64-8n2c.tar.bz2");
  const std::string text = "capture = \"" + capture.filename().string() + "\"\nticks = 4\n" + R"(
[[queues]]
first = 100
count = 4
class = "10gbit-ethernet"
node = 2
rate = 40000
zipf = 0.5
cost_ns = 3000
)";
  auto s = parse_scenario(text, "capture.toml", capture.parent_path().string());
  ASSERT_TRUE(s) << s.error().message;
  auto m = scenario_machine(*s);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->cpus.count(), 16U);
  EXPECT_EQ(m->nodes.size(), 8U);
  const core::CpuSet node2 = m->node(2)->cpus;
  auto r = run_simulation(*s, SimOptions{});
  ASSERT_TRUE(r) << r.error().message;
  for (const auto& [irq, cpu] : r->ticks.back().placement) {
    ASSERT_TRUE(cpu);
    EXPECT_TRUE(node2.contains(*cpu)) << "irq " << raw(irq) << " on cpu " << raw(*cpu);
  }
  EXPECT_EQ(r->ticks.back().writes, 0U);
  auto both = parse_scenario("capture = \"x\"\ntopology = \"core:2\"\n", "b.toml");
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().message, "b.toml: capture: give either topology or capture, not both");
}

}  // namespace
}  // namespace irqbpfd::sim
