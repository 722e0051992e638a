// Tests of RestoreSet: the capture of every /proc/irq/N/smp_affinity, and the
// round trip: moved IRQs written back, untouched ones unchanged (no write),
// vanished and managed ones skipped, one result per IRQ.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "apply_test_util.hpp"
#include "fake_root.hpp"
#include "irqbpfd/apply/restore_set.hpp"

namespace irqbpfd::apply {
namespace {

using core::CpuSet;
using core::irq_number;
using test::FakeKernelFiles;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(RestoreSet, CapturesEveryNumberedIrq) {
  FakeKernelFiles files;
  files.add_irq(0, "1");
  files.add_irq(9, "3");
  files.add_irq(36, "2", 0444);
  files.add_irq(40, "garbage");
  files.add_irq(41, "3");
  files.read_errno[FakeKernelFiles::affinity_path(41)] = EIO;
  files.files["/proc/irq/default_smp_affinity"] = {"3\n", 0644};
  auto set = RestoreSet::capture(files);
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_THAT(set->masks(), ElementsAre(Pair(irq_number(0), CpuSet{0}), Pair(irq_number(9), (CpuSet{0, 1})),
                                        Pair(irq_number(36), CpuSet{1})));
  ASSERT_EQ(set->unreadable().size(), 2U);
  EXPECT_THAT(set->unreadable().at(irq_number(40)).message, HasSubstr("/proc/irq/40/smp_affinity: bad CPU mask"));
  EXPECT_EQ(set->unreadable().at(irq_number(41)).errno_value, EIO);
}

TEST(RestoreSet, CaptureFailsWithoutProcIrq) {
  FakeKernelFiles files;
  auto set = RestoreSet::capture(files);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().errno_value, ENOENT);
}

TEST(RestoreSet, RoundTrip) {
  FakeKernelFiles files;
  files.add_irq(30, "3");
  files.add_irq(31, "3");
  files.add_irq(32, "1", 0444);
  files.add_irq(33, "3");
  auto set = RestoreSet::capture(files);
  ASSERT_TRUE(set.has_value()) << set.error().message;

  // The daemon moves 30 and 31; the kernel moves managed 32 (a hotplug);
  // 33 is freed.
  ProcAffinityWriter writer(files, 2);
  ASSERT_EQ(writer.write(irq_number(30), CpuSet{0}).outcome, Outcome::kDone);
  ASSERT_EQ(writer.write(irq_number(31), CpuSet{1}).outcome, Outcome::kDone);
  files.files[FakeKernelFiles::affinity_path(32)].content = "2\n";
  files.remove_irq(33);
  files.add_irq(34, "1");  // new since the capture: not ours to restore
  files.writes.clear();

  const std::vector<WriteResult> results = set->restore(writer);
  ASSERT_EQ(results.size(), 4U);
  EXPECT_EQ(results[0].irq, irq_number(30));
  EXPECT_EQ(results[0].outcome, Outcome::kDone) << results[0].message;
  EXPECT_EQ(results[1].outcome, Outcome::kDone) << results[1].message;
  EXPECT_EQ(results[2].outcome, Outcome::kManaged);
  EXPECT_EQ(results[3].outcome, Outcome::kVanished);
  EXPECT_EQ(files.content(30), "3\n");
  EXPECT_EQ(files.content(31), "3\n");
  EXPECT_EQ(files.content(32), "2\n");
  EXPECT_EQ(files.content(34), "1\n");
  EXPECT_THAT(files.writes, ElementsAre(Pair(FakeKernelFiles::affinity_path(30), "3\n"),
                                        Pair(FakeKernelFiles::affinity_path(31), "3\n")));
  EXPECT_EQ(files.files.count("/proc/irq/33/smp_affinity"), 0U);

  files.writes.clear();
  for (const WriteResult& r : set->restore(writer)) {
    EXPECT_NE(r.outcome, Outcome::kDone) << "a second restore has nothing to write: " << r.message;
  }
  EXPECT_TRUE(files.writes.empty());
}

TEST(RestoreSet, RoundTripOnAFakeRoot) {
  testing::FakeRoot root;
  root.write("/proc/irq/default_smp_affinity", "3\n");
  root.write("/proc/irq/30/smp_affinity", "3\n");
  root.write("/proc/irq/31/smp_affinity", "2\n", 0444);
  SysRootFiles files{sys::SysRoot(root.path())};
  auto set = RestoreSet::capture(files);
  ASSERT_TRUE(set.has_value()) << set.error().message;
  ASSERT_EQ(set->masks().size(), 2U);

  ProcAffinityWriter writer(files, 2);
  ASSERT_EQ(writer.write(irq_number(30), CpuSet{1}).outcome, Outcome::kDone);
  const auto results = set->restore(writer);
  ASSERT_EQ(results.size(), 2U);
  EXPECT_EQ(results[0].outcome, Outcome::kDone);
  EXPECT_EQ(results[1].outcome, Outcome::kUnchanged);
  EXPECT_EQ(*files.read("/proc/irq/30/smp_affinity"), "3\n");
}

}  // namespace
}  // namespace irqbpfd::apply
