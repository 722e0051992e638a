// The irqbalance peer: Debian's irqbalance balancing a fake machine from a
// private mount namespace, one scan per tick. It must see only the fake
// files, its writes must reach the fake machine, the recorded loads must be
// the machine's own, and the host's real IRQ affinities must never change.
// Skips only when not root, when unshare(CLONE_NEWNS) is refused (EPERM) or
// when the binary is absent (scripts/fetch-irqbalance.sh; IRQBPFD_IRQBALANCE).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "irqbpfd/sim/fake_machine.hpp"
#include "irqbpfd/sim/irqbalance_peer.hpp"
#include "irqbpfd/sim/simulator.hpp"
#include "irqbpfd/sys/sys_root.hpp"
#include "run_command.hpp"
#include "sim_test_util.hpp"

namespace irqbpfd::sim {
namespace {

using core::CpuSet;
using core::irq_number;
using core::raw;

// Every real /proc/irq/N/smp_affinity, as text, by IRQ number.
std::map<std::string, std::string> host_affinities() {
  const sys::SysRoot live("/");
  std::map<std::string, std::string> out;
  auto dirs = live.list("/proc/irq");
  EXPECT_TRUE(dirs) << dirs.error().message;
  if (!dirs) return out;
  for (const std::string& d : *dirs) {
    if (d.empty() || !std::all_of(d.begin(), d.end(), [](unsigned char c) { return std::isdigit(c); })) continue;
    auto text = live.read_if_exists("/proc/irq/" + d + "/smp_affinity");
    if (text && *text) out[d] = **text;
  }
  return out;
}

// Skips unless the peer can run here; snapshots the host's affinities and
// checks them again when the test ends, whatever it did.
class IrqbalancePeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = irqbalance_unavailable(default_irqbalance_binary());
    if (!why.empty()) GTEST_SKIP() << why;
    host_before_ = host_affinities();
    ASSERT_FALSE(host_before_.empty());
  }
  void TearDown() override {
    if (host_before_.empty()) return;  // skipped
    EXPECT_EQ(host_affinities(), host_before_) << "the host's real IRQ affinities changed";
  }
  std::map<std::string, std::string> host_before_;
};

TEST(IrqbalancePolicy, MapsTheScenarioPolicyToItsFlags) {
  Scenario s;
  for (const auto& [n, name] : {std::pair{40U, "eth0-TxRx-0"}, {41U, "eth0-TxRx-1"}, {50U, "nvme0q1"}}) {
    SimIrq irq;
    irq.irq = irq_number(n);
    irq.name = name;
    s.irqs.push_back(irq);
  }
  s.policy.banned_irqs = {irq_number(7)};
  s.policy.banned_names = {"eth0-*-1"};
  s.policy.banned_drivers = {"ixgbe"};
  s.policy.power_threshold = 3;
  s.isolated = CpuSet{12, 13};
  s.policy.banned_cpus = CpuSet{2};
  const IrqbalanceConfig c = irqbalance_policy(s);
  EXPECT_EQ(c.args, (std::vector<std::string>{"--banirq=7", "--banirq=41", "--banmod=ixgbe", "--powerthresh=3"}));
  // The variable replaces irqbalance's isolated + nohz_full default.
  ASSERT_TRUE(c.banned_cpus);
  EXPECT_EQ(c.banned_cpus->to_list(), "2,12-13");
  // Without banned CPUs it reads isolated and nohz_full itself.
  s.policy.banned_cpus = CpuSet{};
  EXPECT_FALSE(irqbalance_policy(s).banned_cpus);
  EXPECT_TRUE(c.levels.empty());
  // A level the scenario imposes reaches irqbalance too (a policy script).
  s.irqs[2].level = core::BalanceLevel::kCore;
  EXPECT_EQ(irqbalance_policy(s).levels, (std::map<std::uint32_t, core::BalanceLevel>{{50U, core::BalanceLevel::kCore}}));
}

// The levels a scenario imposes reach irqbalance through the policy script:
// accelerator queues (a co-processor, class other) given level core are
// spread over the CPUs; without the level irqbalance keeps class other at
// its default level, the package, and writes nothing on a one-package
// machine. Two runs, with and without it.
TEST_F(IrqbalancePeerTest, GetsTheLevelsTheScenarioImposes) {
  constexpr const char* kAccel = R"(
topology = "pack:1 l3:1 core:4 pu:2"
ticks = 2
tick_s = 10
[[queues]]
first = 60
count = 4
name = "qat0-{}"
class = "other"
level = "core"
driver = "qat_4xxx"
rate = 40000
cost_ns = 30000
initial = "all"
)";
  auto s = parse_scenario(kAccel, "accel.toml");
  ASSERT_TRUE(s) << s.error().message;
  SimOptions o;
  o.balancer = "irqbalance";
  const auto writes = [&](const Scenario& sc) {
    auto r = run_simulation(sc, o);
    EXPECT_TRUE(r) << r.error().message;
    std::uint32_t n = 0;
    if (r) {
      for (const TickRecord& t : r->ticks) n += t.writes;
    }
    return n;
  };
  EXPECT_GT(writes(*s), 0U) << "with balance_level=core from the script, irqbalance spreads them";
  for (SimIrq& i : s->irqs) i.level.reset();
  EXPECT_EQ(writes(*s), 0U) << "without it, class other stays at package level";
}

