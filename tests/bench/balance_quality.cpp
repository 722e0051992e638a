// Balance quality, closed loop: runs each scenario file through the
// simulator with irqbpfd's balancer fed the loads the BPF programs would
// measure (replay: softirq runs charged to their vector's first raiser), fed
// each IRQ's exact own load (oracle, a separate row: no collector sees it),
// fed irqbalance's estimate (proc), and with Debian's irqbalance
// itself balancing the same fake machine (irqbalance), and reports for the last
// tick the per-CPU load std and max against a longest-processing-time
// reference placement of the same exact loads and against the lower bound
// max(total/CPUs, hottest IRQ); cycles to converge; writes per cycle over
// the second half of the run (steady state); the balancer's CPU time per
// cycle (plan() alone, and the whole cycle: the reading and the daemon's
// tick::run_tick, mean over all cycles and median over the steady second
// half; for irqbalance its whole scan).
//   bench_balance_quality [--ticks N] [--json FILE] [--runs replay,oracle,proc,irqbalance]
//                         [--irqbalance PATH] SCENARIO.toml...
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/sim/scenario.hpp"
#include "irqbpfd/sim/simulator.hpp"
#include "irqbpfd/topology/machine.hpp"

namespace {

using irqbpfd::core::CpuId;
using irqbpfd::core::CpuSet;
using irqbpfd::core::raw;
namespace sim = irqbpfd::sim;

struct Spread {
  double max = 0;  // over online CPUs, share of a CPU
  double std = 0;  // population std over the CPUs that may take IRQs
};

// Longest processing time first on the last tick's exact loads: IRQs the
// balancer may not move (managed, banned, level none) stay where they ran;
// the others go, heaviest first, to the least loaded CPU they may use (their
// device's node's usable CPUs under numa = strict).
Spread lpt_reference(const sim::Scenario& s, const sim::TickRecord& last, const irqbpfd::topology::Machine& m) {
  const CpuSet usable = last.online - s.isolated - s.nohz_full - s.policy.banned_cpus;
  std::map<std::uint32_t, const sim::SimIrq*> spec;
  for (const auto& i : s.irqs) spec[raw(i.irq)] = &i;
  std::vector<double> load(last.cpu_load.size(), 0.0);
  std::vector<std::pair<double, const sim::SimIrq*>> movable;
  for (std::size_t k = 0; k < last.placement.size(); ++k) {
    const auto& [irq, cpu] = last.placement[k];
    const sim::SimIrq* sp = spec[raw(irq)];
    const bool fixed = sp->managed || s.policy.banned_irqs.count(irq) != 0 ||
                       sp->level == irqbpfd::core::BalanceLevel::kNone;
    if (fixed) {
      if (cpu) load[raw(*cpu)] += last.irq_load[k];
    } else {
      movable.emplace_back(last.irq_load[k], sp);
    }
  }
  std::stable_sort(movable.begin(), movable.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [l, sp] : movable) {
    CpuSet allowed = usable;
    if (s.policy.numa == irqbpfd::balance::NumaPolicy::kStrict && sp->node >= 0) {
      if (const auto* n = m.node(sp->node); n != nullptr && (n->cpus & usable).count() > 0) allowed = n->cpus & usable;
    }
    std::optional<CpuId> best;
    allowed.for_each([&](CpuId c) {
      if (!best || load[raw(c)] < load[raw(*best)]) best = c;
    });
    if (best) load[raw(*best)] += l;
  }
  Spread out;
  last.online.for_each([&](CpuId c) { out.max = std::max(out.max, load[raw(c)]); });
  double mean = 0;
  usable.for_each([&](CpuId c) { mean += load[raw(c)]; });
  mean /= static_cast<double>(std::max<std::size_t>(usable.count(), 1));
  double var = 0;
  usable.for_each([&](CpuId c) { var += (load[raw(c)] - mean) * (load[raw(c)] - mean); });
  out.std = std::sqrt(var / static_cast<double>(std::max<std::size_t>(usable.count(), 1)));
  return out;
}

struct Row {
  std::string scenario, balancer;
  std::size_t cpus = 0, irqs = 0;
  double max = 0, std = 0, bound = 0, lpt_max = 0, lpt_std = 0;
  std::optional<std::uint32_t> converged_at;
  double steady_writes = 0;  // per cycle, second half of the run
  std::uint32_t first_writes = 0, total_writes = 0;
  double plan_us = 0, plan_us_max = 0, cycle_us = 0;
  double steady_cycle_us = 0;  // median over the second half
  double steady_tick_us = 0;   // of that, tick::run_tick alone (median over the second half)
};

Row measure(const sim::Scenario& s, const sim::SimResult& r, const std::string& balancer) {
  const auto m = sim::scenario_machine(s);
  const sim::TickRecord& last = r.ticks.back();
  Row row;
  row.scenario = s.name;
  row.balancer = balancer;
  row.cpus = r.nr_cpus;
  row.irqs = last.placement.size();
  row.max = last.max_load;
  row.std = last.std_load;
  row.bound = last.lower_bound;
  const Spread ref = lpt_reference(s, last, *m);
  row.lpt_max = ref.max;
  row.lpt_std = ref.std;
  if (!r.phases.empty()) row.converged_at = r.phases.front().converged_at;
  const std::size_t half = r.ticks.size() / 2;
  std::uint32_t late = 0;
  double plan = 0, cycle = 0;
  for (std::size_t t = 0; t < r.ticks.size(); ++t) {
    if (t >= half) late += r.ticks[t].writes;
    plan += r.ticks[t].plan_us;
    cycle += r.ticks[t].cycle_us;
    row.plan_us_max = std::max(row.plan_us_max, r.ticks[t].plan_us);
  }
  row.steady_writes = static_cast<double>(late) / static_cast<double>(r.ticks.size() - half);
  row.first_writes = r.ticks.front().writes;
  row.total_writes = r.total_writes;
  row.plan_us = plan / static_cast<double>(r.ticks.size());
  row.cycle_us = cycle / static_cast<double>(r.ticks.size());
  std::vector<double> late_cycles;
  for (std::size_t t = half; t < r.ticks.size(); ++t) late_cycles.push_back(r.ticks[t].cycle_us);
  std::sort(late_cycles.begin(), late_cycles.end());
  row.steady_cycle_us = late_cycles[late_cycles.size() / 2];
  std::vector<double> late_ticks;
  for (std::size_t t = half; t < r.ticks.size(); ++t) late_ticks.push_back(r.ticks[t].tick_us);
  std::sort(late_ticks.begin(), late_ticks.end());
  row.steady_tick_us = late_ticks[late_ticks.size() / 2];
  return row;
}

std::string pct(double share) { return fmt::format("{:.1f}", 100.0 * share); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"closed-loop balance quality: irqbpfd (exact, estimate) on scenario files"};
  std::vector<std::string> files;
  std::optional<std::uint32_t> ticks;
  std::string json_out;
  std::string runs_list = "replay,oracle,proc,irqbalance";
  std::optional<std::string> irqbalance;
  app.add_option("scenarios", files, "scenario TOML files")->required()->check(CLI::ExistingFile);
  app.add_option("--ticks", ticks, "ticks per run (default: the scenario's)");
  app.add_option("--json", json_out, "also write the rows as JSON here");
  app.add_option("--runs", runs_list,
                 "comma-separated: replay (irqbpfd, loads as the BPF programs charge them), oracle (irqbpfd, each "
                 "IRQ's exact own time), proc (irqbpfd, /proc estimate), irqbalance");
  app.add_option("--irqbalance", irqbalance, "irqbalance binary (default: scripts/fetch-irqbalance.sh's)");
  CLI11_PARSE(app, argc, argv);
  std::vector<std::string> runs;
  for (std::size_t at = 0; at <= runs_list.size();) {
    const std::size_t comma = std::min(runs_list.find(',', at), runs_list.size());
    runs.push_back(runs_list.substr(at, comma - at));
    at = comma + 1;
  }
  for (const auto& r : runs) {
    if (r != "replay" && r != "oracle" && r != "proc" && r != "irqbalance") {
      fmt::print(stderr, "--runs: '{}' is not replay, oracle, proc or irqbalance\n", r);
      return 2;
    }
  }

