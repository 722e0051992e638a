// Tests of SysRoot: path resolution under a root, whole-file reads past the
// first buffer, sorted listings, readlink, modes, and errors that name the
// kernel path and keep errno.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "fake_root.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::sys {
namespace {

using ::testing::ElementsAre;

TEST(SysRoot, ResolvesKernelPathsUnderTheRoot) {
  const SysRoot fake("/tmp/machine");
  EXPECT_EQ(fake.path("/proc/interrupts"), std::filesystem::path("/tmp/machine/proc/interrupts"));
  EXPECT_FALSE(fake.is_live());
  const SysRoot live("/");
  EXPECT_EQ(live.path("/proc/interrupts"), std::filesystem::path("/proc/interrupts"));
  EXPECT_TRUE(live.is_live());
}

TEST(SysRoot, ReadsWholeFilesOfAnySize) {
  testing::FakeRoot root;
  std::string big;
  for (int i = 0; i < 20000; ++i) big += std::to_string(i) + ' ';  // > 100 KB
  root.write("/proc/interrupts", big);
  root.write("/proc/irq/default_smp_affinity", "");
  const SysRoot sys(root.path());
  auto text = sys.read("/proc/interrupts");
  ASSERT_TRUE(text.has_value()) << text.error().message;
  EXPECT_EQ(*text, big);
  auto empty = sys.read("/proc/irq/default_smp_affinity");
  ASSERT_TRUE(empty.has_value()) << empty.error().message;
  EXPECT_EQ(*empty, "");
}

TEST(SysRoot, ErrorsNameTheKernelPathAndKeepErrno) {
  testing::FakeRoot root;
  const SysRoot sys(root.path());
  auto missing = sys.read("/proc/irq/42/smp_affinity");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message, "/proc/irq/42/smp_affinity: No such file or directory");
  EXPECT_EQ(missing.error().errno_value, ENOENT);

  auto no_dir = sys.list("/sys/bus/pci/devices");
  ASSERT_FALSE(no_dir.has_value());
  EXPECT_EQ(no_dir.error().errno_value, ENOENT);
  EXPECT_EQ(no_dir.error().message, "/sys/bus/pci/devices: No such file or directory");

  EXPECT_FALSE(sys.read_link("/sys/bus/pci/devices/x/driver").has_value());
  EXPECT_FALSE(sys.mode("/proc/irq/1/smp_affinity").has_value());
  EXPECT_FALSE(sys.exists("/proc/irq/1"));
}

TEST(SysRoot, ListsSortedWithoutDotEntries) {
  testing::FakeRoot root;
  root.write("/proc/irq/41/node", "0\n");
  root.write("/proc/irq/9/node", "0\n");
  root.write("/proc/irq/default_smp_affinity", "3\n");
  auto names = SysRoot(root.path()).list("/proc/irq");
  ASSERT_TRUE(names.has_value()) << names.error().message;
  EXPECT_THAT(*names, ElementsAre("41", "9", "default_smp_affinity"));
}

TEST(SysRoot, ReadLinkModeAndExists) {
  testing::FakeRoot root;
  root.symlink("../../../bus/pci/drivers/virtio-pci", "/sys/bus/pci/devices/0000:00:04.0/driver");
  root.write("/proc/irq/36/smp_affinity", "3\n", 0444);
  root.write("/proc/irq/41/smp_affinity", "3\n", 0644);
  const SysRoot sys(root.path());
  auto link = sys.read_link("/sys/bus/pci/devices/0000:00:04.0/driver");
  ASSERT_TRUE(link.has_value()) << link.error().message;
  EXPECT_EQ(*link, "../../../bus/pci/drivers/virtio-pci");
  EXPECT_EQ(*sys.mode("/proc/irq/36/smp_affinity"), 0444U);
  EXPECT_EQ(*sys.mode("/proc/irq/41/smp_affinity"), 0644U);
  EXPECT_TRUE(sys.exists("/proc/irq/36"));
  EXPECT_TRUE(sys.exists("/proc/irq/36/smp_affinity"));
}

TEST(SysRoot, WriteReplacesAnExistingFile) {
  testing::FakeRoot root;
  root.write("/proc/irq/36/smp_affinity", "ff,ffffffff\n");
  const SysRoot sys(root.path());
  auto wrote = sys.write("/proc/irq/36/smp_affinity", "1\n");
  ASSERT_TRUE(wrote.has_value()) << wrote.error().message;
  EXPECT_EQ(*sys.read("/proc/irq/36/smp_affinity"), "1\n");  // truncated, not overlaid
}

// A vanished IRQ must read as ENOENT, never leave a new plain file behind:
// neither when its directory went, nor when only the file did.
TEST(SysRoot, WriteNeverCreatesAFile) {
  testing::FakeRoot root;
  root.mkdir("/proc/irq/36");
  const SysRoot sys(root.path());
  auto no_file = sys.write("/proc/irq/36/smp_affinity", "1\n");
  ASSERT_FALSE(no_file.has_value());
  EXPECT_EQ(no_file.error().errno_value, ENOENT);
  EXPECT_EQ(no_file.error().message, "/proc/irq/36/smp_affinity: No such file or directory");
  EXPECT_FALSE(sys.exists("/proc/irq/36/smp_affinity"));

  auto no_dir = sys.write("/proc/irq/77/smp_affinity", "1\n");
  ASSERT_FALSE(no_dir.has_value());
  EXPECT_EQ(no_dir.error().errno_value, ENOENT);
  EXPECT_FALSE(sys.exists("/proc/irq/77"));
}

TEST(SysRoot, WriteErrorsKeepErrno) {
  testing::FakeRoot root;
  root.mkdir("/proc/irq/36");
  const SysRoot sys(root.path());
  auto dir = sys.write("/proc/irq/36", "1\n");
  ASSERT_FALSE(dir.has_value());
  EXPECT_EQ(dir.error().errno_value, EISDIR);
  EXPECT_EQ(dir.error().message, "/proc/irq/36: Is a directory");
  // /dev/full refuses every write with ENOSPC, like a CPU out of vectors.
  if (SysRoot live("/"); live.exists("/dev/full")) {
    auto full = live.write("/dev/full", "1\n");
    ASSERT_FALSE(full.has_value());
    EXPECT_EQ(full.error().errno_value, ENOSPC);
    EXPECT_EQ(full.error().message, "/dev/full: No space left on device");
  }
}

}  // namespace
}  // namespace irqbpfd::sys
