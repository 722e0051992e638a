// The replay of the BPF programs' softirq charging rule (first raiser of a
// vector since its last run owns the run): a lone raiser keeps its time,
// raisers that never overlap keep theirs, and where one's softirq runs are
// long, the other's interrupts during them take part of its time; the fake
// machine's replay reading charges that way while the oracle does not.
#include <gtest/gtest.h>

#include <map>
#include <numeric>

#include "irqbpfd/sim/fake_machine.hpp"
#include "irqbpfd/sim/replay_collector.hpp"
#include "irqbpfd/sim/scenario.hpp"
#include "irqbpfd/sim/softirq_charge.hpp"

namespace irqbpfd::sim {
namespace {

void expect_rows_sum_to_one(const std::vector<std::vector<double>>& shares) {
  for (const auto& row : shares) EXPECT_NEAR(std::accumulate(row.begin(), row.end(), 0.0), 1.0, 1e-9);
}

TEST(FirstRaiserShares, ALoneRaiserKeepsItsTime) {
  const auto shares = first_raiser_shares({{10000, 1000, 5000}}, 1);
  ASSERT_EQ(shares.size(), 1U);
  EXPECT_DOUBLE_EQ(shares[0][0], 1.0);
}

TEST(FirstRaiserShares, RaisersThatNeverOverlapKeepTheirTime) {
  // 1000 interrupts/s each with 1 us of softirq work: a run is over long
  // before the next interrupt (1 ms apart on average), almost always.
  const auto shares = first_raiser_shares({{1000, 500, 1000}, {1000, 500, 1000}}, 7);
  expect_rows_sum_to_one(shares);
  EXPECT_GT(shares[0][0], 0.99);
  EXPECT_GT(shares[1][1], 0.99);
}

TEST(FirstRaiserShares, LongRunsAreChargedToWhoRaisedDuringThem) {
  // Queue 0's runs take 200 us; queue 1 interrupts every 20 us on average
  // with 1 us of work. Queue 1 raises during almost every run of queue 0,
  // so the run after it, with queue 0's next work if any arrived, is queue
  // 1's: a large part of queue 0's time is charged to queue 1.
  const std::vector<Raiser> in = {{2000, 1000, 200'000}, {50'000, 500, 1000}};
  const auto shares = first_raiser_shares(in, 3);
  expect_rows_sum_to_one(shares);
  EXPECT_GT(shares[0][1], 0.2) << "queue 0's time charged to queue 1";
  EXPECT_EQ(first_raiser_shares(in, 3), shares) << "the same seed gives the same shares";
}

constexpr const char* kShared = R"(
topology = "pack:1 core:2 pu:1"
tick_s = 1
[[irq]]
number = 40
name = "eth0-0"
class = "ethernet"
rate = 2000
cost_ns = 250000
softirq_pct = 80
cpu = 0
[[irq]]
number = 41
name = "eth0-1"
class = "ethernet"
rate = 50000
cost_ns = 2000
softirq_pct = 50
cpu = 0
)";

TEST(FakeMachine, ReplayChargesSoftirqToTheFirstRaiserAndTheOracleDoesNot) {
  auto s = parse_scenario(kShared, "shared.toml");
  ASSERT_TRUE(s) << s.error().message;
  auto fm = FakeMachine::create(*s);
  ASSERT_TRUE(fm) << fm.error().message;
  FakeMachine& m = **fm;
  ASSERT_TRUE(m.step());
  std::map<std::uint32_t, std::uint64_t> programs, oracle;
  for (const auto& c : m.exact_reading(SoftirqCharge::kFirstRaiser).cells) programs[core::raw(c.irq)] += c.softirq_ns;
  for (const auto& c : m.exact_reading(SoftirqCharge::kOracle).cells) oracle[core::raw(c.irq)] += c.softirq_ns;
  EXPECT_EQ(oracle[40], 2000U * 250'000U * 8 / 10);
  EXPECT_EQ(oracle[41], 50000U * 2000U / 2);
  EXPECT_EQ(programs[40] + programs[41], oracle[40] + oracle[41]) << "no time is lost or made";
  EXPECT_GT(programs[41], oracle[41] + oracle[40] / 10) << "eth0-1 is charged part of eth0-0's runs";
  ReplayCollector replay(sys::SysRoot(m.root()), m.clock(), m);
  ReplayCollector exact(sys::SysRoot(m.root()), m.clock(), m, SoftirqCharge::kOracle);
  EXPECT_EQ(replay.name(), "replay");
  EXPECT_EQ(exact.name(), "oracle");
}

}  // namespace
}  // namespace irqbpfd::sim
