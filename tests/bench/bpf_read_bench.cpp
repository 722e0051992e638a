// Userspace cost of one full read of the BPF counters (BpfPrograms::read),
// for the synthetic 4096 IRQs x 256 CPUs sizing and for this
// machine's own sizing. The programs are loaded but not attached (raw_tp,
// fake clock); cells are filled with BPF_PROG_TEST_RUN on the CPUs this
// machine has, so the scan is over the full-size maps with real active cells.
// Needs root (or CAP_BPF + CAP_PERFMON).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <memory>

#include "irqbpfd/collect/bpf_programs.hpp"

namespace {

using irqbpfd::collect::AttachMode;
using irqbpfd::collect::BpfOptions;
using irqbpfd::collect::BpfPrograms;
using Program = BpfPrograms::Program;

std::unique_ptr<BpfPrograms> loaded(std::uint32_t irqs, std::uint32_t cpus, std::string& error) {
  BpfOptions options;
  options.sizing = {irqs, cpus};
  options.mode = AttachMode::kRawTp;
  options.attach = false;
  options.fake_clock = true;
  auto p = BpfPrograms::open(options);
  if (!p) {
    error = p.error().message;
    return nullptr;
  }
  return std::move(*p);
}

// One handler run of `irq` on `cpu`, 500 ns long.
bool fire(BpfPrograms& p, std::uint32_t cpu, std::uint64_t irq, std::uint64_t& now) {
  p.set_fake_now(now);
  if (!p.test_run(Program::kIrqEntry, irqbpfd::core::cpu_id(cpu), {irq, 0, 0})) return false;
  now += 500;
  p.set_fake_now(now);
  return static_cast<bool>(p.test_run(Program::kIrqExit, irqbpfd::core::cpu_id(cpu), {irq, 0, 0}));
}

// range(0) IRQs x range(1) CPUs sizing; range(2) IRQs with counts on each
// online CPU; range(3): counts moved between reads (1) or not (0).
void BM_BpfRead(benchmark::State& state) {
  const auto irqs = static_cast<std::uint32_t>(state.range(0));
  const auto cpus = static_cast<std::uint32_t>(state.range(1));
  const auto active_irqs = static_cast<std::uint32_t>(state.range(2));
  const bool moving = state.range(3) != 0;
  std::string error;
  auto programs = loaded(irqs, cpus, error);
  if (!programs) {
    state.SkipWithError(error.c_str());
    return;
  }
  const auto online = static_cast<std::uint32_t>(sysconf(_SC_NPROCESSORS_ONLN));
  std::uint64_t now = 1000;
  for (std::uint32_t irq = 0; irq < active_irqs; ++irq) {
    for (std::uint32_t cpu = 0; cpu < online && cpu < cpus; ++cpu) {
      if (!fire(*programs, cpu, irq, now)) {
        state.SkipWithError("BPF_PROG_TEST_RUN failed");
        return;
      }
    }
  }
  std::size_t cells = 0;
  std::uint32_t next = 0;
  for (auto _ : state) {
    if (moving) {
      state.PauseTiming();
      for (int i = 0; i < 64; ++i) fire(*programs, next % online, (next * 7) % active_irqs, now), ++next;
      state.ResumeTiming();
    }
    auto r = programs->read();
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    cells = r->cells.size();
    benchmark::DoNotOptimize(r->cells.data());
  }
  state.counters["active_cells"] = static_cast<double>(cells);
  state.counters["map_MiB"] = static_cast<double>(programs->map_bytes()) / (1024.0 * 1024.0);
}

BENCHMARK(BM_BpfRead)
    ->ArgNames({"irqs", "cpus", "active_irqs", "moving"})
    ->Args({4096, 256, 4096, 0})
    ->Args({4096, 256, 4096, 1})
    ->Args({4096, 256, 256, 1})
    ->Args({128, 2, 24, 1})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
