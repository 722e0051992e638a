// Tests of the one tick: MachineView re-reads only what changed (rows,
// online CPUs, a request, a vanished IRQ), refreshes affinities every N
// cycles, takes writes into account; run_tick applies the rules' levels and
// policy and writes through the writer it is given. On the vm2 capture.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "fake_root.hpp"
#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/apply/kernel_files.hpp"
#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/tick/tick.hpp"
#include "irqbpfd/topology/flat.hpp"

namespace irqbpfd::tick {
namespace {

using core::irq_number;
using ::testing::Optional;

const core::IrqDesc* find(const sys::IrqInventory& inv, std::uint32_t irq) {
  for (const core::IrqDesc& d : inv.irqs) {
    if (d.irq == irq_number(irq)) return &d;
  }
  return nullptr;
}

class TickViewTest : public ::testing::Test {
 protected:
  void SetUp() override { root_.copy_fixture("vm2"); }

  MachineView view(std::uint32_t refresh_every) {
    return MachineView(sys::SysRoot(root_.path()), [this](const sys::SysRoot&) {
      ++topology_loads_;
      return core::Result<topology::Machine>(topology::flat_machine(core::CpuSet::parse_list("0-1").value(), "test"));
    }, refresh_every);
  }
  collect::RawSample read() {
    auto r = collector_.read();
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return std::move(*r);
  }
  // /proc/interrupts without the row of `irq`.
  void drop_row(std::uint32_t irq) {
    const auto file = root_.path() / "proc/interrupts";
    std::ifstream in(file);
    std::ostringstream out;
    std::string line;
    const std::string prefix = std::to_string(irq) + ":";
    while (std::getline(in, line)) {
      const auto start = line.find_first_not_of(' ');
      if (start != std::string::npos && line.compare(start, prefix.size(), prefix) == 0) continue;
      out << line << "\n";
    }
    in.close();
    root_.write("/proc/interrupts", out.str(), 0444);
  }