// The namespace as irqbalance sees it (through /proc/PID/root): the fake
// files, not the host's; one scan writes masks into the fake root only.
TEST_F(IrqbalancePeerTest, SeesOnlyTheFakeRoot) {
  const Scenario s = load_or_fail("skewed-nic");
  auto fm = FakeMachine::create(s);
  ASSERT_TRUE(fm) << fm.error().message;
  const sys::SysRoot fake((*fm)->root());
  IrqbalanceConfig config = irqbalance_policy(s);
  config.binary = default_irqbalance_binary();
  config.root = (*fm)->root();
  config.log = (*fm)->root() / "irqbalance.log";
  auto peer = IrqbalancePeer::start(config);
  ASSERT_TRUE(peer) << peer.error().message;
  const IrqbalancePeer& p = **peer;
  EXPECT_NE(p.mount_namespace(), p.host_mount_namespace());
  EXPECT_EQ(p.mount_namespace().rfind("mnt:[", 0), 0U) << p.mount_namespace();

  const sys::SysRoot seen(std::filesystem::path("/proc") / std::to_string(p.pid()) / "root");
  const sys::SysRoot live("/");
  for (const char* file : {"/proc/interrupts", "/proc/irq/default_smp_affinity", "/sys/devices/system/cpu/online",
                           "/sys/devices/system/cpu/cpu5/topology/core_siblings"}) {
    SCOPED_TRACE(file);
    auto inside = seen.read(file), faked = fake.read(file);
    ASSERT_TRUE(inside) << inside.error().message;
    ASSERT_TRUE(faked) << faked.error().message;
    EXPECT_EQ(*inside, *faked);
  }
  EXPECT_NE(*seen.read("/proc/interrupts"), *live.read("/proc/interrupts"));
  EXPECT_TRUE(seen.exists("/run/irqbalance"));
  EXPECT_FALSE(seen.exists("/run/systemd"));  // a private tmpfs: no syslog to the host
  EXPECT_GT(p.startup_cpu().exec_ns, 0U);

  // A tick, then one scan: its first scan places every IRQ (load-blind).
  ASSERT_TRUE((*fm)->step());
  auto scan = (*peer)->scan();
  ASSERT_TRUE(scan) << scan.error().message;
  EXPECT_EQ(scan->interrupts_reads, 1U);
  EXPECT_EQ(scan->stat_reads, 1U);
  EXPECT_FALSE(scan->topology_rescan);
  EXPECT_GT(scan->cpu.exec_ns, 0U);
  int moved = 0;
  for (const SimIrq& irq : s.irqs) {
    auto mask = CpuSet::parse_mask(*fake.read(fmt::format("/proc/irq/{}/smp_affinity", raw(irq.irq))));
    ASSERT_TRUE(mask);
    if (!(*mask == *(*fm)->affinity(irq.irq))) ++moved;
  }
  EXPECT_EQ(moved, static_cast<int>(s.irqs.size()));
}

// A fake root whose /proc/irq leads back to the host's (a symlink) would bind
// the real files over themselves: start() refuses before it forks.
TEST_F(IrqbalancePeerTest, RefusesARootThatLeadsToTheHost) {
  const Scenario s = load_or_fail("skewed-nic");
  auto fm = FakeMachine::create(s);
  ASSERT_TRUE(fm) << fm.error().message;
  const std::filesystem::path irq = (*fm)->root() / "proc/irq";
  std::filesystem::rename(irq, (*fm)->root() / "proc/irq.fake");
  std::filesystem::create_directory_symlink("/proc/irq", irq);
  IrqbalanceConfig config;
  config.binary = default_irqbalance_binary();
  config.root = (*fm)->root();
  config.log = (*fm)->root() / "irqbalance.log";
  auto peer = IrqbalancePeer::start(config);
  ASSERT_FALSE(peer);
  EXPECT_NE(peer.error().message.find("proc/irq is not a plain file or directory"), std::string::npos)
      << peer.error().message;
  std::filesystem::remove(irq);  // the link only: the machine's cleanup must not follow it
  std::filesystem::rename((*fm)->root() / "proc/irq.fake", irq);
}

