// The daemon's cycle on a fake machine that the simulator drives tick by
// tick: it balances through the real proc collector and affinity writer,
// stops writing once balanced, rescans when CPUs go offline or IRQs appear
// without a load-blind move, honours a new configuration, dry-runs without
// writing, and restores the masks it found.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/apply/kernel_files.hpp"
#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/daemon/daemon.hpp"
#include "irqbpfd/sim/fake_machine.hpp"
#include "irqbpfd/sim/scenario.hpp"

namespace irqbpfd::daemon {
namespace {

namespace fs = std::filesystem;
using core::CpuSet;
using core::raw;

fs::path scenario_file(const std::string& name) {
  return fs::path(IRQBPFD_FIXTURES_DIR).parent_path() / "sim" / "scenarios" / (name + ".toml");
}

// A fake machine plus a daemon on its root, stepped together.
class Rig {
 public:
  explicit Rig(const std::string& scenario, DaemonConfig config = {}, balance::Policy policy = {}) {
    auto s = sim::load_scenario(scenario_file(scenario));
    if (!s) throw std::runtime_error(s.error().message);
    scenario_ = *s;
    if (policy.banned_cpus.empty()) policy.banned_cpus = scenario_.policy.banned_cpus;
    auto fm = sim::FakeMachine::create(scenario_);
    if (!fm) throw std::runtime_error(fm.error().message);
    machine_ = std::move(*fm);
    log_ = std::make_unique<Logger>(LogLevel::kDebug, Logger::Target::kStderr, false, log_file_);
    const sys::SysRoot root(machine_->root());
    files_ = std::make_unique<apply::SysRootFiles>(root);
    const std::uint32_t width = machine_->nr_cpu_ids();
    writer_ = config.dry_run
                  ? std::unique_ptr<apply::AffinityWriter>(std::make_unique<apply::DryRunWriter>(*files_, width))
                  : std::unique_ptr<apply::AffinityWriter>(std::make_unique<apply::ProcAffinityWriter>(*files_, width));
    config.collector = "proc";
    DaemonDeps deps;
    deps.root = root;
    deps.clock = &machine_->clock();
    deps.writer = writer_.get();
    deps.files = files_.get();
    deps.log = log_.get();
    deps.notifier = &notifier_;
    deps.open_collector = [this](const std::string& kind, const sys::SysRoot& r, const core::Clock& clock,
                                 std::uint32_t every) -> core::Result<collect::OpenedCollector> {
      opened_.emplace_back(kind, every);
      if (fail_opens_) return core::Error{"BPF refused (test)"};
      return collect::open_collector(kind, r, clock, every);
    };
    daemon_ = std::make_unique<Daemon>(config, policy, deps);
  }
  ~Rig() {
    if (log_file_ != nullptr) std::fclose(log_file_);
  }

  sim::FakeMachine& machine() { return *machine_; }
  Daemon& daemon() { return *daemon_; }
  const sim::Scenario& scenario() const { return scenario_; }
  // (collector, hardirq_sample_every) of every collector the daemon opened.
  const std::vector<std::pair<std::string, std::uint32_t>>& opened() const { return opened_; }
  void fail_opens(bool fail) { fail_opens_ = fail; }
  // One tick of the machine, then one daemon cycle.
  CycleOutcome tick(sim::TickFacts* facts = nullptr) {
    auto f = machine_->step();
    EXPECT_TRUE(f) << (f ? "" : f.error().message);
    if (facts != nullptr && f) *facts = *f;
    auto o = daemon_->cycle();
    EXPECT_TRUE(o) << (o ? "" : o.error().message);
    return o ? *o : CycleOutcome{};
  }
  std::string log_text() {
    std::fflush(log_file_);
    std::rewind(log_file_);
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, log_file_)) out.append(buf, n);
    return out;
  }

 private:
  sim::Scenario scenario_;
  std::unique_ptr<sim::FakeMachine> machine_;
  std::FILE* log_file_ = std::tmpfile();
  std::unique_ptr<Logger> log_;
  std::unique_ptr<apply::SysRootFiles> files_;
  std::unique_ptr<apply::AffinityWriter> writer_;
  NullNotifier notifier_;
  std::vector<std::pair<std::string, std::uint32_t>> opened_;
  bool fail_opens_ = false;
  std::unique_ptr<Daemon> daemon_;
};

double max_load(const sim::TickFacts& f, double tick_s) {
  double m = 0;
  for (const auto& [c, ns] : f.cpu_load_ns) m = std::max(m, static_cast<double>(ns) / (tick_s * 1e9));
  return m;
}

