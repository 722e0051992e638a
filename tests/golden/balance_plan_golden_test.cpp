// Golden plans: what balance::plan() decides on the first cycle of
// simulator scenarios (the snapshot the real read path builds from the fake
// root at tick 0), move by move with reasons, plus what it holds and why.
// The snapshots are deterministic (fake clock, exact counters), so any
// change in placement shows as a diff. IRQBPFD_UPDATE_GOLDEN=1 rewrites.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <optional>
#include <string>

#include "golden.hpp"
#include "irqbpfd/balance/balancer.hpp"
#include "irqbpfd/sim/scenario.hpp"
#include "irqbpfd/sim/simulator.hpp"

namespace irqbpfd::balance {
namespace {

std::string first_plan(const std::string& scenario_name, const std::string& collector) {
  auto s = sim::load_scenario(std::filesystem::path(IRQBPFD_FIXTURES_DIR) / ".." / "sim" / "scenarios" /
                              (scenario_name + ".toml"));
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  if (!s) return "";
  std::optional<model::Snapshot> first;
  sim::SimOptions o;
  o.collector = collector;
  o.ticks = 1;
  o.on_snapshot = [&](std::uint32_t, const model::Snapshot& snap, const State&) { first = snap; };
  auto r = sim::run_simulation(*s, o);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  EXPECT_TRUE(first.has_value());
  if (!r || !first) return "";
  const PlanResult p = plan(*first, State{}, s->policy);
  std::string out = fmt::format("scenario {} ({} collector), first plan: {}\n", scenario_name, collector, p.plan.summary);
  for (const Move& m : p.plan.moves) {
    out += fmt::format("move irq {}: {} -> {}: {}\n", core::raw(m.irq), m.from.to_list(), m.to.to_list(), m.reason);
  }
  for (const Hold& h : p.plan.held) out += fmt::format("hold irq {}: {}\n", core::raw(h.irq), h.reason);
  for (const auto& [cpu, ns] : p.plan.load_after) {
    out += fmt::format("cpu {}: {:.2f}% -> {:.2f}%\n", core::raw(cpu), p.plan.load_before.at(cpu) / 1e7, ns / 1e7);
  }
  return out;
}

TEST(PlanGolden, SkewedNicMeasured) { testing::expect_golden("plan-skewed-nic.txt", first_plan("skewed-nic", "replay")); }
TEST(PlanGolden, SkewedNicEstimated) {
  testing::expect_golden("plan-skewed-nic-proc.txt", first_plan("skewed-nic", "proc"));
}
TEST(PlanGolden, MixedLevels) { testing::expect_golden("plan-mixed-levels.txt", first_plan("mixed-levels", "replay")); }
TEST(PlanGolden, NumaStrict) { testing::expect_golden("plan-numa.txt", first_plan("numa", "replay")); }
TEST(PlanGolden, IsolatedAndBanned) { testing::expect_golden("plan-isolated.txt", first_plan("isolated", "replay")); }

}  // namespace
}  // namespace irqbpfd::balance