  testing::FakeRoot root_;
  core::ManualClock clock_;
  collect::ProcCollector collector_{sys::SysRoot(root_.path()), clock_};
  int topology_loads_ = 0;
};

TEST_F(TickViewTest, ReadsEverythingOnceThenNothingWhileTheMachineStaysTheSame) {
  MachineView v = view(100);
  const collect::RawSample s = read();
  auto first = v.update(s);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_THAT(*first, Optional(std::string("start")));
  ASSERT_NE(find(v.inventory(), 26), nullptr);
  for (int i = 0; i < 5; ++i) {
    auto again = v.update(read());
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*again, std::nullopt) << "cycle " << i;
  }
  EXPECT_EQ(v.rescans(), 1U);
  EXPECT_EQ(topology_loads_, 1);
}

TEST_F(TickViewTest, AMaskWrittenBehindItsBackIsSeenAtTheNextRefreshOnly) {
  MachineView v = view(3);
  ASSERT_TRUE(v.update(read()));
  const core::CpuSet before = find(v.inventory(), 26)->smp_affinity.value();
  const core::CpuSet cpu0 = core::CpuSet::parse_list("0").value();
  const core::CpuSet cpu1 = core::CpuSet::parse_list("1").value();
  const core::CpuSet other = before == cpu0 ? cpu1 : cpu0;
  root_.write("/proc/irq/26/smp_affinity", other == cpu0 ? "1\n" : "2\n");
  ASSERT_TRUE(v.update(read()));
  ASSERT_TRUE(v.update(read()));
  EXPECT_EQ(find(v.inventory(), 26)->smp_affinity, before) << "re-read before the refresh";
  auto third = v.update(read());
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(*third, std::nullopt) << "a refresh is not a rescan";
  EXPECT_EQ(find(v.inventory(), 26)->smp_affinity, other);
  EXPECT_EQ(v.rescans(), 1U);
}

TEST_F(TickViewTest, RescansWhenRowsChangeAndReloadsTopologyOnlyWhenCpusDo) {
  MachineView v = view(100);
  ASSERT_TRUE(v.update(read()));
  drop_row(26);
  root_.remove("/proc/irq/26");
  auto gone = v.update(read());
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_THAT(*gone, Optional(std::string("IRQs appeared or vanished")));
  EXPECT_EQ(find(v.inventory(), 26), nullptr);
  EXPECT_EQ(topology_loads_, 1) << "same CPUs: the topology is kept";

  root_.write("/sys/devices/system/cpu/online", "0\n");
  auto offline = v.update(read());
  ASSERT_TRUE(offline) << offline.error().message;
  EXPECT_THAT(*offline, Optional(std::string("CPUs went on or off line")));
  EXPECT_EQ(topology_loads_, 2);
  EXPECT_EQ(v.rescans(), 3U);
}

TEST_F(TickViewTest, ARequestOrAVanishedWriteRescansNextTime) {
  MachineView v = view(100);
  ASSERT_TRUE(v.update(read()));
  v.request_rescan("reloaded");
  EXPECT_THAT(v.update(read()).value(), Optional(std::string("reloaded")));
  apply::WriteResult vanished;
  vanished.irq = irq_number(26);
  vanished.outcome = apply::Outcome::kVanished;
  v.written(vanished);
  EXPECT_THAT(v.update(read()).value(), Optional(std::string("an IRQ vanished before its write")));
  EXPECT_EQ(v.update(read()).value(), std::nullopt);
}

TEST_F(TickViewTest, AWriteUpdatesTheInventoryAndMarksManagedIrqs) {
  MachineView v = view(100);
  ASSERT_TRUE(v.update(read()));
  apply::WriteResult done;
  done.irq = irq_number(26);
  done.outcome = apply::Outcome::kDone;
  done.smp_affinity = core::CpuSet::parse_list("1").value();
  done.effective_affinity = core::CpuSet::parse_list("1").value();
  v.written(done);
  EXPECT_EQ(find(v.inventory(), 26)->effective_affinity, *done.effective_affinity);
  apply::WriteResult managed;
  managed.irq = irq_number(28);
  managed.outcome = apply::Outcome::kManaged;
  v.written(managed);
  EXPECT_TRUE(find(v.inventory(), 28)->managed);
}

TEST_F(TickViewTest, RunTickAppliesTheRulesAndWritesThroughTheWriter) {
  MachineView v = view(100);
  const collect::RawSample before = read();
  clock_.sleep_ns(1'000'000'000);
  const collect::RawSample after = read();
  TickInput in;
  in.collector = "proc";
  in.before = &before;
  in.after = &after;
  int rules_calls = 0;
  in.rules = [&](const sys::IrqInventory& inv) {
    ++rules_calls;
    EXPECT_NE(find(inv, 26), nullptr) << "rules see this cycle's inventory";
    Rules r;
    for (const core::IrqDesc& d : inv.irqs) r.policy.banned_irqs.insert(d.irq);
    r.policy.banned_irqs.erase(irq_number(26));
    r.policy.pinned[irq_number(26)] = core::CpuSet::parse_list("1").value();
    r.levels[irq_number(26)] = core::BalanceLevel::kNone;
    return r;
  };
  apply::SysRootFiles files(sys::SysRoot(root_.path()));
  apply::DryRunWriter writer(files, 2);
  auto out = run_tick(v, in, balance::State{}, &writer);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(rules_calls, 1);
  EXPECT_THAT(out->rescanned, Optional(std::string("start")));
  for (const auto& is : out->snapshot.irqs) {
    if (is.desc.irq == irq_number(26)) {
      EXPECT_EQ(is.desc.level, core::BalanceLevel::kNone);
    }
  }
  // Everything else is banned: the one move is 26's pin (the capture has it
  // on CPUs 0-1), and it went through the writer.
  ASSERT_EQ(out->planned.plan.moves.size(), 1U) << out->planned.plan.summary;
  EXPECT_EQ(out->planned.plan.moves[0].irq, irq_number(26));
  EXPECT_EQ(out->planned.plan.moves[0].to, core::CpuSet::parse_list("1").value());
  ASSERT_EQ(out->applied.results.size(), 1U);
  EXPECT_EQ(out->applied.results[0].result.outcome, apply::Outcome::kDryRun);
  EXPECT_EQ(writer.planned().size(), 1U);

  // Without a writer nothing is applied.
  auto planned_only = run_tick(v, in, balance::State{}, nullptr);
  ASSERT_TRUE(planned_only) << planned_only.error().message;
  EXPECT_TRUE(planned_only->applied.results.empty());
}

}  // namespace
}  // namespace irqbpfd::tick