  std::vector<Row> rows;
  for (const auto& file : files) {
    auto s = sim::load_scenario(file);
    if (!s) {
      fmt::print(stderr, "{}\n", s.error().message);
      return 1;
    }
    for (const auto& c : runs) {
      sim::SimOptions o;
      if (c == "irqbalance") {
        o.balancer = "irqbalance";
        if (irqbalance) o.irqbalance = *irqbalance;
      } else {
        o.collector = c;
      }
      o.ticks = ticks;
      auto r = sim::run_simulation(*s, o);
      if (!r) {
        fmt::print(stderr, "{} ({}): {}\n", s->name, c, r.error().message);
        return 1;
      }
      const std::map<std::string, std::string> label = {{"replay", "irqbpfd, BPF-measured loads"},
                                                        {"oracle", "irqbpfd, oracle loads (no collector sees these)"},
                                                        {"proc", "irqbpfd, /proc estimate"},
                                                        {"irqbalance", "irqbalance 1.9.2"}};
      rows.push_back(measure(*s, *r, label.at(c)));
      const Row& w = rows.back();
      fmt::print(stderr, "{} / {}: max {}% std {}% (LPT {}% / {}%), bound {}%, converged {}, plan {:.0f} us\n",
                 w.scenario, w.balancer, pct(w.max), pct(w.std), pct(w.lpt_max), pct(w.lpt_std), pct(w.bound),
                 w.converged_at ? fmt::format("at tick {}", *w.converged_at) : std::string("never"), w.plan_us);
    }
  }