// The closed loop on skewed-nic for a few ticks: its writes move the fake
// machine's IRQs, and each tick's recorded per-CPU loads are exactly the
// scenario's rates times costs on the CPUs the machine ran them on.
TEST_F(IrqbalancePeerTest, BalancesSkewedNicThroughTheFakeMachine) {
  const Scenario s = load_or_fail("skewed-nic");
  SimOptions o;
  o.balancer = "irqbalance";
  o.ticks = 5;
  auto r = run_simulation(s, o);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->ticks.size(), 5U);
  ASSERT_TRUE(r->peer);
  EXPECT_EQ(r->balancer, "irqbalance");
  EXPECT_NE(r->peer->mount_ns, r->peer->host_mount_ns);
  EXPECT_GT(r->peer->startup_cpu_us, 0);
  EXPECT_GT(r->peer->peak_rss_kb, 0U);

  std::map<core::IrqNumber, double> load;  // share of a CPU, exact
  for (const SimIrq& i : s.irqs) load[i.irq] = i.interrupts_per_s * i.cost_ns / 1e9;
  for (const TickRecord& t : r->ticks) {
    SCOPED_TRACE("tick " + std::to_string(t.tick));
    std::vector<double> expected(t.cpu_load.size(), 0.0);
    for (const auto& [irq, cpu] : t.placement) {
      ASSERT_TRUE(cpu);
      expected[raw(*cpu)] += load[irq];
    }
    for (std::size_t c = 0; c < expected.size(); ++c) EXPECT_NEAR(t.cpu_load[c], expected[c], 1e-9) << "cpu " << c;
    EXPECT_GT(t.plan_us, 0);  // its CPU time for the scan
  }
  // Tick 0: everything ran on cpu0 (the default mask); its first scan then
  // wrote a mask for every IRQ, and from tick 1 each IRQ runs on the first
  // CPU of what it wrote.
  for (const auto& [irq, cpu] : r->ticks[0].placement) EXPECT_EQ(raw(*cpu), 0U);
  EXPECT_EQ(r->ticks[0].writes, s.irqs.size());
  for (std::size_t t = 0; t + 1 < r->ticks.size(); ++t) {
    for (const SimMove& m : r->ticks[t].moves) {
      ASSERT_FALSE(m.refused) << m.reason;
      const auto& next = r->ticks[t + 1].placement;
      auto it = std::find_if(next.begin(), next.end(), [&](const auto& p) { return p.first == m.irq; });
      ASSERT_NE(it, next.end());
      EXPECT_EQ(it->second, m.to.first()) << "irq " << raw(m.irq) << " after tick " << t;
    }
  }
  EXPECT_LT(r->ticks[1].max_load, r->ticks[0].max_load / 2);
}

// A machine with one CPU: irqbalance says balancing is pointless and exits;
// start() reports that with its log instead of waiting. Its messages reach
// the log only with --debug (else syslog, which the namespace cuts off).
TEST_F(IrqbalancePeerTest, ReportsAnEarlyExitWithItsLog) {
  auto s = parse_scenario("topology = \"core:1 pu:1\"\n[[irq]]\nnumber = 30\nrate = 10\nclass = \"storage\"\n", "one.toml");
  ASSERT_TRUE(s) << s.error().message;
  SimOptions o;
  o.balancer = "irqbalance";
  o.ticks = 2;
  auto quiet = run_simulation(*s, o);
  ASSERT_FALSE(quiet);
  EXPECT_NE(quiet.error().message.find("exited with status 0"), std::string::npos) << quiet.error().message;
  EXPECT_NE(quiet.error().message.find("--irqbalance-debug"), std::string::npos) << quiet.error().message;
  o.irqbalance_debug = true;
  auto r = run_simulation(*s, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Balancing is ineffective on systems with a single cpu"), std::string::npos)
      << r.error().message;
}

// `irqbpfd simulate --balancer irqbalance --json` (irqbpfd-sim through the
// wrapper) names the peer.
TEST_F(IrqbalancePeerTest, SimulateCommandRunsThePeer) {
  const auto r = testing::run_command({IRQBPFD_BINARY, "simulate", (scenarios_dir() / "skewed-nic.toml").string(),
                                       "--balancer", "irqbalance", "--irqbalance",
                                       default_irqbalance_binary().string(), "--ticks", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc.at("balancer"), "irqbalance");
  EXPECT_EQ(doc.at("collector"), "irqbalance");
  const auto& peer = doc.at("peer");
  EXPECT_NE(peer.at("mount_ns"), peer.at("host_mount_ns"));
  EXPECT_EQ(peer.at("command").at(1), "--foreground");
  EXPECT_EQ(doc.at("ticks").size(), 2U);
  EXPECT_EQ(doc.at("ticks").at(0).at("writes"), 10);
}

}  // namespace
}  // namespace irqbpfd::sim
