// load_live on the machine running the tests, and load_from_root's errors and
// environment hygiene.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>
#include <sstream>

#include "fake_root.hpp"
#include "irqbpfd/topology/machine.hpp"
#include "topology_test_util.hpp"

namespace irqbpfd::topology {
namespace {

TEST(TopologyLive, CpusAreTheOnlineOnes) {
  std::ifstream in("/sys/devices/system/cpu/online");
  if (!in) GTEST_SKIP() << "no /sys/devices/system/cpu/online (not Linux sysfs)";
  std::stringstream text;
  text << in.rdbuf();
  const auto online = core::CpuSet::parse_list(text.str());
  ASSERT_TRUE(online) << online.error().message;

  const auto m = load_live();
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->source, "live");
  EXPECT_EQ(m->cpus.to_list(), online->to_list());
  test::expect_consistent(*m);
  EXPECT_GE(m->nodes.size(), 1U);
  EXPECT_GE(m->package_count(), 1U);
  EXPECT_GE(m->core_count(), 1U);
}

TEST(TopologyRoot, MissingRootIsAnErrorNamingIt) {
  const auto m = load_from_root("/nonexistent/irqbpfd-root");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("/nonexistent/irqbpfd-root"), std::string::npos) << m.error().message;
}

TEST(TopologyRoot, RootWithoutSysfsIsAnError) {
  irqbpfd::testing::FakeRoot root;
  root.write("/proc/cpuinfo", "");
  const auto m = load_from_root(root.path());
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find(root.path().string()), std::string::npos) << m.error().message;
}

// Saves the variables a test changes and puts them back even when the test
// fails half-way.
class EnvSnapshot {
 public:
  explicit EnvSnapshot(std::vector<std::string> names) : names_(std::move(names)) {
    for (const auto& n : names_) {
      const char* v = std::getenv(n.c_str());
      saved_.push_back(v == nullptr ? std::nullopt : std::optional<std::string>(v));
    }
  }
  ~EnvSnapshot() {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (saved_[i]) {
        ::setenv(names_[i].c_str(), saved_[i]->c_str(), 1);
      } else {
        ::unsetenv(names_[i].c_str());
      }
    }
  }
  EnvSnapshot(const EnvSnapshot&) = delete;
  EnvSnapshot& operator=(const EnvSnapshot&) = delete;

 private:
  std::vector<std::string> names_;
  std::vector<std::optional<std::string>> saved_;
};

TEST(TopologyRoot, RestoresTheEnvironment) {
  const EnvSnapshot snapshot({"HWLOC_COMPONENTS", "HWLOC_FSROOT", "HWLOC_THISSYSTEM"});
  ::setenv("HWLOC_COMPONENTS", "linux", 1);
  ::unsetenv("HWLOC_FSROOT");
  ::unsetenv("HWLOC_THISSYSTEM");
  irqbpfd::testing::FakeRoot root;
  root.copy_fixture("numa2");
  const auto m = load_from_root(root.path());
  EXPECT_TRUE(m) << m.error().message;
  ASSERT_NE(std::getenv("HWLOC_COMPONENTS"), nullptr);
  EXPECT_STREQ(std::getenv("HWLOC_COMPONENTS"), "linux");
  EXPECT_EQ(std::getenv("HWLOC_FSROOT"), nullptr);
  EXPECT_EQ(std::getenv("HWLOC_THISSYSTEM"), nullptr);
}

}  // namespace
}  // namespace irqbpfd::topology
