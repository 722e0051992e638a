// build_snapshot: deltas by CPU id, hotplug, vanished/appeared/re-created
// IRQs, the irqbalance-style load estimate, and the seed verdict.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "irqbpfd/daemon/measure.hpp"
#include "irqbpfd/model/snapshot.hpp"
#include "irqbpfd/sys/proc_interrupts.hpp"
#include "irqbpfd/topology/flat.hpp"

namespace irqbpfd::model {
namespace {

using core::cpu_id;
using core::irq_number;
using core::raw;

collect::RawSample reading(std::string_view interrupts, std::int64_t at_ns, std::string_view stat = "") {
  collect::RawSample s;
  auto parsed = sys::parse_proc_interrupts(interrupts, "test");
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  if (parsed) s.interrupts = *parsed;
  s.monotonic_ns = at_ns;
  if (!stat.empty()) {
    auto st = sys::parse_proc_stat(stat, "test");
    EXPECT_TRUE(st.has_value()) << (st ? "" : st.error().message);
    if (st) s.stat = *st;
  }
  return s;
}

struct Window {
  sys::IrqInventory inventory;
  sys::CpuState cpus;
  topology::Machine machine;
  Snapshot snap;
};

Window window(const collect::RawSample* before, const collect::RawSample& after, core::CpuSet online) {
  Window w;
  w.inventory = daemon::inventory_from_rows(after.interrupts);
  w.cpus.online = online;
  w.cpus.present = online;
  w.machine = topology::flat_machine(online, "test");
  WindowInput in;
  in.collector = "proc";
  in.before = before;
  in.after = &after;
  in.inventory = &w.inventory;
  in.cpu_state = &w.cpus;
  in.machine = &w.machine;
  auto r = build_snapshot(in);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  if (r) w.snap = *r;
  return w;
}

// The count of `irq` on `cpu`, from per_cpu or, for a column CPU it leaves
// out, its idle cell.
std::uint64_t count_on(const Snapshot& snap, const IrqSnapshot& irq, std::uint32_t cpu) {
  std::optional<std::uint64_t> found;
  irq.for_each_column(snap.column_cpus(), [&](const IrqCpuCount& pc) {
    if (pc.cpu == cpu_id(cpu)) found = pc.count;
  });
  if (!found) ADD_FAILURE() << "no column for CPU" << cpu;
  return found.value_or(0);
}

TEST(BuildSnapshot, DeltasPerCpuAndWindowLength) {
  const auto a = reading(
      "      CPU0 CPU1\n"
      " 24:   100  200  IO-APIC 5-edge  a\n"
      " 25:    10   10  IO-APIC 6-edge  b\n"
      "LOC:  1000 1000  Local timer interrupts\n",
      1'000'000'000);
  const auto b = reading(
      "      CPU0 CPU1\n"
      " 24:   160  200  IO-APIC 5-edge  a\n"
      " 25:    10   50  IO-APIC 6-edge  b\n"
      "LOC:  1500 1250  Local timer interrupts\n",
      3'500'000'000);
  const Window w = window(&a, b, core::CpuSet{0, 1});
  EXPECT_DOUBLE_EQ(w.snap.window_s, 2.5);
  EXPECT_FALSE(w.snap.cumulative);
  const IrqSnapshot* i24 = w.snap.find(irq_number(24));
  ASSERT_NE(i24, nullptr);
  EXPECT_EQ(i24->count, 60U);
  EXPECT_EQ(count_on(w.snap, *i24, 0), 60U);
  EXPECT_DOUBLE_EQ(i24->per_cpu[0].share_pct, 100.0);
  EXPECT_EQ(w.snap.find(cpu_id(0))->interrupts, 60U);
  EXPECT_EQ(w.snap.find(cpu_id(1))->interrupts, 40U);
  EXPECT_EQ(w.snap.find(cpu_id(0))->system_interrupts, 500U);
  EXPECT_EQ(w.snap.find(cpu_id(1))->system_interrupts, 250U);
  EXPECT_FALSE(i24->load_ns.has_value());  // no /proc/stat: no estimate
}

TEST(BuildSnapshot, MatchesColumnsByCpuIdWhenACpuGoesOffline) {
  // CPU1 goes offline between the readings: the second header has no CPU1
  // column, and CPU2's counts must still be compared with CPU2's.
  const auto a = reading(
      "      CPU0 CPU1 CPU2\n"
      " 30:    10   20   30  IR-PCI-MSI 1-edge  q\n",
      0);
  const auto b = reading(
      "      CPU0 CPU2\n"
      " 30:    15   37  IR-PCI-MSI 1-edge  q\n",
      1'000'000'000);
  const Window w = window(&a, b, core::CpuSet{0, 2});
  const IrqSnapshot* q = w.snap.find(irq_number(30));
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(q->per_cpu.size(), 2U);
  EXPECT_EQ(count_on(w.snap, *q, 0), 5U);
  EXPECT_EQ(count_on(w.snap, *q, 2), 7U);
  EXPECT_EQ(q->count, 12U);
}

TEST(BuildSnapshot, CpuComingOnlineHasNoBaselineAndCountsZero) {
  const auto a = reading("      CPU0\n 30:    10  IR-PCI-MSI 1-edge  q\n", 0);
  const auto b = reading("      CPU0 CPU1\n 30:    12  9999  IR-PCI-MSI 1-edge  q\n", 1'000'000'000);
  const Window w = window(&a, b, core::CpuSet{0, 1});
  const IrqSnapshot* q = w.snap.find(irq_number(30));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(count_on(w.snap, *q, 0), 2U);
  EXPECT_EQ(count_on(w.snap, *q, 1), 0U);
}

TEST(BuildSnapshot, VanishedAppearedAndRecreatedIrqs) {
  const auto a = reading(
      "      CPU0 CPU1\n"
      " 40:   500  500  IR-PCI-MSI 1-edge  old\n"
      " 41:   100  100  IR-PCI-MSI 2-edge  gone\n",
      0);
  const auto b = reading(
      "      CPU0 CPU1\n"
      " 40:     3    4  IR-PCI-MSI 1-edge  recreated\n"
      " 42:     8    0  IR-PCI-MSI 3-edge  new\n",
      1'000'000'000);
  const Window w = window(&a, b, core::CpuSet{0, 1});
  ASSERT_EQ(w.snap.irqs.size(), 2U);
  const IrqSnapshot* i40 = w.snap.find(irq_number(40));
  ASSERT_NE(i40, nullptr);
  EXPECT_TRUE(i40->counter_reset);
  EXPECT_EQ(i40->count, 7U);  // counted from zero, never a wrapped huge delta
  const IrqSnapshot* i42 = w.snap.find(irq_number(42));
  ASSERT_NE(i42, nullptr);
  EXPECT_TRUE(i42->appeared);
  EXPECT_EQ(i42->count, 8U);
  EXPECT_EQ(w.snap.find(irq_number(41)), nullptr);
  ASSERT_EQ(w.snap.vanished.size(), 1U);
  EXPECT_EQ(w.snap.vanished[0], irq_number(41));
}

// 20 columns: two blocks of 8 the delta loop skips when nothing in them
// changed, and a tail of 4. A change inside a block, one in the tail, a
// counter that went back inside a block, an unchanged row; and the same
// rows with the columns in another order (the column-by-column path) give
// the same deltas.
TEST(BuildSnapshot, WideRowsGiveTheSameDeltasBlockwiseAsColumnByColumn) {
  const auto table = [](const std::vector<std::uint32_t>& order, const std::vector<std::vector<std::uint64_t>>& rows) {
    std::string text = "     ";
    for (std::uint32_t c : order) text += fmt::format(" {:>10}", fmt::format("CPU{}", c));
    text += "\n";
    for (std::size_t r = 0; r < rows.size(); ++r) {
      text += fmt::format("{:>4}:", 50 + r);
      for (std::uint32_t c : order) text += fmt::format(" {:>10}", rows[r][c]);
      text += fmt::format("  IR-PCI-MSI {}-edge  q{}\n", r, r);
    }
    return text;
  };
  std::vector<std::vector<std::uint64_t>> then(3, std::vector<std::uint64_t>(20, 0));
  for (std::size_t c = 0; c < 20; ++c) then[0][c] = then[1][c] = then[2][c] = 100 + c;
  auto now = then;
  now[0][3] += 5;   // inside the first block
  now[0][18] += 2;  // in the tail
  now[1][9] = 1;    // went back: the IRQ was re-created
  now[1][2] = 4;
  std::vector<std::uint32_t> straight(20), shuffled(20);
  for (std::uint32_t c = 0; c < 20; ++c) {
    straight[c] = c;
    shuffled[c] = (c * 7) % 20;
  }
  const core::CpuSet online = core::CpuSet::parse_list("0-19").value();
  for (const auto* after_order : {&straight, &shuffled}) {
    SCOPED_TRACE(after_order == &straight ? "same column order" : "columns reordered");
    const auto a = reading(table(straight, then), 0);
    const auto b = reading(table(*after_order, now), 1'000'000'000);
    const Window w = window(&a, b, online);
    ASSERT_EQ(w.snap.irqs.size(), 3U);
    const IrqSnapshot& moved = w.snap.irqs[0];
    EXPECT_FALSE(moved.counter_reset);
    EXPECT_EQ(moved.count, 7U);
    EXPECT_EQ(count_on(w.snap, moved, 3), 5U);
    EXPECT_EQ(count_on(w.snap, moved, 18), 2U);
    EXPECT_EQ(moved.per_cpu.size(), 2U);
    const IrqSnapshot& reset = w.snap.irqs[1];
    EXPECT_TRUE(reset.counter_reset);
    std::uint64_t total = 0;
    for (std::size_t c = 0; c < 20; ++c) total += now[1][c];
    EXPECT_EQ(reset.count, total) << "counted from zero: every column's count since it was re-created";
    EXPECT_EQ(count_on(w.snap, reset, 9), 1U);
    const IrqSnapshot& still = w.snap.irqs[2];
    EXPECT_EQ(still.count, 0U);
    EXPECT_TRUE(still.per_cpu.empty());
  }
}

TEST(BuildSnapshot, EstimatesLoadByCountShareOfCpuTime) {
  // CPU0: irq 2 + softirq 8 ticks = 10 ticks at USER_HZ 100 = 100 ms, split
  // 3:1 between IRQ 50 (30 interrupts) and IRQ 51 (10). CPU1: 5 ticks = 50 ms,
  // all to IRQ 51.
  const auto a = reading(
      "      CPU0 CPU1\n 50:  0 0  PCI-MSI 1-edge  x\n 51:  0 0  PCI-MSI 2-edge  y\n", 0,
      "cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\n");
  const auto b = reading(
      "      CPU0 CPU1\n 50: 30 0  PCI-MSI 1-edge  x\n 51: 10 7  PCI-MSI 2-edge  y\n", 1'000'000'000,
      "cpu  0 0 0 0 0 2 13 0 0 0\ncpu0 0 0 0 0 0 2 8 0 0 0\ncpu1 0 0 0 0 0 0 5 0 0 0\n");
  const Window w = window(&a, b, core::CpuSet{0, 1});
  const IrqSnapshot* x = w.snap.find(irq_number(50));
  const IrqSnapshot* y = w.snap.find(irq_number(51));
  ASSERT_TRUE(x && y);
  EXPECT_TRUE(x->load_estimated);
  EXPECT_EQ(x->load_ns, 75'000'000U);
  EXPECT_EQ(y->load_ns, 25'000'000U + 50'000'000U);
  EXPECT_EQ(w.snap.find(cpu_id(0))->irq_ns, 20'000'000U);
  EXPECT_EQ(w.snap.find(cpu_id(0))->softirq_ns, 80'000'000U);
}

TEST(BuildSnapshot, PerCpuKeepsOnlyCpusWithSomethingAndColumnsFillInTheRest) {
  // IRQ 50 ran on CPU0 only; CPU3 has no /proc/stat line, so no CPU time to
  // split: its entry (load unknown) differs from the idle cell and stays.
  const auto a = reading("      CPU0 CPU1 CPU2 CPU3\n 50:  0 0 0 0  PCI-MSI 1-edge  x\n 51:  0 0 0 0  PCI-MSI 2-edge  y\n", 0,
                         "cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\n"
                         "cpu2 0 0 0 0 0 0 0 0 0 0\n");
  const auto b = reading("      CPU0 CPU1 CPU2 CPU3\n 50: 30 0 0 0  PCI-MSI 1-edge  x\n 51:  0 0 0 0  PCI-MSI 2-edge  y\n",
                         1'000'000'000,
                         "cpu  0 0 0 0 0 2 0 0 0 0\ncpu0 0 0 0 0 0 2 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\n"
                         "cpu2 0 0 0 0 0 0 0 0 0 0\n");
  const Window w = window(&a, b, core::CpuSet{0, 1, 2, 3});
  EXPECT_EQ(w.snap.columns, (std::vector<core::CpuId>{cpu_id(0), cpu_id(1), cpu_id(2), cpu_id(3)}));
  const IrqSnapshot* x = w.snap.find(irq_number(50));
  const IrqSnapshot* y = w.snap.find(irq_number(51));
  ASSERT_TRUE(x && y);
  ASSERT_EQ(x->per_cpu.size(), 2U);
  EXPECT_EQ(x->per_cpu[0].cpu, cpu_id(0));
  EXPECT_EQ(x->per_cpu[0].load_ns, 20'000'000U);
  EXPECT_EQ(x->per_cpu[1].cpu, cpu_id(3));
  EXPECT_FALSE(x->per_cpu[1].load_ns.has_value());
  EXPECT_EQ(x->active, (std::vector<std::uint32_t>{0}));
  ASSERT_EQ(y->per_cpu.size(), 1U);  // only CPU3's unknown load
  std::vector<IrqCpuCount> all;
  x->for_each_column(w.snap.columns, [&](const IrqCpuCount& pc) { all.push_back(pc); });
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all[1].cpu, cpu_id(1));
  EXPECT_EQ(all[1].count, 0U);
  EXPECT_EQ(all[1].load_ns, 0U);  // the IRQ's load is known: 0 on an idle CPU
  EXPECT_FALSE(all[1].hardirq_ns.has_value());  // not measured at all
  EXPECT_EQ(all[2].load_ns, 0U);
  EXPECT_FALSE(all[3].load_ns.has_value());
}

TEST(BuildSnapshot, BpfCellsOnColumnsTheProcCountsLeftOutGetAnEntryInColumnOrder) {
  // IRQ 50: /proc says CPU0 and CPU1; BPF says CPU0, CPU2 (a column /proc
  // left idle), an all-zero CPU1 cell and CPU7 (not a column). CPU3 has no
  // /proc/stat line, so its estimate is unknown. IRQ 300 is beyond the maps.
  const char* kStatA = "cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\n"
                       "cpu2 0 0 0 0 0 0 0 0 0 0\n";
  const char* kStatB = "cpu  0 0 0 0 0 3 0 0 0 0\ncpu0 0 0 0 0 0 2 0 0 0 0\ncpu1 0 0 0 0 0 1 0 0 0 0\n"
                       "cpu2 0 0 0 0 0 0 0 0 0 0\n";
  auto a = reading("      CPU0 CPU1 CPU2 CPU3\n 50:  0 0 0 0  PCI-MSI 1-edge  x\n 51:  0 0 0 0  PCI-MSI 2-edge  y\n"
                   " 300:  0 0 0 0  PCI-MSI 3-edge  z\n",
                   0, kStatA);
  auto b = reading("      CPU0 CPU1 CPU2 CPU3\n 50: 30 10 0 0  PCI-MSI 1-edge  x\n 51:  0 0 0 0  PCI-MSI 2-edge  y\n"
                   " 300:  0 4 0 0  PCI-MSI 3-edge  z\n",
                   1'000'000'000, kStatB);
  a.bpf.emplace();
  a.bpf->sizing = {64, 8};
  b.bpf.emplace();
  b.bpf->sizing = {64, 8};
  b.bpf->cells = {{irq_number(50), cpu_id(0), 20, 1000, 2000},
                  {irq_number(50), cpu_id(1), 0, 0, 0},
                  {irq_number(50), cpu_id(2), 5, 100, 0},
                  {irq_number(50), cpu_id(7), 9, 10, 10}};
  sys::IrqInventory inv = daemon::inventory_from_rows(b.interrupts);
  sys::CpuState cpus;
  cpus.online = core::CpuSet{0, 1, 2, 3};
  cpus.present = cpus.online;
  const topology::Machine m = topology::flat_machine(cpus.online, "t");
  WindowInput in;
  in.collector = "bpf";
  in.before = &a;
  in.after = &b;
  in.inventory = &inv;
  in.cpu_state = &cpus;
  in.machine = &m;
  in.compare_estimate = true;
  auto r = build_snapshot(in);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const IrqSnapshot* x = r->find(irq_number(50));
  ASSERT_NE(x, nullptr);
  std::vector<std::uint32_t> listed;
  for (const auto& pc : x->per_cpu) listed.push_back(raw(pc.cpu));
  // CPU1: BPF saw nothing, but /proc's count left an estimate; CPU3: the
  // estimate is unknown where the IRQ's is known.
  EXPECT_EQ(listed, (std::vector<std::uint32_t>{0, 1, 2, 3}));
  ASSERT_EQ(x->per_cpu.size(), 4U);
  EXPECT_EQ(x->count, 25U);
  EXPECT_EQ(x->per_cpu[0].count, 20U);
  EXPECT_EQ(x->per_cpu[0].load_ns, 3000U);
  EXPECT_EQ(x->per_cpu[1].count, 0U);
  EXPECT_EQ(x->per_cpu[1].load_ns, 0U);
  EXPECT_GT(x->per_cpu[1].estimate_load_ns.value_or(0), 0U);
  EXPECT_EQ(x->per_cpu[2].count, 5U);
  EXPECT_DOUBLE_EQ(x->per_cpu[2].share_pct, 20.0);
  EXPECT_EQ(x->per_cpu[2].estimate_load_ns, 0U);
  EXPECT_EQ(x->per_cpu[3].count, 0U);
  EXPECT_FALSE(x->per_cpu[3].estimate_load_ns.has_value());
  EXPECT_EQ(x->active, (std::vector<std::uint32_t>{0, 2}));
  const IrqSnapshot* y = r->find(irq_number(51));
  ASSERT_NE(y, nullptr);
  ASSERT_EQ(y->per_cpu.size(), 1U);  // only CPU3's unknown estimate
  EXPECT_EQ(y->per_cpu[0].cpu, cpu_id(3));
  const IrqSnapshot* z = r->find(irq_number(300));
  ASSERT_NE(z, nullptr);
  EXPECT_TRUE(z->beyond_bpf_maps);
  listed.clear();
  for (const auto& pc : z->per_cpu) listed.push_back(raw(pc.cpu));
  EXPECT_EQ(listed, (std::vector<std::uint32_t>{1, 3}));
  EXPECT_EQ(z->count, 4U);
  EXPECT_EQ(r->find(cpu_id(1))->interrupts, 4U);  // IRQ 50's empty BPF cell + IRQ 300's /proc count
  EXPECT_EQ(r->find(cpu_id(2))->interrupts, 5U);
}

TEST(BuildSnapshot, CumulativeReadingUsesUptimeAsWindow) {
  auto a = reading("      CPU0 CPU1\n 60:  3 1  PCI-MSI 1-edge  z\n", 0);
  a.uptime_s = 1234.5;
  const Window w = window(nullptr, a, core::CpuSet{0, 1});
  EXPECT_TRUE(w.snap.cumulative);
  EXPECT_DOUBLE_EQ(w.snap.window_s, 1234.5);
  EXPECT_EQ(w.snap.find(irq_number(60))->count, 4U);
  EXPECT_DOUBLE_EQ(w.snap.find(irq_number(60))->per_cpu[0].share_pct, 75.0);
}

TEST(BuildSnapshot, RejectsReadingsOutOfOrder) {
  const auto a = reading("      CPU0\n 60:  3  PCI-MSI 1-edge  z\n", 5);
  const auto b = reading("      CPU0\n 60:  4  PCI-MSI 1-edge  z\n", 1);
  sys::IrqInventory inv = daemon::inventory_from_rows(b.interrupts);
  sys::CpuState cpus;
  cpus.online = core::CpuSet{0};
  const topology::Machine m = topology::flat_machine(cpus.online, "t");
  WindowInput in;
  in.collector = "proc";
  in.before = &a;
  in.after = &b;
  in.inventory = &inv;
  in.cpu_state = &cpus;
  in.machine = &m;
  auto r = build_snapshot(in);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("older"), std::string::npos);
}

IrqCpuCount share(std::uint32_t cpu, double pct) {
  IrqCpuCount pc;
  pc.cpu = cpu_id(cpu);
  pc.share_pct = pct;
  return pc;
}

IrqSnapshot shares(double cpu0, double cpu1) {
  IrqSnapshot s;
  s.per_cpu = {share(0, cpu0), share(1, cpu1)};
  return s;
}

TEST(SeedVerdict, BalancedWithinThresholdElseSmallestShare) {
  const core::CpuSet both{0, 1};
  EXPECT_TRUE(seed_verdict(shares(45.49, 54.51), both, 10).balanced);  // seed IRQ 140
  const Verdict v = seed_verdict(shares(43.91, 56.09), both, 10);      // seed IRQ 154
  EXPECT_FALSE(v.balanced);
  EXPECT_EQ(v.target, cpu_id(0));
  EXPECT_EQ(seed_verdict(shares(83.9, 16.1), both, 10).target, cpu_id(1));
  EXPECT_TRUE(seed_verdict(shares(83.9, 16.1), both, 70).balanced);
  // Ties go to the lowest CPU id; restricting CPUs narrows the comparison.
  EXPECT_EQ(seed_verdict(shares(0, 0), both, -1).target, cpu_id(0));
  EXPECT_TRUE(seed_verdict(shares(83.9, 16.1), core::CpuSet{1}, 10).balanced);
}

}  // namespace
}  // namespace irqbpfd::model
