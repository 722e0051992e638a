// The closed loop under test: per tick, the fake machine runs, then the
// project's real cycle runs against its root (the collector, then the
// daemon's tick::run_tick: view, snapshot, plan, and the masks written
// through the daemon's writer); or irqbalance runs one scan as a peer.
// Also the verdicts: phases, convergence, flapping.
#include "irqbpfd/sim/simulator.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/apply/apply_plan.hpp"
#include "irqbpfd/apply/kernel_files.hpp"
#include "irqbpfd/balance/balancer.hpp"
#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/model/snapshot.hpp"
#include "irqbpfd/sim/fake_machine.hpp"
#include "irqbpfd/sim/irqbalance_peer.hpp"
#include "irqbpfd/sim/replay_collector.hpp"
#include "irqbpfd/sys/cpus.hpp"
#include "irqbpfd/sys/irq_inventory.hpp"
#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/tick/tick.hpp"

namespace irqbpfd::sim {
namespace {

using core::CpuId;
using core::CpuSet;
using core::raw;

constexpr std::uint32_t kMinStableTicks = 3;

// The best the balancer could do this tick, from the exact loads (shares of
// a CPU): no CPU can be below
//   - the hottest movable IRQ (an IRQ runs on one CPU),
//   - the load of IRQs it may not move (managed, banned) on their CPU,
//   - the average over the CPUs that may take IRQs,
//   - with numa = strict, per node: the node's IRQs and fixed load over the
//     node's usable CPUs.
// SMT and level constraints are not modelled: the bound may be unreachable
// on machines where they bind.
double lower_bound(const TickFacts& facts, const Scenario& s, const topology::Machine& machine,
                   const CpuSet& usable, double tick_ns, double* hottest_irq) {
  std::map<CpuId, double> fixed;
  std::map<int, double> node_load;
  double movable_total = 0, hottest = 0;
  std::map<core::IrqNumber, const SimIrq*> spec;
  for (const SimIrq& i : s.irqs) spec[i.irq] = &i;
  for (const IrqTick& t : facts.irqs) {
    if (!t.cpu) continue;
    const double load = static_cast<double>(t.load_ns) / tick_ns;
    const SimIrq* sp = spec[t.irq];
    const bool level_none = sp->level == core::BalanceLevel::kNone;
    if (t.managed || t.banned || level_none) {
      fixed[*t.cpu] += load;
      continue;
    }
    movable_total += load;
    hottest = std::max(hottest, load);
    if (sp->node >= 0) node_load[sp->node] += load;
  }
  *hottest_irq = hottest;
  double bound = hottest;
  double fixed_usable = 0;
  for (const auto& [c, l] : fixed) {
    bound = std::max(bound, l);
    if (usable.contains(c)) fixed_usable += l;
  }
  if (!usable.empty()) bound = std::max(bound, (movable_total + fixed_usable) / static_cast<double>(usable.count()));
  if (s.policy.numa == balance::NumaPolicy::kStrict) {
    for (const auto& [node, load] : node_load) {
      const topology::NumaNode* n = machine.node(node);
      if (n == nullptr) continue;
      const CpuSet here = n->cpus & usable;
      if (here.empty()) continue;
      double f = 0;
      for (const auto& [c, l] : fixed) {
        if (here.contains(c)) f += l;
      }
      bound = std::max(bound, (load + f) / static_cast<double>(here.count()));
    }
  }
  return bound;
}

std::vector<std::uint32_t> phase_starts(const Scenario& s, std::uint32_t ticks) {
  std::set<std::uint32_t> starts{0};
  for (const SimEvent& e : s.events) {
    if (e.at_tick < ticks) starts.insert(e.at_tick);
    if (e.kind == EventKind::kBurst && e.at_tick + e.duration_ticks < ticks) starts.insert(e.at_tick + e.duration_ticks);
  }
  return {starts.begin(), starts.end()};
}

void judge(SimResult& r, const Scenario& s) {
  const auto ticks = static_cast<std::uint32_t>(r.ticks.size());
  const std::vector<std::uint32_t> starts = phase_starts(s, ticks);
  for (std::size_t i = 0; i < starts.size(); ++i) {
    PhaseResult p;
    p.start = starts[i];
    p.end = i + 1 < starts.size() ? starts[i + 1] : ticks;
    if (p.start >= p.end) continue;
    p.tolerance_pct = 2.0 + 2.0 * s.noise_pct;
    const TickRecord& last = r.ticks[p.end - 1];
    p.final_max = last.max_load;
    p.lower_bound = last.lower_bound;
    const double tol = std::max(p.tolerance_pct / 100.0 * p.final_max, 0.005);
    std::optional<std::uint32_t> stable_from;
    for (std::uint32_t t = p.end; t-- > p.start;) {
      const TickRecord& tr = r.ticks[t];
      if (tr.writes != 0 || std::abs(tr.max_load - p.final_max) > tol || tr.placement != last.placement) break;
      stable_from = t;
    }
    // A settled state must be seen for a while: kMinStableTicks, or the whole
    // phase when it is shorter. A phase that only stops moving on its last
    // tick has not shown that it converged.
    const std::uint32_t need = std::min(kMinStableTicks, p.end - p.start);
    if (stable_from && p.end - *stable_from >= need) p.converged_at = stable_from;
    std::map<core::IrqNumber, std::vector<CpuSet>> left;  // masks each IRQ was moved off
    std::set<core::IrqNumber> flapped;
    for (std::uint32_t t = p.start; t < p.end; ++t) {
      p.writes += r.ticks[t].writes;
      for (const SimMove& m : r.ticks[t].moves) {
        if (m.refused) continue;
        auto& off = left[m.irq];
        if (std::find(off.begin(), off.end(), m.to) != off.end()) flapped.insert(m.irq);
        off.push_back(m.from);
      }
    }
    p.flapped.assign(flapped.begin(), flapped.end());
    r.phases.push_back(std::move(p));
  }
  if (!r.phases.empty()) r.converged_at = r.phases.front().converged_at;
  double sum = 0;
  for (const TickRecord& t : r.ticks) {
    r.total_writes += t.writes;
    r.max_plan_us = std::max(r.max_plan_us, t.plan_us);
    sum += t.plan_us;
  }
  r.mean_plan_us = r.ticks.empty() ? 0 : sum / static_cast<double>(r.ticks.size());
}

// The machine's exact truth of one tick, for either balancer: per-CPU loads,
// the spread over the CPUs that may take IRQs, the bound, where IRQs ran.
TickRecord record_truth(const TickFacts& facts, const Scenario& scenario, const FakeMachine& fm, double tick_ns) {
  TickRecord rec;
  rec.tick = facts.tick;
  rec.online = facts.online;
  rec.notes = facts.notes;
  rec.cpu_load.assign(fm.nr_cpu_ids(), 0.0);
  const CpuSet usable = facts.online - scenario.isolated - scenario.nohz_full - scenario.policy.banned_cpus;
  rec.hottest = facts.online.first().value_or(core::cpu_id(0));
  for (const auto& [c, ns] : facts.cpu_load_ns) {  // ascending CPU: ties go to the lowest
    const double l = static_cast<double>(ns) / tick_ns;
    rec.cpu_load[raw(c)] = l;
    if (l > rec.max_load) {
      rec.max_load = l;
      rec.hottest = c;
    }
  }
  double mean = 0;
  usable.for_each([&](CpuId c) { mean += rec.cpu_load[raw(c)]; });
  mean /= static_cast<double>(std::max<std::size_t>(usable.count(), 1));
  double var = 0;
  usable.for_each([&](CpuId c) { var += (rec.cpu_load[raw(c)] - mean) * (rec.cpu_load[raw(c)] - mean); });
  rec.std_load = std::sqrt(var / static_cast<double>(std::max<std::size_t>(usable.count(), 1)));
  for (const IrqTick& t : facts.irqs) {
    rec.placement.emplace_back(t.irq, t.cpu);
    rec.irq_load.push_back(static_cast<double>(t.load_ns) / tick_ns);
    if (t.cpu && !usable.contains(*t.cpu) && !t.managed && !t.banned) {
      rec.forbidden_load += static_cast<double>(t.load_ns) / tick_ns;
    }
  }
  rec.lower_bound = lower_bound(facts, scenario, fm.machine(), usable, tick_ns, &rec.hottest_irq_load);
  return rec;
}

// The machine's clock as the collector sees it: at `scale` of its rate.
class ScaledClock final : public core::Clock {
 public:
  ScaledClock(const core::Clock& base, double scale) : base_(base), scale_(scale) {}
  [[nodiscard]] std::int64_t monotonic_ns() const override {
    return static_cast<std::int64_t>(static_cast<double>(base_.monotonic_ns()) * scale_);
  }
  int sleep_ns(std::int64_t) override { return 0; }  // the machine's steps move time

