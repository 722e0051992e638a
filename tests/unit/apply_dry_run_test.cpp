// Tests of DryRunWriter: it reads the current masks through the same seam,
// records (irq, from, to) for each write it would make, reports dry-run or
// what the reads alone decide (unchanged, managed, vanished), and writes
// nothing, neither to a fake nor to a fake root.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "apply_test_util.hpp"
#include "fake_root.hpp"
#include "irqbpfd/apply/affinity_writer.hpp"

namespace irqbpfd::apply {
namespace {

using core::CpuSet;
using core::irq_number;
using test::FakeKernelFiles;

TEST(DryRunWriter, RecordsWhatItWouldWriteAndWritesNothing) {
  FakeKernelFiles files;
  files.add_irq(30, "3", 0644, "1");
  files.add_irq(31, "2");
  files.add_irq(32, "3", 0444);
  DryRunWriter writer(files, 2);
  EXPECT_EQ(writer.name(), "dry-run");

  const WriteResult moved = writer.write(irq_number(30), CpuSet{1});
  EXPECT_EQ(moved.outcome, Outcome::kDryRun);
  EXPECT_EQ(moved.message, "irq 30: smp_affinity: would write 0-1 -> 1 (dry run)");
  EXPECT_EQ(moved.smp_affinity, (CpuSet{0, 1})) << "still what it was";
  EXPECT_EQ(moved.effective_affinity, CpuSet{0});
  EXPECT_EQ(writer.write(irq_number(31), CpuSet{1}).outcome, Outcome::kUnchanged);
  EXPECT_EQ(writer.write(irq_number(32), CpuSet{1}).outcome, Outcome::kManaged);
  EXPECT_EQ(writer.write(irq_number(33), CpuSet{1}).outcome, Outcome::kVanished);
  EXPECT_EQ(writer.write(irq_number(31), CpuSet{0}).outcome, Outcome::kDryRun);

  ASSERT_EQ(writer.planned().size(), 2U);
  EXPECT_EQ(writer.planned()[0].irq, irq_number(30));
  EXPECT_EQ(writer.planned()[0].from, (CpuSet{0, 1}));
  EXPECT_EQ(writer.planned()[0].to, CpuSet{1});
  EXPECT_EQ(writer.planned()[1].irq, irq_number(31));
  EXPECT_EQ(writer.planned()[1].from, CpuSet{1});
  EXPECT_EQ(writer.planned()[1].to, CpuSet{0});
  EXPECT_TRUE(files.writes.empty());
}

TEST(DryRunWriter, LeavesAFakeRootUntouched) {
  testing::FakeRoot root;
  root.write("/proc/irq/30/smp_affinity", "3\n");
  SysRootFiles files{sys::SysRoot(root.path())};
  DryRunWriter writer(files, 2);
  EXPECT_EQ(writer.write(irq_number(30), CpuSet{1}).outcome, Outcome::kDryRun);
  EXPECT_EQ(*files.read("/proc/irq/30/smp_affinity"), "3\n");
}

}  // namespace
}  // namespace irqbpfd::apply
