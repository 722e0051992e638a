// The daemon's configuration: every key parsed, every bad value and unknown
// key an error naming the key, rules matched against IRQs, and the policy
// built from config plus irqbalance's environment variables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "irqbpfd/daemon/config.hpp"

namespace irqbpfd::daemon {
namespace {

using core::CpuSet;
using core::irq_number;

TEST(DaemonConfig, EveryKeyParses) {
  auto c = parse_config(R"(
interval = 2.5
collector = "proc"
hardirq_sample_every = 16
dry_run = true
restore_on_exit = true
log_level = "debug"
affinity_refresh_cycles = 3
numa = "prefer"
banned_cpus = "0,3"
ban_irq = [42, "eth9-*"]
ban_driver = ["mlx5_core"]
powerthresh = 2
min_gain_pct = 5
min_gain_floor_pct = 1.5
write_cost_pct = 0.01
cooldown_cycles = 1
max_moves_per_cycle = 8
[[rule]]
name = "eth0-TxRx-*"
pin = "2-3"
[[rule]]
class = "storage"
level = "cache"
numa = "strict"
[[rule]]
driver = "i915"
ban = true
)",
                        "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_DOUBLE_EQ(c->interval_s, 2.5);
  EXPECT_EQ(c->collector, "proc");
  EXPECT_EQ(c->hardirq_sample_every, 16U);
  EXPECT_TRUE(c->dry_run);
  EXPECT_TRUE(c->restore_on_exit);
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->affinity_refresh_cycles, 3U);
  EXPECT_EQ(c->numa, "prefer");
  EXPECT_EQ(c->ban_irq, (std::vector<std::string>{"42", "eth9-*"}));
  ASSERT_EQ(c->rules.size(), 3U);
  EXPECT_EQ(c->rules[0].pin, std::optional<CpuSet>(CpuSet({2, 3})));
  EXPECT_EQ(c->rules[1].level, std::optional<core::BalanceLevel>(core::BalanceLevel::kCache));
  EXPECT_TRUE(c->rules[2].ban);