 private:
  const core::Clock& base_;
  double scale_;
};

// irqbpfd's own loop: the collector, the real readers, build_snapshot and
// balance::plan, its masks written through the daemon's AffinityWriter
// (apply_plan over the fake root).
core::Result<void> run_irqbpfd(const Scenario& scenario, const SimOptions& options, FakeMachine& fm, SimResult& result) {
  const sys::SysRoot root(fm.root());
  const ScaledClock clock(fm.clock(), options.window_scale);
  apply::SysRootFiles files(root);
  apply::ProcAffinityWriter writer(files, fm.nr_cpu_ids());
  std::unique_ptr<collect::Collector> collector;
  if (options.collector == "replay") {
    collector = std::make_unique<ReplayCollector>(root, clock, fm, SoftirqCharge::kFirstRaiser);
  } else if (options.collector == "oracle") {
    collector = std::make_unique<ReplayCollector>(root, clock, fm, SoftirqCharge::kOracle);
  } else {
    collector = std::make_unique<collect::ProcCollector>(root, clock);
  }
  result.collector = std::string(collector->name());
  const double tick_ns = scenario.tick_s * 1e9;
  std::map<core::IrqNumber, core::BalanceLevel> levels;
  for (const SimIrq& i : scenario.irqs) {
    if (i.level) levels[i.irq] = *i.level;
  }

  // The daemon's view of the machine: the scenario's topology stands in for
  // hwloc's; the inventory and CPU state are read from the fake root, again
  // only when they change.
  tick::MachineView view(root, [&fm](const sys::SysRoot&) { return core::Result<topology::Machine>(fm.machine()); },
                         options.affinity_refresh_cycles.value_or(tick::kDefaultRefreshCycles));
  // Levels the scenario declares stand in for a policy hint: the kernel
  // files cannot say them.
  tick::TickInput in;
  in.collector = std::string(collector->name());
  in.user_hz = 100;
  in.rules = [&](const sys::IrqInventory&) { return tick::Rules{scenario.policy, levels}; };
  std::uint32_t tick = 0;
  if (options.on_window) in.on_window = [&](const model::WindowInput& w) { options.on_window(tick, w); };
  if (options.on_snapshot) {
    in.on_snapshot = [&](const model::Snapshot& snap, const balance::State& st) { options.on_snapshot(tick, snap, st); };
  }

  auto before = collector->read();
  if (!before) return before.error().with_context("tick 0: collector");
  balance::State state;
  for (; tick < scenario.ticks; ++tick) {
    const std::string where = fmt::format("tick {}", tick);
    auto facts = fm.step();
    if (!facts) return facts.error().with_context(where);
    const double c0 = core::thread_cpu_us();
    auto after = collector->read();
    if (!after) return after.error().with_context(where + ": collector");
    in.before = &*before;
    in.after = &*after;
    const double r1 = core::thread_cpu_us();
    auto ticked = tick::run_tick(view, in, state, &writer);
    const double c1 = core::thread_cpu_us();
    if (!ticked) return ticked.error().with_context(where);
    const balance::PlanResult& planned = ticked->planned;
    state = planned.next;

    TickRecord rec = record_truth(*facts, scenario, fm, tick_ns);
    rec.plan_us = ticked->plan_us;
    rec.cycle_us = c1 - c0;
    rec.tick_us = c1 - r1;
    rec.plan_summary = planned.plan.summary;
    rec.model_max = static_cast<double>(planned.plan.max_before) / 1e9;
    // The daemon's writer over the fake root: read, compare, write, read
    // back, each errno classified (the fake kernel refuses managed IRQs'
    // read-only files as the real one does).
    const apply::ApplyReport& applied = ticked->applied;
    for (std::size_t k = 0; k < planned.plan.moves.size(); ++k) {
      const balance::Move& m = planned.plan.moves[k];
      const apply::WriteResult& w = applied.results[k].result;
      SimMove sm;
      sm.irq = m.irq;
      sm.from = m.from;
      sm.to = w.outcome == apply::Outcome::kDone && w.smp_affinity ? *w.smp_affinity : m.to;
      sm.from_cpu = fm.effective_cpu(m.irq);
      sm.reason = m.reason;
      if (sm.to.intersects(fm.machine().cpus - fm.online())) ++rec.writes_to_offline;
      if (w.outcome == apply::Outcome::kDone) {
        ++rec.writes;
      } else if (w.outcome != apply::Outcome::kUnchanged) {
        sm.refused = true;
        sm.reason += " [write refused: " + w.message + "]";
        ++rec.refused_writes;
      }
      rec.moves.push_back(std::move(sm));
    }
    result.ticks.push_back(std::move(rec));
    before = std::move(after);
  }
  return {};
}

ino_t inode_of(const std::filesystem::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

// irqbalance's loop: the machine steps while irqbalance is stopped, then it
// runs exactly one scan, which sees the new counters and writes masks into
// the fake smp_affinity files; the next step() picks them up. Its moves are
// the masks that changed (it skips writes of the mask already there), and a
// move the fake kernel then refuses is marked so on its tick.
core::Result<void> run_irqbalance(const Scenario& scenario, const SimOptions& options, FakeMachine& fm,
                                  SimResult& result) {
  const auto wall0 = std::chrono::steady_clock::now();
  const sys::SysRoot root(fm.root());
  result.collector = "irqbalance";
  IrqbalanceConfig config = irqbalance_policy(scenario);
  config.binary = options.irqbalance.value_or(default_irqbalance_binary());
  config.root = fm.root();
  config.log = options.irqbalance_log.value_or(fm.root() / "irqbalance.log");
  config.debug = options.irqbalance_debug;
  auto started = IrqbalancePeer::start(config);
  if (!started) return started.error();
  IrqbalancePeer& peer = **started;
  PeerSummary summary;
  summary.command = peer.command();
  summary.banned_cpulist = config.banned_cpus ? config.banned_cpus->to_list() : "";
  summary.pid = peer.pid();
  summary.mount_ns = peer.mount_namespace();
  summary.host_mount_ns = peer.host_mount_namespace();
  summary.startup_cpu_us = static_cast<double>(peer.startup_cpu().exec_ns) / 1e3;
  if (options.irqbalance_log || options.root) summary.log = config.log.string();  // else gone with the temp root

  // Single-file bind mounts show the inode they were made on: the machine
  // must keep rewriting these in place.
  const std::filesystem::path bound[] = {root.path("/proc/interrupts"), root.path("/proc/stat")};
  ino_t inodes[std::size(bound)];
  for (std::size_t i = 0; i < std::size(bound); ++i) inodes[i] = inode_of(bound[i]);

  const double tick_ns = scenario.tick_s * 1e9;
  const CpuSet all = fm.machine().cpus;
  for (std::uint32_t tick = 0; tick < scenario.ticks; ++tick) {
    const std::string where = fmt::format("tick {}", tick);
    auto facts = fm.step();
    if (!facts) return facts.error().with_context(where);
    for (std::size_t i = 0; i < std::size(bound); ++i) {
      if (inode_of(bound[i]) != inodes[i]) {
        return core::Error{fmt::format("{}: {} was replaced, not rewritten: irqbalance's bind mount would go stale",
                                       where, bound[i].string())};
      }
    }
    if (!result.ticks.empty() && !facts->refused.empty()) {  // the last scan's writes the kernel refused
      TickRecord& last = result.ticks.back();
      for (SimMove& m : last.moves) {
        if (m.refused || !std::binary_search(facts->refused.begin(), facts->refused.end(), m.irq)) continue;
        m.refused = true;
        m.reason += " [refused by the kernel]";
        --last.writes;
        ++last.refused_writes;
      }
    }

    TickRecord rec = record_truth(*facts, scenario, fm, tick_ns);
    auto scanned = peer.scan();
    if (!scanned) return scanned.error().with_context(where);
    rec.plan_us = static_cast<double>(scanned->cpu.exec_ns) / 1e3;
    rec.cycle_us = rec.plan_us;
    rec.plan_stat_ms = static_cast<double>(scanned->cpu.stat_ticks) * 10.0;  // USER_HZ = 100
    if (scanned->topology_rescan) {
      ++summary.topology_rescans;
      rec.notes.push_back("irqbalance: rebuilt its CPU tree and placed every IRQ load-blind (rescan)");
    }
    // One scan reads /proc/stat once, twice when it rebuilt its tree (and
    // /proc/interrupts three times then): more would be a second scan.
    if (scanned->stat_reads != (scanned->topology_rescan ? 2U : 1U)) {
      rec.notes.push_back(fmt::format("irqbalance: read /proc/stat {} times in one tick", scanned->stat_reads));
    }
    for (const IrqTick& t : facts->irqs) {
      auto text = root.read_if_exists(fmt::format("/proc/irq/{}/smp_affinity", raw(t.irq)));
      if (!text) return text.error().with_context(where);
      if (!*text) continue;
      const std::optional<CpuSet> now = fm.affinity(t.irq);
      auto mask = CpuSet::parse_mask(**text);
      if (mask && now && *mask == *now) continue;
      SimMove m;
      m.irq = t.irq;
      m.from = now.value_or(CpuSet{});
      m.from_cpu = t.cpu;
      m.reason = "irqbalance";
      if (!mask) {
        m.refused = true;
        m.reason += fmt::format(" wrote '{}' [{}]", **text, mask.error().message);
        ++rec.refused_writes;
      } else {
        m.to = *mask;
        if (m.to.intersects(all - fm.online())) ++rec.writes_to_offline;
        ++rec.writes;
      }
      rec.moves.push_back(std::move(m));
    }
    rec.plan_summary = fmt::format("irqbalance scan: {} affinity writes{}", rec.writes,
                                   scanned->topology_rescan ? " after rebuilding its CPU tree" : "");
    result.ticks.push_back(std::move(rec));
  }
  auto cpu = peer.cpu();
  if (!cpu) return cpu.error();
  summary.exec_cpu_ms = static_cast<double>(cpu->exec_ns) / 1e6;
  summary.stat_cpu_ms = static_cast<double>(cpu->stat_ticks) * 10.0;  // USER_HZ = 100
  if (auto rss = peer.peak_rss_kb(); rss) summary.peak_rss_kb = *rss;
  summary.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  result.peer = std::move(summary);
  return {};
}

}  // namespace

core::Result<SimResult> run_simulation(const Scenario& scenario_in, const SimOptions& options) {
  Scenario scenario = scenario_in;
  if (options.ticks) scenario.ticks = *options.ticks;
  if (options.collector != "replay" && options.collector != "oracle" && options.collector != "proc") {
    return core::Error{fmt::format("--collector: expected replay, oracle or proc, found '{}'", options.collector)};
  }
  if (!(options.window_scale > 0) || options.window_scale > 16) {
    return core::Error{fmt::format("window scale: expected a number in (0, 16], found {}", options.window_scale)};
  }
  if (options.balancer != "irqbpfd" && options.balancer != "irqbalance") {
    return core::Error{fmt::format("--balancer: expected irqbpfd or irqbalance, found '{}'", options.balancer)};
  }
  auto made = FakeMachine::create(scenario, options.root);
  if (!made) return made.error();
  FakeMachine& fm = **made;

  SimResult result;
  result.scenario = scenario.name;
  result.balancer = options.balancer;
  result.topology = scenario.topology;
  result.nr_cpus = static_cast<std::uint32_t>(fm.machine().cpus.count());
  result.tick_s = scenario.tick_s;
  auto ran = options.balancer == "irqbpfd" ? run_irqbpfd(scenario, options, fm, result)
                                           : run_irqbalance(scenario, options, fm, result);
  if (!ran) return ran.error();
  judge(result, scenario);
  return result;
}

}  // namespace irqbpfd::sim