TEST(DaemonLoop, BalancesTheFakeMachineThenWritesNothing) {
  Rig rig("skewed-nic");
  ASSERT_TRUE(rig.daemon().start());
  sim::TickFacts facts;
  const CycleOutcome first = rig.tick(&facts);
  EXPECT_TRUE(first.planned);
  EXPECT_GT(first.moves, 0U);
  EXPECT_GT(max_load(facts, rig.scenario().tick_s), 0.5);  // all on CPU 0 before the first plan
  std::size_t later = 0;
  for (int t = 0; t < 6; ++t) later += rig.tick(&facts).moves;
  EXPECT_LE(later, 1U) << rig.log_text();
  EXPECT_NEAR(max_load(facts, rig.scenario().tick_s), 0.12, 0.02);  // the scenario's bound
  auto st = rig.daemon().status();
  ASSERT_TRUE(st && st->snapshot);
  EXPECT_EQ(st->collector, "proc");
  EXPECT_EQ(st->state, "balanced");
  EXPECT_THAT(rig.log_text(), ::testing::HasSubstr("balanced: hottest CPU at"));
}

TEST(DaemonLoop, CpuOfflineRescansAndNeverNamesTheOfflineCpu) {
  Rig rig("cpu-offline");
  ASSERT_TRUE(rig.daemon().start());
  for (int t = 0; t < 6; ++t) rig.tick();
  const CycleOutcome at_offline = rig.tick();  // tick 6: CPU 3 goes offline
  EXPECT_TRUE(at_offline.rescanned);
  EXPECT_TRUE(at_offline.planned) << "a rescan still plans from the measured window";
  for (int t = 7; t < 12; ++t) {
    rig.tick();
    auto st = rig.daemon().status();
    ASSERT_TRUE(st);
    for (const auto& m : st->plan.moves) EXPECT_FALSE(m.to.contains(core::cpu_id(3))) << "irq " << raw(m.irq);
  }
  EXPECT_THAT(rig.log_text(), ::testing::HasSubstr("rescan (CPUs went on or off line)"));
  const CycleOutcome back = rig.tick();  // tick 12: CPU 3 back
  EXPECT_TRUE(back.rescanned);
}

TEST(DaemonLoop, IrqsThatAppearAreRescannedAndPlaced) {
  Rig rig("irq-appears");
  ASSERT_TRUE(rig.daemon().start());
  for (int t = 0; t < 6; ++t) rig.tick();
  const CycleOutcome appeared = rig.tick();  // tick 6: eth1's queues appear
  EXPECT_TRUE(appeared.rescanned);
  EXPECT_TRUE(appeared.planned);
  EXPECT_GT(appeared.moves, 0U) << rig.log_text();
  for (int t = 7; t < 12; ++t) rig.tick();
  auto st = rig.daemon().status();
  ASSERT_TRUE(st && st->snapshot);
  EXPECT_EQ(st->snapshot->irqs.size(), 16U);
  EXPECT_THAT(rig.log_text(), ::testing::HasSubstr("rescan (IRQs appeared or vanished)"));
}

TEST(DaemonLoop, HistoryKeepsEachCpusInterruptsSinceBoot) {
  // Each point adds the window to the last one; with no IRQ gone and no
  // counter wrapped, that is /proc/interrupts' column sum at every point.
  Rig rig("skewed-nic");
  ASSERT_TRUE(rig.daemon().start());
  for (int t = 0; t < 4; ++t) {
    rig.tick();
    auto st = rig.daemon().status();
    ASSERT_TRUE(st && st->reading && !st->history.empty());
    const HistoryPoint& p = *st->history.back();
    const auto& pi = st->reading->interrupts;
    ASSERT_EQ(p.cpu_interrupts.size(), pi.cpus.size());
    for (std::size_t i = 0; i < pi.cpus.size(); ++i) {
      std::uint64_t sum = 0;
      for (const auto& row : pi.rows) sum += i < row.counts.size() ? row.counts[i] : 0;
      EXPECT_EQ(p.cpu_interrupts[i], sum) << "tick " << t << ", CPU " << raw(pi.cpus[i]);
    }
  }
  EXPECT_GT(rig.daemon().status()->history.back()->cpu_interrupts.at(0), 0U);
}

