// Closed-loop scenarios through the real read path and balancer: convergence
// to the lower bound, quiet after convergence (also under noise), no
// flapping, isolated/banned/offline CPUs respected, IRQs that appear placed,
// and measured loads against irqbalance-style estimates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "irqbpfd/sim/simulator.hpp"
#include "sim_test_util.hpp"

namespace irqbpfd::sim {
namespace {

using core::cpu_id;
using core::CpuSet;
using core::irq_number;
using core::raw;

// Runs are deterministic: each (scenario, collector) runs once per binary.
const SimResult& run(const std::string& name, const std::string& collector = "replay") {
  static std::map<std::pair<std::string, std::string>, SimResult> cache;
  const auto key = std::make_pair(name, collector);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const Scenario s = load_or_fail(name);
  SimOptions o;
  o.collector = collector;
  auto r = run_simulation(s, o);
  if (!r) ADD_FAILURE() << name << ": " << r.error().message;
  return cache[key] = r ? *r : SimResult{};
}

// The phase settled within `cycles` cycles, at most `slack` above the lower
// bound, with no write and no IRQ moving after that, and nothing flapped.
void expect_settled(const SimResult& r, std::size_t phase, std::uint32_t cycles, double slack = 0.03) {
  ASSERT_LT(phase, r.phases.size()) << r.scenario;
  const PhaseResult& p = r.phases[phase];
  SCOPED_TRACE(r.scenario + "/" + r.collector + " phase " + std::to_string(phase) + " (ticks " +
               std::to_string(p.start) + "-" + std::to_string(p.end - 1) + ")");
  ASSERT_TRUE(p.converged_at.has_value()) << format_table(r, true);
  EXPECT_LE(*p.converged_at - p.start, cycles) << format_table(r, true);
  EXPECT_LE(p.final_max, p.lower_bound * (1.0 + slack) + 1e-9) << format_table(r);
  for (std::uint32_t t = *p.converged_at; t < p.end; ++t) {
    EXPECT_EQ(r.ticks[t].writes, 0U) << "tick " << t;
    EXPECT_EQ(r.ticks[t].placement, r.ticks[p.end - 1].placement) << "tick " << t;
  }
  EXPECT_TRUE(p.flapped.empty()) << format_table(r, true);
}

std::optional<core::CpuId> final_cpu(const SimResult& r, std::uint32_t irq) {
  for (const auto& [i, cpu] : r.ticks.back().placement) {
    if (i == irq_number(irq)) return cpu;
  }
  return std::nullopt;
}

TEST(SimConvergence, SkewedNicReachesTheBoundInOneCycle) {
  const SimResult& r = run("skewed-nic");
  ASSERT_EQ(r.ticks.size(), 12U);
  // It starts badly: everything on CPU 0, five times the bound.
  EXPECT_GT(r.ticks[0].max_load, 5 * r.ticks[0].lower_bound);
  EXPECT_EQ(r.ticks[0].hottest, cpu_id(0));
  ASSERT_EQ(r.phases.size(), 1U);
  expect_settled(r, 0, 2);
  EXPECT_EQ(r.total_writes, r.ticks[0].writes);  // one plan, then quiet
  EXPECT_GT(r.max_plan_us, 0.0);
}

TEST(SimConvergence, SkewedNicWithEstimatesConvergesToo) {
  // Once each IRQ has a CPU to itself, the /proc estimate is exact, so the
  // estimate path gets there as well (one cycle later at most).
  const SimResult& r = run("skewed-nic", "proc");
  EXPECT_EQ(r.collector, "proc");
  expect_settled(r, 0, 3);
}

TEST(SimConvergence, NoiseAloneMovesNothing) {
  const SimResult& r = run("noisy");
  ASSERT_EQ(r.ticks.size(), 20U);
  expect_settled(r, 0, 2, 0.10);
  // +-10% noise on every IRQ each tick: after the first placement, no write
  // at all.
  for (std::size_t t = 1; t < r.ticks.size(); ++t) EXPECT_EQ(r.ticks[t].writes, 0U) << "tick " << t;
}

TEST(SimConvergence, NoiseWithEstimatesMovesOnceAtMost) {
  // The estimate's first placement leaves two IRQs sharing a CPU a little
  // above the bound; the gain sits near the 10% threshold, so one noisy
  // tick may tip it over and the pair is separated once (a real
  // improvement, not a flap). Nothing moves back and forth.
  const SimResult& r = run("noisy", "proc");
  std::uint32_t later = 0;
  for (std::size_t t = 1; t < r.ticks.size(); ++t) later += r.ticks[t].writes;
  EXPECT_LE(later, 3U) << format_table(r, true);
  EXPECT_TRUE(r.phases[0].flapped.empty());
  ASSERT_TRUE(r.phases[0].converged_at);
  EXPECT_LE(r.phases[0].final_max, r.phases[0].lower_bound * 1.10);
}

TEST(SimConvergence, NoScenarioFlaps) {
  for (const char* name : {"skewed-nic", "cpu-offline", "irq-appears", "burst", "hot-queue", "isolated", "noisy",
                           "numa", "mixed-levels", "cost-varies"}) {
    const SimResult& r = run(name);
    for (const PhaseResult& p : r.phases) {
      EXPECT_TRUE(p.flapped.empty()) << name << " ticks " << p.start << "-" << p.end - 1 << "\n" << format_table(r, true);
    }
    // Across the whole run too: no IRQ returns to a mask it was moved off
    // unless an event happened in between (judged per phase above); and no
    // write is ever refused (the balancer leaves managed IRQs alone).
    for (const TickRecord& t : r.ticks) EXPECT_EQ(t.refused_writes, 0U) << name << " tick " << t.tick;
  }
}

TEST(SimConvergence, IsolatedAndBannedCpusNeverGetIrqs) {
  const SimResult& r = run("isolated");
  const CpuSet forbidden = CpuSet::parse_list("11-15").value();
  // Tick 0 is the machine as found: IRQs on 11-15. After the first plan,
  // none of the movable ones is there.
  EXPECT_GT(r.ticks[0].forbidden_load, 0.0);
  for (std::size_t t = 1; t < r.ticks.size(); ++t) EXPECT_EQ(r.ticks[t].forbidden_load, 0.0) << "tick " << t;
  for (const TickRecord& t : r.ticks) {
    for (const SimMove& m : t.moves) {
      EXPECT_FALSE(m.to.intersects(forbidden)) << "irq " << raw(m.irq) << " to " << m.to.to_list();
      EXPECT_NE(m.irq, irq_number(50)) << "the kernel-managed queue was written";
    }
  }
  // The managed NVMe queue stays where the kernel put it.
  EXPECT_EQ(final_cpu(r, 50), cpu_id(14));
  expect_settled(r, 0, 2);
}

TEST(SimConvergence, CpuOfflineIsHandled) {
  const SimResult& r = run("cpu-offline");
  ASSERT_EQ(r.phases.size(), 3U);  // before, offline, back online
  expect_settled(r, 0, 2);
  expect_settled(r, 1, 2);
  expect_settled(r, 2, 2);
  for (const TickRecord& t : r.ticks) EXPECT_EQ(t.writes_to_offline, 0U) << "tick " << t.tick;
  for (std::uint32_t t = 6; t < 12; ++t) {
    EXPECT_FALSE(r.ticks[t].online.contains(cpu_id(3)));
    EXPECT_EQ(r.ticks[t].cpu_load[3], 0.0) << "tick " << t;
    for (const auto& [irq, cpu] : r.ticks[t].placement) EXPECT_NE(cpu, cpu_id(3)) << "irq " << raw(irq);
  }
  // The kernel moved what ran on CPU 3 (the tick-6 note says so) to the CPU
  // with the fewest vectors; the balancer keeps the phase at the bound
  // (expect_settled above) and never names the offline CPU.
  const auto& notes = r.ticks[6].notes;
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) { return n.find("broken") != std::string::npos; }));
  // Back online, CPU 3 is used again.
  EXPECT_GT(r.ticks.back().cpu_load[3], 0.0);
}

