// CPU time of the daemon's whole cycle (Google Benchmark): Daemon::cycle()
// with the real proc collector, view, snapshot, plan and affinity writer, on
// a fake machine the simulator keeps counting (every row of
// /proc/interrupts changes where its IRQ ran, as on a live machine). Between
// two timed cycles the machine takes one tick (untimed): its files are
// rewritten as the kernel would show them after `tick_s` seconds.
//   bench_cycle --scenario FILE [google-benchmark flags]
// Parts of the cycle are timed apart on the same root: the collector's
// read alone, and the view's periodic affinity refresh.
// The fake root goes under $TMPDIR (use tmpfs: /dev/shm).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_scenario.hpp"
#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/apply/kernel_files.hpp"
#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/daemon/daemon.hpp"
#include "irqbpfd/sim/fake_machine.hpp"
#include "irqbpfd/sim/scenario.hpp"

namespace {

using namespace irqbpfd;

// A fake machine and a daemon on its root (proc collector), stepped together.
struct Rig {
  std::unique_ptr<sim::FakeMachine> machine;
  std::unique_ptr<apply::SysRootFiles> files;
  std::unique_ptr<apply::ProcAffinityWriter> writer;
  std::unique_ptr<daemon::Logger> log;
  daemon::NullNotifier notifier;
  std::unique_ptr<daemon::Daemon> daemon;
  std::uint32_t cycles = 0;

  static std::unique_ptr<Rig> make(const sim::Scenario& scenario, std::uint32_t refresh_cycles) {
    auto rig = std::make_unique<Rig>();
    auto fm = sim::FakeMachine::create(scenario);
    if (!fm) {
      std::fprintf(stderr, "fake machine: %s\n", fm.error().message.c_str());
      return nullptr;
    }
    rig->machine = std::move(*fm);
    const sys::SysRoot root(rig->machine->root());
    rig->files = std::make_unique<apply::SysRootFiles>(root);
    rig->writer = std::make_unique<apply::ProcAffinityWriter>(*rig->files, rig->machine->nr_cpu_ids());
    rig->log = std::make_unique<daemon::Logger>(daemon::LogLevel::kError, daemon::Logger::Target::kStderr, false);
    daemon::DaemonConfig config;
    config.collector = "proc";
    config.interval_s = scenario.tick_s;
    config.affinity_refresh_cycles = refresh_cycles;
    balance::Policy policy;
    policy.banned_cpus = scenario.policy.banned_cpus;
    daemon::DaemonDeps deps;
    deps.root = root;
    deps.clock = &rig->machine->clock();
    deps.writer = rig->writer.get();
    deps.files = rig->files.get();
    deps.log = rig->log.get();
    deps.notifier = &rig->notifier;
    rig->daemon = std::make_unique<daemon::Daemon>(config, policy, deps);
    if (auto r = rig->daemon->start(); !r) {
      std::fprintf(stderr, "daemon start: %s\n", r.error().message.c_str());
      return nullptr;
    }
    return rig;
  }

  bool step() {
    auto f = machine->step();
    if (!f) std::fprintf(stderr, "tick: %s\n", f.error().message.c_str());
    return static_cast<bool>(f);
  }
};

std::optional<sim::Scenario> g_scenario;

// Whole cycles after the balance settled (10 warm-up cycles untimed).
void BM_Cycle(benchmark::State& st) {
  auto rig = Rig::make(*g_scenario, daemon::DaemonConfig{}.affinity_refresh_cycles);
  if (!rig) {
    st.SkipWithError("rig");
    return;
  }
  for (int i = 0; i < 10; ++i) {
    if (!rig->step() || !rig->daemon->cycle()) {
      st.SkipWithError("warm-up cycle failed");
      return;
    }
  }
  std::size_t moves = 0;
  for (auto _ : st) {
    st.PauseTiming();
    const bool stepped = rig->step();
    st.ResumeTiming();
    if (!stepped) {
      st.SkipWithError("tick failed");
      return;
    }
    auto o = rig->daemon->cycle();
    if (!o) {
      st.SkipWithError(o.error().message.c_str());
      return;
    }
    moves += o->moves;
  }
  st.counters["moves_per_cycle"] = benchmark::Counter(static_cast<double>(moves), benchmark::Counter::kAvgIterations);
}

// The proc collector's read alone (/proc/interrupts streamed and parsed,
// /proc/stat, /proc/softirqs, /proc/uptime), on a root that changes.
void BM_ProcRead(benchmark::State& st) {
  auto machine = sim::FakeMachine::create(*g_scenario);
  if (!machine) {
    st.SkipWithError(machine.error().message.c_str());
    return;
  }
  core::SteadyClock clock;
  collect::ProcCollector collector(sys::SysRoot((*machine)->root()), clock);
  std::optional<collect::RawSample> held;
  for (auto _ : st) {
    st.PauseTiming();
    const bool stepped = static_cast<bool>((*machine)->step());
    st.ResumeTiming();
    if (!stepped) {
      st.SkipWithError("tick failed");
      return;
    }
    auto r = collector.read();
    if (!r) {
      st.SkipWithError(r.error().message.c_str());
      return;
    }
    // As the daemon does: the reading before the last is handed back.
    if (held) collector.recycle(std::move(*held));
    held = std::move(*r);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  g_scenario = bench::scenario_from_args(argc, argv, "bench_cycle", rest);
  if (!g_scenario) return 2;
  bench::register_cpu_ms("daemon_cycle/" + g_scenario->name + "/proc", [](benchmark::State& st, int) { BM_Cycle(st); }, 0);
  bench::register_cpu_ms("proc_read/" + g_scenario->name, [](benchmark::State& st, int) { BM_ProcRead(st); }, 0);
  return bench::run_benchmarks(rest);
}
