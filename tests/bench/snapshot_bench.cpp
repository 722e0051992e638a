// CPU time of one model::build_snapshot() (Google Benchmark): the step of
// every daemon cycle that turns two readings into per-(IRQ, CPU) deltas and
// loads. Its input is what the simulator's irqbpfd loop handed
// build_snapshot on the scenario's last tick (fake root, replay collector,
// real readers): "measured" with the BPF-like reading the replay collector
// produces, "estimate" with that reading removed, so the /proc estimate
// (CPU time split by interrupt counts) is taken instead.
//   bench_snapshot --scenario FILE [google-benchmark flags]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/model/snapshot.hpp"
#include "bench_scenario.hpp"
#include "irqbpfd/sim/scenario.hpp"
#include "irqbpfd/sim/simulator.hpp"

namespace {

// A WindowInput with everything it points at owned here.
struct Window {
  std::string collector;
  irqbpfd::collect::RawSample before, after;
  irqbpfd::sys::IrqInventory inventory;
  irqbpfd::sys::CpuState cpu_state;
  irqbpfd::topology::Machine machine;
  std::uint32_t user_hz = 100;

  [[nodiscard]] irqbpfd::model::WindowInput input() const {
    irqbpfd::model::WindowInput in;
    in.collector = collector;
    in.before = &before;
    in.after = &after;
    in.inventory = &inventory;
    in.cpu_state = &cpu_state;
    in.machine = &machine;
    in.user_hz = user_hz;
    return in;
  }
};

std::optional<Window> g_measured, g_estimate;

void BM_BuildSnapshot(benchmark::State& st, const std::optional<Window>* which) {
  const irqbpfd::model::WindowInput in = (*which)->input();
  std::size_t entries = 0, irqs = 0;
  for (auto _ : st) {
    auto snap = irqbpfd::model::build_snapshot(in);
    if (!snap) {
      st.SkipWithError(snap.error().message.c_str());
      return;
    }
    irqs = snap->irqs.size();
    entries = 0;
    for (const auto& i : snap->irqs) entries += i.per_cpu.size();
    benchmark::DoNotOptimize(snap);
  }
  st.counters["irqs"] = static_cast<double>(irqs);
  st.counters["per_cpu_entries"] = static_cast<double>(entries);
  st.counters["bpf_cells"] = in.after->bpf ? static_cast<double>(in.after->bpf->cells.size()) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  auto scenario = irqbpfd::bench::scenario_from_args(argc, argv, "bench_snapshot", rest);
  if (!scenario) return 2;
  irqbpfd::sim::SimOptions options;
  options.ticks = 3;
  options.on_window = [&](std::uint32_t, const irqbpfd::model::WindowInput& in) {
    g_measured = Window{in.collector, *in.before, *in.after, *in.inventory, *in.cpu_state, *in.machine, in.user_hz};
  };
  auto run = irqbpfd::sim::run_simulation(*scenario, options);
  if (!run || !g_measured) {
    std::fprintf(stderr, "simulation failed: %s\n", run ? "no window" : run.error().message.c_str());
    return 1;
  }
  if (!g_measured->after.bpf) {
    std::fprintf(stderr, "the replay collector gave no measured reading\n");
    return 1;
  }
  g_estimate = g_measured;
  g_estimate->collector = "proc";
  g_estimate->before.bpf.reset();
  g_estimate->after.bpf.reset();
  irqbpfd::bench::register_cpu_ms("build_snapshot/" + scenario->name + "/measured", BM_BuildSnapshot, &g_measured);
  irqbpfd::bench::register_cpu_ms("build_snapshot/" + scenario->name + "/estimate", BM_BuildSnapshot, &g_estimate);
  return irqbpfd::bench::run_benchmarks(rest);
}
