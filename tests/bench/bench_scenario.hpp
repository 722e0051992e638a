// What the simulator benchmarks share: the command line (`--scenario FILE`
// taken out, the rest left for Google Benchmark, the scenario loaded), how
// a benchmark is registered and how they are run.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/sim/scenario.hpp"

namespace irqbpfd::bench {

// The scenario named by --scenario, or nullopt after printing why (usage or
// the loader's error). `rest` gets argv[0] and every other argument.
inline std::optional<sim::Scenario> scenario_from_args(int argc, char** argv, const char* program,
                                                       std::vector<char*>& rest) {
  std::string file;
  rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--scenario") == 0 && i + 1 < argc) {
      file = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "usage: %s --scenario FILE [benchmark flags]\n", program);
    return std::nullopt;
  }
  auto scenario = sim::load_scenario(file);
  if (!scenario) {
    std::fprintf(stderr, "%s\n", scenario.error().message.c_str());
    return std::nullopt;
  }
  return std::move(*scenario);
}

// A benchmark reported in milliseconds of process CPU time.
template <class Fn, class Arg>
void register_cpu_ms(const std::string& name, Fn fn, Arg arg) {
  benchmark::RegisterBenchmark(name.c_str(), fn, arg)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();
}

// Google Benchmark over the arguments scenario_from_args left; main's result.
inline int run_benchmarks(std::vector<char*>& rest) {
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace irqbpfd::bench
