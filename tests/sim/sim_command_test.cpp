// `irqbpfd simulate SCENARIO` through the real binary: the closed loop
// converges on a skewed NIC scenario, and bad scenario files are errors that
// name the file and key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_command.hpp"

namespace irqbpfd::sim {
namespace {

const std::filesystem::path kScenarios = std::filesystem::path(IRQBPFD_FIXTURES_DIR) / ".." / "sim" / "scenarios";

TEST(SimulateCommand, SkewedNicConvergesToTheLowerBoundAndStopsWriting) {
  const auto r = testing::run_command({IRQBPFD_BINARY, "simulate", (kScenarios / "skewed-nic.toml").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc.at("collector"), "replay");
  const auto& phase = doc.at("phases").at(0);
  ASSERT_FALSE(phase.at("converged_at").is_null());
  EXPECT_LE(phase.at("converged_at").get<int>(), 2);
  EXPECT_LE(phase.at("final_max_pct").get<double>(), phase.at("lower_bound_pct").get<double>() * 1.02);
  EXPECT_TRUE(phase.at("flapped").empty());
  // Every write happened in the first cycles; none after convergence.
  EXPECT_EQ(doc.at("total_writes"), phase.at("writes"));
}

TEST(SimulateCommand, TableNamesTheScenarioAndTheSummary) {
  const auto r = testing::run_command({IRQBPFD_BINARY, "simulate", (kScenarios / "skewed-nic.toml").string(), "--ticks", "6"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("scenario skewed-nic"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("converged at tick"));
}

TEST(SimulateCommand, BadScenarioNamesFileAndKey) {
  const std::string bad = (std::filesystem::temp_directory_path() / "irqbpfd-bad-scenario.toml").string();
  std::ofstream(bad) << "topology = 3\n";
  const auto r = testing::run_command({IRQBPFD_BINARY, "simulate", bad});
  std::remove(bad.c_str());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("irqbpfd-bad-scenario.toml: topology"));
}

}  // namespace
}  // namespace irqbpfd::sim
