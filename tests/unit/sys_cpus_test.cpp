// Tests of the CPU state reader: the summary files, missing optional sets,
// "(null)" nohz_full, and the per-CPU online fallback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_root.hpp"
#include "irqbpfd/sys/cpus.hpp"

namespace irqbpfd::sys {
namespace {

using core::CpuSet;
using ::testing::HasSubstr;

constexpr std::string_view kCpu = "/sys/devices/system/cpu/";

TEST(CpuState, ReadsTheSummaryFiles) {
  testing::FakeRoot root;
  const std::string dir(kCpu);
  root.write(dir + "possible", "0-7\n");
  root.write(dir + "present", "0-5\n");
  root.write(dir + "online", "0,2-5\n");
  root.write(dir + "isolated", "4-5\n");
  root.write(dir + "nohz_full", "5\n");
  auto state = read_cpu_state(SysRoot(root.path()));
  ASSERT_TRUE(state.has_value()) << state.error().message;
  EXPECT_EQ(state->possible, CpuSet::first_n(8));
  EXPECT_EQ(state->present, CpuSet::first_n(6));
  EXPECT_EQ(state->online, (CpuSet{0, 2, 3, 4, 5}));
  EXPECT_EQ(state->isolated, (CpuSet{4, 5}));
  EXPECT_EQ(state->nohz_full, (CpuSet{5}));
}

TEST(CpuState, MissingOptionalFilesAndNullNohzFull) {
  testing::FakeRoot root;
  const std::string dir(kCpu);
  root.write(dir + "online", "0-3\n");
  root.write(dir + "isolated", "\n");
  root.write(dir + "nohz_full", "(null)\n");
  auto state = read_cpu_state(SysRoot(root.path()));
  ASSERT_TRUE(state.has_value()) << state.error().message;
  EXPECT_EQ(state->possible, CpuSet::first_n(4));  // falls back to online
  EXPECT_EQ(state->present, CpuSet::first_n(4));
  EXPECT_TRUE(state->isolated.empty());
  EXPECT_TRUE(state->nohz_full.empty());
}

TEST(CpuState, OnlineFromPerCpuFilesWhenTheSummaryIsMissing) {
  testing::FakeRoot root;
  const std::string dir(kCpu);
  root.mkdir(dir + "cpu0");  // no online file: cannot be unplugged
  root.write(dir + "cpu1/online", "0\n");
  root.write(dir + "cpu2/online", "1\n");
  root.write(dir + "cpu10/online", "1\n");
  root.mkdir(dir + "cpufreq");
  root.mkdir(dir + "cpuidle");
  root.write(dir + "possible", "0-15\n");
  auto state = read_cpu_state(SysRoot(root.path()));
  ASSERT_TRUE(state.has_value()) << state.error().message;
  EXPECT_EQ(state->online, (CpuSet{0, 2, 10}));
  EXPECT_EQ(state->possible, CpuSet::first_n(16));
}

TEST(CpuStateErrors, NothingToDeriveOnlineFrom) {
  testing::FakeRoot root;
  auto none = read_cpu_state(SysRoot(root.path()));
  ASSERT_FALSE(none.has_value());
  EXPECT_THAT(none.error().message, HasSubstr("/sys/devices/system/cpu/online is missing"));

  testing::FakeRoot empty;
  empty.mkdir(std::string(kCpu) + "cpufreq");
  auto no_cpus = read_cpu_state(SysRoot(empty.path()));
  ASSERT_FALSE(no_cpus.has_value());
  EXPECT_THAT(no_cpus.error().message, HasSubstr("no cpuN directories"));
}

TEST(CpuStateErrors, MalformedListsNameTheFile) {
  testing::FakeRoot root;
  root.write(std::string(kCpu) + "online", "0-3\n");
  root.write(std::string(kCpu) + "isolated", "3-1\n");
  auto state = read_cpu_state(SysRoot(root.path()));
  ASSERT_FALSE(state.has_value());
  EXPECT_THAT(state.error().message, HasSubstr("/sys/devices/system/cpu/isolated: bad CPU list"));

  testing::FakeRoot flag;
  flag.write(std::string(kCpu) + "cpu1/online", "yes\n");
  auto bad_flag = read_cpu_state(SysRoot(flag.path()));
  ASSERT_FALSE(bad_flag.has_value());
  EXPECT_EQ(bad_flag.error().message, "/sys/devices/system/cpu/cpu1/online: expected 0 or 1, found 'yes'");
}

TEST(CpuState, CapturedVm2) {
  testing::FakeRoot root;
  root.copy_fixture("vm2");
  auto state = read_cpu_state(SysRoot(root.path()));
  ASSERT_TRUE(state.has_value()) << state.error().message;
  EXPECT_EQ(state->online, (CpuSet{0, 1}));
  EXPECT_EQ(state->possible, (CpuSet{0, 1}));
  EXPECT_EQ(state->present, (CpuSet{0, 1}));
  EXPECT_TRUE(state->isolated.empty());
  EXPECT_TRUE(state->nohz_full.empty());
}

TEST(NrCpuIds, IsTheHighestPossibleCpuPlusOne) {
  testing::FakeRoot root;
  const std::string dir(kCpu);
  root.write(dir + "possible", "0-39\n");
  root.write(dir + "online", "0-3\n");
  auto n = read_nr_cpu_ids(SysRoot(root.path()));
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_EQ(*n, 40U);

  root.write(dir + "possible", "0,71\n");  // sparse: the width still reaches 71
  EXPECT_EQ(*read_nr_cpu_ids(SysRoot(root.path())), 72U);
}

TEST(NrCpuIds, FallsBackToOnlineAndRejectsAnEmptyList) {
  testing::FakeRoot root;
  const std::string dir(kCpu);
  root.write(dir + "online", "0-1\n");
  EXPECT_EQ(*read_nr_cpu_ids(SysRoot(root.path())), 2U);
  root.write(dir + "possible", "\n");
  auto empty = read_nr_cpu_ids(SysRoot(root.path()));
  ASSERT_FALSE(empty.has_value());
  EXPECT_THAT(empty.error().message, HasSubstr("possible: no CPUs"));
}

}  // namespace
}  // namespace irqbpfd::sys