TEST(DaemonLoop, DryRunPlansButWritesNothing) {
  DaemonConfig c;
  c.dry_run = true;
  Rig rig("skewed-nic", c);
  ASSERT_TRUE(rig.daemon().start());
  const auto before = rig.machine().affinity(core::irq_number(40));
  const CycleOutcome o = rig.tick();
  EXPECT_GT(o.moves, 0U);
  for (int t = 0; t < 3; ++t) EXPECT_GT(rig.tick().moves, 0U) << "the same moves stay proposed";
  EXPECT_EQ(rig.machine().affinity(core::irq_number(40)), before);
  EXPECT_THAT(rig.log_text(), ::testing::HasSubstr("dry run, would write:"));
}

TEST(DaemonLoop, ReconfigureAppliesNewRulesWithARescan) {
  Rig rig("skewed-nic");
  ASSERT_TRUE(rig.daemon().start());
  for (int t = 0; t < 4; ++t) rig.tick();
  DaemonConfig c = rig.daemon().config();
  Rule pin;
  pin.irq = core::irq_number(40);
  pin.pin = CpuSet{7};
  pin.where = "rule[0]";
  c.rules.push_back(pin);
  rig.daemon().reconfigure(c, balance::Policy{});
  const CycleOutcome o = rig.tick();
  EXPECT_TRUE(o.rescanned);
  rig.tick();
  EXPECT_EQ(rig.machine().affinity(core::irq_number(40)), std::optional<CpuSet>(CpuSet{7}));
}

TEST(DaemonLoop, ReconfiguredSampleRateReopensTheCollectorOnce) {
  Rig rig("skewed-nic");
  ASSERT_TRUE(rig.daemon().start());
  rig.tick();
  using Opened = std::vector<std::pair<std::string, std::uint32_t>>;
  EXPECT_EQ(rig.opened(), (Opened{{"proc", 1}}));
  DaemonConfig c = rig.daemon().config();
  rig.daemon().reconfigure(c, balance::Policy{});  // nothing the collector depends on changed
  rig.tick();
  EXPECT_EQ(rig.opened().size(), 1U);
  c.hardirq_sample_every = 8;
  rig.daemon().reconfigure(c, balance::Policy{});
  rig.tick();
  rig.tick();
  EXPECT_EQ(rig.opened(), (Opened{{"proc", 1}, {"proc", 8}}));
}

TEST(DaemonLoop, ACollectorThatCannotBeReopenedLeavesTheOldOneRunning) {
  Rig rig("skewed-nic");
  ASSERT_TRUE(rig.daemon().start());
  rig.tick();
  const std::uint64_t cycles = rig.daemon().status()->cycle;
  DaemonConfig c = rig.daemon().config();
  c.hardirq_sample_every = 4;
  rig.fail_opens(true);
  rig.daemon().reconfigure(c, balance::Policy{});
  ASSERT_TRUE(rig.machine().step());
  auto failed = rig.daemon().cycle();
  ASSERT_FALSE(failed.has_value());
  EXPECT_THAT(failed.error().message, ::testing::HasSubstr("reopening the collector (still proc)"));
  rig.fail_opens(false);
  // The old collector goes on (tick() expects each cycle to succeed), and
  // the reopen is not retried every cycle.
  for (int t = 0; t < 3; ++t) rig.tick();
  EXPECT_EQ(rig.opened().size(), 2U);
  EXPECT_EQ(rig.daemon().status()->cycle, cycles + 3);
  EXPECT_EQ(rig.daemon().status()->collector, "proc");
}

TEST(DaemonLoop, RestoreWritesBackTheMasksFoundAtStart) {
  DaemonConfig c;
  c.restore_on_exit = true;
  Rig rig("skewed-nic", c);
  std::map<std::uint32_t, std::optional<CpuSet>> at_start;
  for (const auto& i : rig.scenario().irqs) at_start[raw(i.irq)] = rig.machine().affinity(i.irq);
  ASSERT_TRUE(rig.daemon().start());
  for (int t = 0; t < 3; ++t) rig.tick();
  EXPECT_NE(rig.machine().affinity(core::irq_number(40)), at_start[40]);
  auto r = rig.daemon().restore();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GT(r->first, 0U);
  EXPECT_EQ(r->second, 0U);
  ASSERT_TRUE(rig.machine().step());  // the fake kernel picks the writes up
  for (const auto& i : rig.scenario().irqs) {
    EXPECT_EQ(rig.machine().affinity(i.irq), at_start[raw(i.irq)]) << "irq " << raw(i.irq);
  }
}

}  // namespace
}  // namespace irqbpfd::daemon
