// Helpers shared by the simulator tests: where the scenario files live and
// loading one by name (failing the test with the loader's message).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "irqbpfd/sim/scenario.hpp"
#include "irqbpfd/sim/simulator.hpp"

namespace irqbpfd::sim {

inline std::filesystem::path scenarios_dir() {
  return std::filesystem::path(IRQBPFD_FIXTURES_DIR).parent_path() / "sim" / "scenarios";
}

inline Scenario load_or_fail(const std::string& name) {
  auto s = load_scenario(scenarios_dir() / (name + ".toml"));
  if (!s) {
    ADD_FAILURE() << s.error().message;
    return Scenario{};
  }
  return *s;
}

}  // namespace irqbpfd::sim