  auto p = make_policy(*c, "10", "5-6");  // IRQBALANCE_BANNED_CPUS mask 0x10 = CPU 4
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->numa, balance::NumaPolicy::kPrefer);
  EXPECT_EQ(p->banned_cpus.to_list(), "0,3-6");
  EXPECT_EQ(p->banned_irqs.count(irq_number(42)), 1U);
  EXPECT_EQ(p->banned_names, (std::vector<std::string>{"eth9-*"}));
  EXPECT_EQ(p->banned_drivers, (std::vector<std::string>{"mlx5_core"}));
  EXPECT_EQ(p->power_threshold, std::optional<std::uint32_t>(2));
  EXPECT_DOUBLE_EQ(p->min_gain_pct, 5);
  EXPECT_DOUBLE_EQ(p->min_gain_floor_pct, 1.5);
  EXPECT_EQ(p->write_cost_ns, 100'000U);
  EXPECT_EQ(p->cooldown_cycles, 1U);
  EXPECT_EQ(p->max_moves_per_cycle, 8U);
}

TEST(DaemonConfig, EmptyTextIsAllDefaults) {
  auto c = parse_config("# nothing set\n", "empty.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_DOUBLE_EQ(c->interval_s, 10);
  EXPECT_EQ(c->collector, "auto");
  EXPECT_EQ(c->hardirq_sample_every, 1U);
  EXPECT_FALSE(c->dry_run);
  EXPECT_TRUE(c->rules.empty());
}

TEST(DaemonConfig, BadValuesAndUnknownKeysNameTheKey) {
  const auto err = [](std::string_view text) {
    auto c = parse_config(text, "bad.conf");
    return c ? std::string("(parsed)") : c.error().message;
  };
  EXPECT_EQ(err("intervall = 3\n"), "bad.conf: intervall: unknown key");
  EXPECT_EQ(err("interval = 0\n"), "bad.conf: interval: expected a number of seconds within (0, 86400]");
  EXPECT_EQ(err("interval = \"10\"\n"), "bad.conf: interval: expected a number");
  EXPECT_EQ(err("collector = \"ebpf\"\n"), "bad.conf: collector: expected \"auto\", \"bpf\" or \"proc\", found \"ebpf\"");
  EXPECT_EQ(err("hardirq_sample_every = 6\n"),
            "bad.conf: hardirq_sample_every: 6 is not a power of two from 1 (time every handler run) to 64");
  EXPECT_EQ(err("hardirq_sample_every = 0\n"),
            "bad.conf: hardirq_sample_every: 0 is not a power of two from 1 (time every handler run) to 64");
  EXPECT_EQ(err("numa = \"loose\"\n"), "bad.conf: numa: expected \"strict\" or \"prefer\", found \"loose\"");
  EXPECT_EQ(err("log_level = \"loud\"\n"),
            "bad.conf: log_level: expected debug, info, notice, warning or error, found \"loud\"");
  EXPECT_THAT(err("banned_cpus = \"3-\"\n"), ::testing::StartsWith("bad.conf: banned_cpus: "));
  EXPECT_EQ(err("max_moves_per_cycle = 0\n"), "bad.conf: max_moves_per_cycle: must be at least 1");
  EXPECT_EQ(err("cooldown_cycles = -1\n"), "bad.conf: cooldown_cycles: -1 is out of range");
  EXPECT_EQ(err("min_gain_floor_pct = 120\n"), "bad.conf: min_gain_floor_pct: must be within 0..100");
  EXPECT_EQ(err("write_cost_pct = -0.5\n"), "bad.conf: write_cost_pct: must be within 0..100");
  EXPECT_EQ(err("[[rule]]\nname = \"x\"\nlevel = \"socket\"\n"),
            "bad.conf: rule[0].level: expected none, package, cache or core, found \"socket\"");
  EXPECT_EQ(err("[[rule]]\nban = true\n"), "bad.conf: rule[0].: matches nothing: give irq, name, driver or class");
  EXPECT_EQ(err("[[rule]]\nirq = 5\n"), "bad.conf: rule[0].: does nothing: give ban, pin, level or numa");
  EXPECT_EQ(err("[[rule]]\nirq = 5\npin = \"1\"\nping = 2\n"), "bad.conf: rule[0].ping: unknown key");
  EXPECT_EQ(err("[[rule]]\nirq = 5\nclass = \"nic\"\nban = true\n"), "bad.conf: rule[0].class: unknown IRQ class \"nic\"");
  const std::string syntax = err("interval = = 3\n");
  EXPECT_EQ(syntax.rfind("bad.conf:1:", 0), 0U) << syntax;
}

TEST(DaemonConfig, MissingDefaultFileIsDefaultsButAGivenOneMustExist) {
  auto missing = load_config("/nonexistent/irqbpfd.conf", true);
  ASSERT_TRUE(missing);
  EXPECT_DOUBLE_EQ(missing->interval_s, 10);
  auto required = load_config("/nonexistent/irqbpfd.conf", false);
  ASSERT_FALSE(required);
  EXPECT_THAT(required.error().message, ::testing::HasSubstr("/nonexistent/irqbpfd.conf"));
  const auto file = std::filesystem::temp_directory_path() / "irqbpfd-config-test.conf";
  std::ofstream(file) << "interval = 1\nbogus = 2\n";
  auto bad = load_config(file, true);
  std::filesystem::remove(file);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, file.string() + ": bogus: unknown key");
}

TEST(DaemonConfig, RulesMatchByNumberNameDriverAndClassFirstRuleWins) {
  auto c = parse_config(R"(
[[rule]]
irq = 40
pin = "1"
[[rule]]
name = "eth0-*"
driver = "ixgbe"
pin = "2"
numa = "prefer"
[[rule]]
class = "storage"
ban = true
[[rule]]
name = "*"
level = "package"
)",
                        "r.conf");
  ASSERT_TRUE(c) << c.error().message;
  std::vector<core::IrqDesc> irqs(4);
  irqs[0].irq = irq_number(40);
  irqs[0].name = "eth0-TxRx-0";
  irqs[0].driver = "ixgbe";
  irqs[1].irq = irq_number(41);
  irqs[1].name = "eth0-TxRx-1";
  irqs[1].driver = "ixgbe";
  irqs[2].irq = irq_number(50);
  irqs[2].name = "nvme0q1";
  irqs[2].irq_class = core::IrqClass::kStorage;
  irqs[3].irq = irq_number(60);
  irqs[3].name = "eth1-0";
  irqs[3].driver = "igb";
  balance::Policy p;
  const Resolved r = apply_rules(c->rules, irqs, p);
  EXPECT_EQ(p.pinned.at(irq_number(40)), CpuSet{1});  // the number rule came first
  EXPECT_EQ(p.pinned.at(irq_number(41)), CpuSet{2});
  EXPECT_EQ(p.pinned.count(irq_number(60)), 0U);      // driver igb: the name rule needs both
  EXPECT_EQ(p.numa_of.at(irq_number(40)), balance::NumaPolicy::kPrefer);
  EXPECT_EQ(p.banned_irqs.count(irq_number(50)), 1U);
  EXPECT_EQ(p.pinned.count(irq_number(50)), 0U);
  EXPECT_EQ(r.levels.size(), 4U);  // "*" matches all
  EXPECT_EQ(r.levels.at(irq_number(60)), core::BalanceLevel::kPackage);
}

}  // namespace
}  // namespace irqbpfd::daemon