TEST(SimConvergence, IrqsThatAppearArePlaced) {
  const SimResult& r = run("irq-appears");
  ASSERT_EQ(r.phases.size(), 2U);
  expect_settled(r, 0, 2);
  // Eight new queues land on CPUs 0-1 (the mask their driver asked for) ...
  for (std::size_t k = 0; k < r.ticks[6].placement.size(); ++k) {
    const auto& [irq, cpu] = r.ticks[6].placement[k];
    if (raw(irq) < 60) continue;
    ASSERT_TRUE(cpu);
    EXPECT_LE(raw(*cpu), 1U) << "irq " << raw(irq);
  }
  EXPECT_GE(r.ticks[6].max_load, 1.5 * r.ticks[6].lower_bound - 1e-9);
  // ... and get spread within two cycles.
  expect_settled(r, 1, 2);
  std::set<std::uint32_t> cpus;
  for (std::uint32_t irq = 60; irq < 68; ++irq) {
    auto c = final_cpu(r, irq);
    ASSERT_TRUE(c) << irq;
    cpus.insert(raw(*c));
  }
  EXPECT_GE(cpus.size(), 6U);
}

TEST(SimConvergence, HotQueueGetsRoomAndBurstsSettle) {
  const SimResult& hot = run("hot-queue");
  ASSERT_EQ(hot.phases.size(), 2U);
  expect_settled(hot, 0, 2);
  expect_settled(hot, 1, 2);
  // The hot queue ends alone on its CPU.
  const auto hot_cpu = final_cpu(hot, 44);
  ASSERT_TRUE(hot_cpu);
  for (const auto& [irq, cpu] : hot.ticks.back().placement) {
    if (irq != irq_number(44)) {
      EXPECT_NE(cpu, hot_cpu) << "irq " << raw(irq) << " shares the hot queue's CPU";
    }
  }

  const SimResult& burst = run("burst");
  ASSERT_EQ(burst.phases.size(), 3U);  // before, the two burst ticks, after
  expect_settled(burst, 0, 2);
  expect_settled(burst, 2, 2);
  EXPECT_TRUE(burst.phases[1].flapped.empty());
}

