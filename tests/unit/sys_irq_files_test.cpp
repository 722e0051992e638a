// Tests of the per-IRQ file readers against roots built in code:
// /proc/irq/N/*, default_smp_affinity, the debugfs managed flag and
// /sys/kernel/irq/N.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_root.hpp"
#include "irqbpfd/sys/irq_files.hpp"

namespace irqbpfd::sys {
namespace {

using core::CpuSet;
using core::irq_number;
using ::testing::HasSubstr;

void write_irq(const testing::FakeRoot& root, int irq, unsigned affinity_mode = 0644) {
  const std::string dir = "/proc/irq/" + std::to_string(irq);
  root.write(dir + "/smp_affinity", "00000000,0000000f\n", affinity_mode);
  root.write(dir + "/smp_affinity_list", "0-3\n", affinity_mode);
  root.write(dir + "/effective_affinity", "00000000,00000004\n", 0444);
  root.write(dir + "/effective_affinity_list", "2\n", 0444);
  root.write(dir + "/affinity_hint", "00000000,00000000\n", 0444);
  root.write(dir + "/node", "1\n", 0444);
}

TEST(ProcIrq, ReadsEveryFile) {
  testing::FakeRoot root;
  write_irq(root, 42);
  auto files = read_proc_irq(SysRoot(root.path()), irq_number(42));
  ASSERT_TRUE(files.has_value()) << files.error().message;
  EXPECT_EQ(files->smp_affinity, (CpuSet{0, 1, 2, 3}));
  EXPECT_EQ(files->smp_affinity_list, (CpuSet{0, 1, 2, 3}));
  EXPECT_EQ(files->effective_affinity, (CpuSet{2}));
  EXPECT_FALSE(files->affinity_hint.has_value());  // all-zero words
  EXPECT_EQ(files->node, 1);
  EXPECT_TRUE(files->affinity_writable);
  EXPECT_FALSE(files->debugfs_managed.has_value());
}

TEST(ProcIrq, HintWhenTheDriverSetsOne) {
  testing::FakeRoot root;
  write_irq(root, 7);
  root.write("/proc/irq/7/affinity_hint", "00000001,00000000\n", 0444);
  auto files = read_proc_irq(SysRoot(root.path()), irq_number(7));
  ASSERT_TRUE(files.has_value()) << files.error().message;
  EXPECT_EQ(files->affinity_hint, (CpuSet{32}));
}

TEST(ProcIrq, ReadOnlySmpAffinityMeansNotWritable) {
  testing::FakeRoot root;
  write_irq(root, 36, 0444);  // a kernel-managed queue, as /proc/irq/36 on the dev VM
  auto files = read_proc_irq(SysRoot(root.path()), irq_number(36));
  ASSERT_TRUE(files.has_value()) << files.error().message;
  EXPECT_FALSE(files->affinity_writable);
}

TEST(ProcIrq, OptionalFilesMayBeAbsent) {
  testing::FakeRoot root;
  root.write("/proc/irq/9/smp_affinity", "f\n");
  auto files = read_proc_irq(SysRoot(root.path()), irq_number(9));
  ASSERT_TRUE(files.has_value()) << files.error().message;
  EXPECT_EQ(files->smp_affinity, (CpuSet{0, 1, 2, 3}));
  EXPECT_FALSE(files->smp_affinity_list.has_value());
  EXPECT_FALSE(files->effective_affinity.has_value());
  EXPECT_FALSE(files->affinity_hint.has_value());
  EXPECT_FALSE(files->node.has_value());
}

TEST(ProcIrq, EffectiveFallsBackToTheListFile) {
  testing::FakeRoot root;
  root.write("/proc/irq/9/smp_affinity", "f\n");
  root.write("/proc/irq/9/effective_affinity_list", "3\n");
  auto files = read_proc_irq(SysRoot(root.path()), irq_number(9));
  ASSERT_TRUE(files.has_value()) << files.error().message;
  EXPECT_EQ(files->effective_affinity, (CpuSet{3}));
}

TEST(ProcIrq, VanishedIrqIsEnoentNamingTheFile) {
  testing::FakeRoot root;
  root.mkdir("/proc/irq");
  auto files = read_proc_irq(SysRoot(root.path()), irq_number(42));
  ASSERT_FALSE(files.has_value());
  EXPECT_EQ(files.error().message, "/proc/irq/42/smp_affinity: No such file or directory");
  EXPECT_EQ(files.error().errno_value, ENOENT);
}

TEST(IrqAffinity, ReadsTheTwoMasksAsReadProcIrqDoes) {
  testing::FakeRoot root;
  write_irq(root, 42);
  root.write("/proc/irq/9/smp_affinity", "f\n");
  root.write("/proc/irq/9/effective_affinity_list", "3\n");
  root.write("/proc/irq/10/smp_affinity", "1\n");
  for (const int irq : {42, 9, 10}) {
    auto full = read_proc_irq(SysRoot(root.path()), irq_number(irq));
    auto light = read_irq_affinity(SysRoot(root.path()), irq_number(irq));
    ASSERT_TRUE(full.has_value() && light.has_value()) << "irq " << irq;
    EXPECT_EQ(light->smp_affinity, full->smp_affinity) << "irq " << irq;
    EXPECT_EQ(light->effective_affinity, full->effective_affinity) << "irq " << irq;
  }
  auto gone = read_irq_affinity(SysRoot(root.path()), irq_number(77));
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().errno_value, ENOENT);
}

TEST(ProcIrq, MalformedFilesAreErrorsNamingTheFile) {
  testing::FakeRoot root;
  write_irq(root, 5);
  root.write("/proc/irq/5/smp_affinity", "zz\n");
  auto bad_mask = read_proc_irq(SysRoot(root.path()), irq_number(5));
  ASSERT_FALSE(bad_mask.has_value());
  EXPECT_THAT(bad_mask.error().message, HasSubstr("/proc/irq/5/smp_affinity: bad CPU mask"));

  write_irq(root, 5);
  root.write("/proc/irq/5/node", "north\n");
  auto bad_node = read_proc_irq(SysRoot(root.path()), irq_number(5));
  ASSERT_FALSE(bad_node.has_value());
  EXPECT_EQ(bad_node.error().message, "/proc/irq/5/node: bad node 'north'");
}

TEST(ProcIrq, OtherReadErrorsKeepTheirErrno) {
  testing::FakeRoot root;
  write_irq(root, 5);
  // A directory where a file should be: read() fails with EISDIR.
  root.remove("/proc/irq/5/affinity_hint");
  root.mkdir("/proc/irq/5/affinity_hint");
  auto files = read_proc_irq(SysRoot(root.path()), irq_number(5));
  ASSERT_FALSE(files.has_value());
  EXPECT_EQ(files.error().errno_value, EISDIR);
  EXPECT_THAT(files.error().message, HasSubstr("/proc/irq/5/affinity_hint: "));
}

TEST(ProcIrq, DebugfsManagedFlag) {
  testing::FakeRoot root;
  write_irq(root, 36);
  write_irq(root, 41);
  root.write("/sys/kernel/debug/irq/irqs/36",
             "handler:  handle_edge_irq\n"
             "device:   0000:00:02.0\n"
             "status:   0x00000000\n"
             "istate:   0x00000000\n"
             "ddstate:  0x10403200\n"
             "          IRQD_ACTIVATED\n"
             "          IRQD_IRQ_STARTED\n"
             "          IRQD_SINGLE_TARGET\n"
             "          IRQD_AFFINITY_MANAGED\n");
  root.write("/sys/kernel/debug/irq/irqs/41",
             "handler:  handle_edge_irq\n"
             "ddstate:  0x10401200\n"
             "          IRQD_ACTIVATED\n"
             "          IRQD_IRQ_STARTED\n");
  const SysRoot sys(root.path());
  auto managed = read_proc_irq(sys, irq_number(36));
  ASSERT_TRUE(managed.has_value()) << managed.error().message;
  EXPECT_EQ(managed->debugfs_managed, true);
  auto plain = read_proc_irq(sys, irq_number(41));
  ASSERT_TRUE(plain.has_value()) << plain.error().message;
  EXPECT_EQ(plain->debugfs_managed, false);
}

TEST(DefaultSmpAffinity, ParsesTheMask) {
  testing::FakeRoot root;
  root.write("/proc/irq/default_smp_affinity", "ff,ffffffff\n");
  auto set = read_default_smp_affinity(SysRoot(root.path()));
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(*set, CpuSet::first_n(40));

  testing::FakeRoot empty;
  auto missing = read_default_smp_affinity(SysRoot(empty.path()));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message, "/proc/irq/default_smp_affinity: No such file or directory");
}

