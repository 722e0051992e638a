// The simulator's command line through the real binaries: irqbpfd-sim, and
// `irqbpfd simulate`, which execs irqbpfd-sim found beside irqbpfd or on
// PATH. The closed loop converges on a skewed NIC scenario, bad scenario
// files are errors that name the file and key, and a missing irqbpfd-sim is
// a usage error saying where it was looked for.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fake_root.hpp"
#include "run_command.hpp"

namespace irqbpfd::sim {
namespace {

namespace fs = std::filesystem;

const fs::path kScenarios = fs::path(IRQBPFD_FIXTURES_DIR) / ".." / "sim" / "scenarios";

std::string skewed_nic() { return (kScenarios / "skewed-nic.toml").string(); }

TEST(SimulateCommand, SkewedNicConvergesToTheLowerBoundAndStopsWriting) {
  const auto r = testing::run_command({IRQBPFD_SIM_BINARY, skewed_nic(), "--json"});
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
  const auto r = testing::run_command({IRQBPFD_SIM_BINARY, skewed_nic(), "--ticks", "6"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("scenario skewed-nic"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("converged at tick"));
}

TEST(SimulateCommand, BadScenarioNamesFileAndKey) {
  const std::string bad = (fs::temp_directory_path() / "irqbpfd-bad-scenario.toml").string();
  std::ofstream(bad) << "topology = 3\n";
  const auto direct = testing::run_command({IRQBPFD_SIM_BINARY, bad});
  const auto wrapped = testing::run_command({IRQBPFD_BINARY, "simulate", bad});
  std::remove(bad.c_str());
  EXPECT_EQ(direct.exit_code, 1);
  EXPECT_THAT(direct.err, ::testing::HasSubstr("irqbpfd-sim: "));
  EXPECT_THAT(direct.err, ::testing::HasSubstr("irqbpfd-bad-scenario.toml: topology"));
  EXPECT_EQ(wrapped.exit_code, 1);
  EXPECT_EQ(wrapped.err, direct.err);
}

// `irqbpfd simulate ARGS` is `irqbpfd-sim ARGS`: the same output, exit
// status and usage errors.
TEST(SimulateCommand, IrqbpfdSimulateRunsIrqbpfdSim) {
  const auto direct = testing::run_command({IRQBPFD_SIM_BINARY, skewed_nic(), "--ticks", "3", "--json"});
  const auto wrapped = testing::run_command({IRQBPFD_BINARY, "simulate", skewed_nic(), "--ticks", "3", "--json"});
  ASSERT_EQ(wrapped.exit_code, 0) << wrapped.err;
  // plan_us is CPU time: compare what the loop did, not how long it took.
  auto facts = [](const std::string& out) {
    auto doc = nlohmann::json::parse(out);
    for (auto& t : doc.at("ticks")) {
      t.erase("plan_us");
      t.erase("plan_stat_ms");
    }
    doc.erase("mean_plan_us");
    doc.erase("max_plan_us");
    return doc;
  };
  EXPECT_EQ(facts(wrapped.out), facts(direct.out));
  EXPECT_EQ(testing::run_command({IRQBPFD_BINARY, "simulate", skewed_nic(), "--ticks", "0"}).exit_code, 2);
  EXPECT_EQ(testing::run_command({IRQBPFD_BINARY, "simulate"}).exit_code, 2);
  const auto help = testing::run_command({IRQBPFD_BINARY, "simulate", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, ::testing::HasSubstr("--balancer"));
  // After irqbpfd's own options too (which do not apply to the simulator).
  const auto late = testing::run_command({IRQBPFD_BINARY, "--log-level", "info", "simulate", skewed_nic(), "--ticks", "2"});
  EXPECT_EQ(late.exit_code, 0) << late.err;
  EXPECT_THAT(late.out, ::testing::HasSubstr("scenario skewed-nic"));
}

// A copy of irqbpfd in a directory without irqbpfd-sim: found on PATH, or
// a usage error naming both places it looked.
TEST(SimulateCommand, IrqbpfdSimulateLooksBesideItselfThenOnPath) {
  const testing::FakeRoot dir;
  const fs::path irqbpfd = dir.path() / "irqbpfd";
  fs::copy_file(IRQBPFD_BINARY, irqbpfd);
  fs::create_directory(dir.path() / "empty");

  const std::string sim_dir = fs::path(IRQBPFD_SIM_BINARY).parent_path().string();
  const auto on_path = testing::run_command(
      {"/usr/bin/env", "PATH=" + sim_dir, irqbpfd.string(), "simulate", skewed_nic(), "--ticks", "2", "--json"});
  ASSERT_EQ(on_path.exit_code, 0) << on_path.err;
  EXPECT_EQ(nlohmann::json::parse(on_path.out).at("ticks").size(), 2U);

  const std::string empty = (dir.path() / "empty").string();
  const auto missing =
      testing::run_command({"/usr/bin/env", "PATH=" + empty, irqbpfd.string(), "simulate", skewed_nic()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(missing.out.empty()) << missing.out;
  EXPECT_THAT(missing.err, ::testing::HasSubstr("irqbpfd-sim not found"));
  EXPECT_THAT(missing.err, ::testing::HasSubstr((dir.path() / "irqbpfd-sim").string()));
  EXPECT_THAT(missing.err, ::testing::HasSubstr("on PATH (" + empty + ")"));
}

}  // namespace
}  // namespace irqbpfd::sim