TEST(SimConvergence, NumaStrictKeepsQueuesOnTheirNode) {
  const SimResult& r = run("numa");
  expect_settled(r, 0, 2);
  for (std::uint32_t irq = 40; irq < 48; ++irq) {
    auto c = final_cpu(r, irq);
    ASSERT_TRUE(c);
    EXPECT_GE(raw(*c), 16U) << "NIC queue " << irq << " left node 1";
  }
  for (std::uint32_t irq = 50; irq < 54; ++irq) {
    auto c = final_cpu(r, irq);
    ASSERT_TRUE(c);
    EXPECT_LT(raw(*c), 16U) << "NVMe queue " << irq << " left node 0";
  }
}

// The product's point. Six chatty IRQs (1% each) and six expensive ones (4%
// each) on 4 CPUs: the best placement has a max of 8% (two CPUs carry two
// expensive ones). Measured loads get there in one cycle and stay. The
// /proc estimate splits each CPU's time by interrupt counts, so an expensive
// IRQ sharing a CPU with chatty ones looks cheap: the balancer, fed that,
// moves the chatty ones first, leaves the expensive ones piled up for
// cycles, and needs several rounds of guesses (and more writes) to get there.
TEST(SimConvergence, MeasuredLoadsBeatEstimatesWhenCostPerInterruptVaries) {
  const SimResult& measured = run("cost-varies", "replay");
  expect_settled(measured, 0, 2, 0.07);  // bound 7.5% is not reachable: 8% is optimal
  EXPECT_NEAR(measured.phases[0].final_max, 0.08, 1e-3);
  EXPECT_EQ(measured.total_writes, measured.ticks[0].writes);

  const SimResult& estimated = run("cost-varies", "proc");
  // After the first plan, the estimate-fed balancer runs well above 8% on
  // average, writes far more, and moves IRQs back and forth.
  double mean_max = 0;
  for (std::size_t t = 1; t < estimated.ticks.size(); ++t) mean_max += estimated.ticks[t].max_load;
  mean_max /= static_cast<double>(estimated.ticks.size() - 1);
  EXPECT_GT(mean_max, measured.phases[0].final_max * 1.3) << format_table(estimated, true);
  ASSERT_TRUE(measured.converged_at);
  if (estimated.converged_at) {
    EXPECT_GE(*estimated.converged_at, *measured.converged_at + 3);
  }
  EXPECT_GT(estimated.total_writes, 2 * measured.total_writes);
  EXPECT_TRUE(measured.phases[0].flapped.empty());
  EXPECT_FALSE(estimated.phases[0].flapped.empty());
}

// mixed-levels: legacy IRQs (cache level) and an unknown class (package
// level) next to NIC queues. The parts that hold today: it settles at once,
// writes nothing more, flaps nothing.
TEST(SimConvergence, MixedLevelsSettle) {
  const SimResult& r = run("mixed-levels");
  ASSERT_TRUE(r.phases[0].converged_at);
  EXPECT_LE(*r.phases[0].converged_at, 2U);
  EXPECT_TRUE(r.phases[0].flapped.empty());
}

// The balancer knows that on x86 a cache- or package-wide mask lands on one
// CPU (the vector allocator's pick, which keeps a CPU still in the mask), so
// it spreads the legacy IRQs over distinct CPUs of the other cache and moves
// the hot queue off the CPU the package-level IRQs keep: the bound, at once.
TEST(SimConvergence, MixedLevelsReachTheBound) {
  const SimResult& r = run("mixed-levels");
  expect_settled(r, 0, 2);
}

TEST(SimCommand, PrintsTableAndJson) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  SimOptions o;
  ASSERT_EQ(run_simulate_command((scenarios_dir() / "skewed-nic.toml").string(), o, out), 0);
  o.json = true;
  o.collector = "proc";
  ASSERT_EQ(run_simulate_command((scenarios_dir() / "skewed-nic.toml").string(), o, out), 0);
  std::rewind(out);
  std::string text;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, out)) text.append(buf, n);
  std::fclose(out);
  EXPECT_NE(text.find("scenario skewed-nic: 8 CPUs"), std::string::npos) << text;
  EXPECT_NE(text.find("ticks 0-11: converged at tick 1 (1 cycles); max 12.0% vs bound 12.0%"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\"collector\": \"proc\""), std::string::npos);
  // With the estimate the first plan falls short of the bound here and is
  // put right a cycle later (measured: converged at 1).
  EXPECT_NE(text.find("\"converged_at\": 2"), std::string::npos) << text;

  std::FILE* sink = std::tmpfile();
  EXPECT_EQ(run_simulate_command("/nonexistent/none.toml", SimOptions{}, sink), 1);
  SimOptions bad;
  bad.collector = "bpf";
  EXPECT_EQ(run_simulate_command((scenarios_dir() / "skewed-nic.toml").string(), bad, sink), 1);
  std::fclose(sink);
}

}  // namespace
}  // namespace irqbpfd::sim