TEST(SysKernelIrq, ReadsTheDirectoryWhenPresent) {
  testing::FakeRoot root;
  root.write("/sys/kernel/irq/41/actions", "virtio3-rx\n");
  root.write("/sys/kernel/irq/41/chip_name", "PCI-MSIX-0000:00:04.0\n");
  root.write("/sys/kernel/irq/41/hwirq", "1\n");
  root.write("/sys/kernel/irq/41/name", "edge\n");
  root.write("/sys/kernel/irq/41/type", "edge\n");
  root.write("/sys/kernel/irq/41/wakeup", "disabled\n");
  root.mkdir("/sys/kernel/irq/7");  // an older kernel: files missing read ""
  root.write("/sys/kernel/irq/7/chip_name", "IO-APIC\n");
  const SysRoot sys(root.path());

  auto irq = read_sys_kernel_irq(sys, irq_number(41));
  ASSERT_TRUE(irq.has_value()) << irq.error().message;
  ASSERT_TRUE(irq->has_value());
  EXPECT_EQ((*irq)->actions, "virtio3-rx");
  EXPECT_EQ((*irq)->chip_name, "PCI-MSIX-0000:00:04.0");
  EXPECT_EQ((*irq)->hwirq, "1");
  EXPECT_EQ((*irq)->name, "edge");
  EXPECT_EQ((*irq)->type, "edge");
  EXPECT_EQ((*irq)->wakeup, "disabled");

  auto partial = read_sys_kernel_irq(sys, irq_number(7));
  ASSERT_TRUE(partial.has_value()) << partial.error().message;
  ASSERT_TRUE(partial->has_value());
  EXPECT_EQ((*partial)->chip_name, "IO-APIC");
  EXPECT_EQ((*partial)->actions, "");

  auto absent = read_sys_kernel_irq(sys, irq_number(99));
  ASSERT_TRUE(absent.has_value()) << absent.error().message;
  EXPECT_FALSE(absent->has_value());
}

TEST(ProcIrq, CapturedVm2Files) {
  testing::FakeRoot root;
  root.copy_fixture("vm2");
  const SysRoot sys(root.path());
  auto files = read_proc_irq(sys, irq_number(41));
  ASSERT_TRUE(files.has_value()) << files.error().message;
  EXPECT_EQ(files->smp_affinity, (CpuSet{0, 1}));
  EXPECT_EQ(files->smp_affinity_list, (CpuSet{0, 1}));
  ASSERT_TRUE(files->effective_affinity.has_value());
  EXPECT_EQ(files->effective_affinity->count(), 1U);
  EXPECT_FALSE(files->affinity_hint.has_value());

  auto sys_irq = read_sys_kernel_irq(sys, irq_number(41));
  ASSERT_TRUE(sys_irq.has_value() && sys_irq->has_value());
  EXPECT_EQ((*sys_irq)->chip_name, "PCI-MSIX-0000:00:04.0");
  EXPECT_EQ((*sys_irq)->actions, "virtio3-rx");

  auto def = read_default_smp_affinity(sys);
  ASSERT_TRUE(def.has_value()) << def.error().message;
  EXPECT_EQ(*def, (CpuSet{0, 1}));
}

}  // namespace
}  // namespace irqbpfd::sys