  fmt::print("| scenario | balancer | CPUs | IRQs | max % | bound % | max / bound | LPT max % | std % | LPT std % | std / LPT | "
             "converged (cycles) | writes: first cycle / steady per cycle / total | plan() CPU per cycle, mean (max) | "
             "whole cycle CPU, mean | steady cycle CPU, median | of which the tick (no reading) |\n");
  fmt::print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (const Row& w : rows) {
    fmt::print("| {} | {} | {} | {} | {} | {} | {:.3f} | {} | {} | {} | {:.2f} | {} | {} / {:.1f} / {} | {:.2f} ms ({:.2f}) | "
               "{:.1f} ms | {:.2f} ms | {} |\n",
               w.scenario, w.balancer, w.cpus, w.irqs, pct(w.max), pct(w.bound), w.bound > 0 ? w.max / w.bound : 0.0,
               pct(w.lpt_max), pct(w.std), pct(w.lpt_std), w.lpt_std > 0 ? w.std / w.lpt_std : 0.0,
               w.converged_at ? fmt::format("{}", *w.converged_at) : std::string("no"), w.first_writes, w.steady_writes,
               w.total_writes, w.plan_us / 1000.0, w.plan_us_max / 1000.0, w.cycle_us / 1000.0, w.steady_cycle_us / 1000.0,
               w.balancer == "irqbalance 1.9.2" ? std::string("-") : fmt::format("{:.2f} ms", w.steady_tick_us / 1000.0));
  }
  if (!json_out.empty()) {
    nlohmann::json j = nlohmann::json::array();
    for (const Row& w : rows) {
      j.push_back({{"scenario", w.scenario},
                   {"balancer", w.balancer},
                   {"cpus", w.cpus},
                   {"irqs", w.irqs},
                   {"max", w.max},
                   {"std", w.std},
                   {"bound", w.bound},
                   {"lpt_max", w.lpt_max},
                   {"lpt_std", w.lpt_std},
                   {"converged_at", w.converged_at ? nlohmann::json(*w.converged_at) : nlohmann::json(nullptr)},
                   {"first_writes", w.first_writes},
                   {"steady_writes_per_cycle", w.steady_writes},
                   {"total_writes", w.total_writes},
                   {"plan_us_mean", w.plan_us},
                   {"plan_us_max", w.plan_us_max},
                   {"cycle_us_mean", w.cycle_us},
                   {"steady_cycle_us_median", w.steady_cycle_us},
                   {"steady_tick_us_median", w.steady_tick_us}});
    }
    std::ofstream(json_out) << j.dump(2) << "\n";
  }
  return 0;
}
