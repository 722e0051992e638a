// CPU time of one balance::plan() call (Google Benchmark) on snapshots the
// simulator produced for a scenario file: the first cycle (IRQs where the
// scenario starts them) and a converged one (the last tick). The snapshots
// come from the real read path (fake root, replay collector, inventory,
// build_snapshot), so plan() sees what the daemon would.
//   bench_balance_plan --scenario FILE [google-benchmark flags]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/balance/balancer.hpp"
#include "bench_scenario.hpp"
#include "irqbpfd/sim/scenario.hpp"
#include "irqbpfd/sim/simulator.hpp"

namespace {

struct Captured {
  irqbpfd::model::Snapshot snapshot;
  irqbpfd::balance::State state;
};
std::optional<Captured> g_first, g_last;
irqbpfd::balance::Policy g_policy;

void BM_Plan(benchmark::State& st, const std::optional<Captured>* which) {
  const Captured& c = **which;
  std::size_t moves = 0;
  for (auto _ : st) {
    auto r = irqbpfd::balance::plan(c.snapshot, c.state, g_policy);
    moves = r.plan.moves.size();
    benchmark::DoNotOptimize(r);
  }
  st.counters["irqs"] = static_cast<double>(c.snapshot.irqs.size());
  st.counters["cpus"] = static_cast<double>(c.snapshot.online.count());
  st.counters["moves"] = static_cast<double>(moves);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  auto scenario = irqbpfd::bench::scenario_from_args(argc, argv, "bench_balance_plan", rest);
  if (!scenario) return 2;
  g_policy = scenario->policy;
  irqbpfd::sim::SimOptions options;
  options.on_snapshot = [&](std::uint32_t tick, const irqbpfd::model::Snapshot& s, const irqbpfd::balance::State& st) {
    if (tick == 0) g_first = Captured{s, st};
    g_last = Captured{s, st};
  };
  auto run = irqbpfd::sim::run_simulation(*scenario, options);
  if (!run || !g_first || !g_last) {
    std::fprintf(stderr, "simulation failed: %s\n", run ? "no snapshot" : run.error().message.c_str());
    return 1;
  }
  irqbpfd::bench::register_cpu_ms("plan/" + scenario->name + "/first", BM_Plan, &g_first);
  irqbpfd::bench::register_cpu_ms("plan/" + scenario->name + "/converged", BM_Plan, &g_last);
  return irqbpfd::bench::run_benchmarks(rest);
}
