// Tests of the one tick: MachineView re-reads only what changed (rows,
// online CPUs, a request, a vanished IRQ), sweeps affinities a slice per
// cycle, re-reads at once an IRQ counted outside its mask, takes writes
// into account; run_tick applies the rules' levels and
// policy and writes through the writer it is given. On the vm2 capture.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

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
  // Sets the counter of `irq` on column `column` of /proc/interrupts.
  void set_count(std::uint32_t irq, std::size_t column, std::uint64_t value) {
    const auto file = root_.path() / "proc/interrupts";
    std::ifstream in(file);
    std::ostringstream out;
    std::string line;
    const std::string prefix = std::to_string(irq) + ":";
    while (std::getline(in, line)) {
      const auto start = line.find_first_not_of(' ');
      if (start != std::string::npos && line.compare(start, prefix.size(), prefix) == 0) {
        std::istringstream fields(line.substr(start + prefix.size()));
        std::vector<std::string> counts(2);
        fields >> counts[0] >> counts[1];
        std::string tail;
        std::getline(fields, tail);
        counts[column] = std::to_string(value);
        line = fmt::format("{:>3}: {:>10} {:>10}{}", irq, counts[0], counts[1], tail);
      }
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

TEST_F(TickViewTest, TheSweepReadsASliceEachCycleAndEveryMaskWithinRefreshEvery) {
  MachineView v = view(3);
  ASSERT_TRUE(v.update(read()));
  const std::size_t n = v.inventory().irqs.size();
  ASSERT_GT(n, 6U) << "the capture has a few dozen IRQs";
  const std::size_t slice = (n + 2) / 3;
  EXPECT_EQ(v.swept(), 0U) << "the start read every mask";

  // A mask written behind the view's back, on the IRQ the sweep reaches last.
  const core::IrqDesc& last = v.inventory().irqs.back();
  const core::IrqNumber irq = last.irq;
  const std::optional<core::CpuSet> before = last.smp_affinity;
  const core::CpuSet cpu0 = core::CpuSet::parse_list("0").value();
  const core::CpuSet cpu1 = core::CpuSet::parse_list("1").value();
  const core::CpuSet other = before == cpu0 ? cpu1 : cpu0;
  root_.write(fmt::format("/proc/irq/{}/smp_affinity", core::raw(irq)), other == cpu0 ? "1\n" : "2\n");
  for (std::size_t cycle = 1; cycle <= 2; ++cycle) {
    auto r = v.update(read());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, std::nullopt) << "a sweep is not a rescan";
    EXPECT_EQ(v.swept(), cycle * slice) << "one slice per cycle, not every IRQ";
    EXPECT_EQ(find(v.inventory(), core::raw(irq))->smp_affinity, before) << "not reached yet, cycle " << cycle;
  }
  ASSERT_TRUE(v.update(read()));
  EXPECT_EQ(find(v.inventory(), core::raw(irq))->smp_affinity, other) << "reached within 3 cycles";
  EXPECT_EQ(v.rescans(), 1U);
  EXPECT_EQ(v.reread_count(), 0U);
}

TEST_F(TickViewTest, AnIrqCountedOutsideItsMaskIsRereadInTheTickThatCountedIt) {
  MachineView v = view(1000);  // the sweep would take 1000 cycles to reach it
  const collect::RawSample before = read();
  ASSERT_TRUE(v.update(before));
  ASSERT_EQ(find(v.inventory(), 26)->effective_affinity, core::CpuSet::parse_list("1").value());

  // Someone moves 26 to CPU 0 and it fires there; 31 fires where it was.
  root_.write("/proc/irq/26/smp_affinity", "1\n");
  root_.write("/proc/irq/26/effective_affinity", "1\n");
  set_count(26, 0, 9);
  set_count(31, 1, 800);
  clock_.sleep_ns(1'000'000'000);
  const collect::RawSample after = read();
  TickInput in;
  in.collector = "proc";
  in.before = &before;
  in.after = &after;
  in.rules = [](const sys::IrqInventory&) { return Rules{}; };
  auto out = run_tick(v, in, balance::State{}, nullptr);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(v.reread_count(), 1U) << "26 only: 31 ran inside its mask";
  const core::CpuSet cpu0 = core::CpuSet::parse_list("0").value();
  EXPECT_EQ(find(v.inventory(), 26)->smp_affinity, cpu0);
  EXPECT_EQ(find(v.inventory(), 26)->effective_affinity, cpu0);
  bool seen = false;
  for (const auto& is : out->snapshot.irqs) {
    if (is.desc->irq != irq_number(26)) continue;
    seen = true;
    EXPECT_EQ(is.desc->effective_affinity, cpu0) << "the plan starts from where it runs now";
  }
  EXPECT_TRUE(seen);
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

// The shared copies a snapshot holds: the same pointer while an IRQ's masks
// stay as they were (a sweep that read the same masks copies nothing), a new
// copy when a sweep, a re-read or a write changes them, and a copy already
// handed out (as to a published snapshot) never changes under its holder.
TEST_F(TickViewTest, SharedCopiesAreReplacedWhenMasksChangeAndNeverEdited) {
  MachineView v = view(1);  // every mask swept every cycle
  ASSERT_TRUE(v.update(read()));
  const auto& shared = v.shared_descs();
  ASSERT_EQ(shared.size(), v.inventory().irqs.size());
  for (std::size_t k = 0; k < shared.size(); ++k) {
    ASSERT_NE(shared[k], nullptr);
    EXPECT_EQ(shared[k]->irq, v.inventory().irqs[k].irq) << "same order as the inventory";
    EXPECT_EQ(shared[k]->smp_affinity, v.inventory().irqs[k].smp_affinity);
  }
  const std::vector<std::shared_ptr<const core::IrqDesc>> held = shared;  // as a snapshot holds them

  ASSERT_TRUE(v.update(read()));
  EXPECT_GT(v.swept(), 0U);
  for (std::size_t k = 0; k < held.size(); ++k) {
    EXPECT_EQ(v.shared_descs()[k].get(), held[k].get()) << "masks unchanged: no new copy of irq "
                                                        << core::raw(held[k]->irq);
  }

  // A mask written behind the view's back: the sweep replaces that IRQ's copy.
  const std::size_t k = held.size() - 1;
  const core::IrqNumber irq = held[k]->irq;
  const std::optional<core::CpuSet> was = held[k]->smp_affinity;
  const core::CpuSet cpu0 = core::CpuSet::parse_list("0").value();
  const core::CpuSet cpu1 = core::CpuSet::parse_list("1").value();
  const core::CpuSet other = was == cpu0 ? cpu1 : cpu0;
  root_.write(fmt::format("/proc/irq/{}/smp_affinity", core::raw(irq)), other == cpu0 ? "1\n" : "2\n");
  ASSERT_TRUE(v.update(read()));
  EXPECT_NE(v.shared_descs()[k].get(), held[k].get());
  EXPECT_EQ(v.shared_descs()[k]->smp_affinity, other);
  EXPECT_EQ(held[k]->smp_affinity, was) << "the copy a snapshot holds keeps what it was built with";

  // A write the view is told of, and a re-read, hand out the new copy too.
  apply::WriteResult done;
  done.irq = irq;
  done.outcome = apply::Outcome::kDone;
  done.smp_affinity = was;
  done.effective_affinity = was;
  const auto before_write = v.shared_descs()[k];
  v.written(done);
  EXPECT_NE(v.shared_descs()[k].get(), before_write.get());
  EXPECT_EQ(v.shared_descs()[k]->smp_affinity, was);
  EXPECT_EQ(before_write->smp_affinity, other);
  root_.write(fmt::format("/proc/irq/{}/smp_affinity", core::raw(irq)), other == cpu0 ? "1\n" : "2\n");
  auto now = v.reread(irq);
  ASSERT_TRUE(now) << now.error().message;
  ASSERT_NE(*now, nullptr);
  EXPECT_EQ(now->get(), v.shared_descs()[k].get());
  EXPECT_EQ((*now)->smp_affinity, other);
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
    if (is.desc->irq == irq_number(26)) {
      EXPECT_EQ(is.desc->level, core::BalanceLevel::kNone);
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
