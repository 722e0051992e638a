// Tests of the real ProcAffinityWriter on SysRootFiles against a fake root:
// a normal IRQ written and read back, a 0444 (managed) one left alone although
// root could write it, IRQs that vanish between plan and write (no file
// created), and wide masks in the kernel's word format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "fake_root.hpp"
#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/sys/cpus.hpp"

namespace irqbpfd::apply {
namespace {

using core::CpuSet;
using core::irq_number;

// A 2-CPU machine with IRQ 36 (movable) and 37 (managed, 0444), as this VM's
// /proc/irq looks: "3\n" masks, effective affinity on one CPU.
void two_cpu_machine(const testing::FakeRoot& root) {
  root.write("/sys/devices/system/cpu/possible", "0-1\n");
  root.write("/sys/devices/system/cpu/online", "0-1\n");
  root.write("/proc/irq/default_smp_affinity", "3\n");
  root.write("/proc/irq/36/smp_affinity", "3\n");
  root.write("/proc/irq/36/effective_affinity", "1\n", 0444);
  root.write("/proc/irq/37/smp_affinity", "3\n", 0444);
  root.write("/proc/irq/37/effective_affinity", "2\n", 0444);
}

TEST(ProcAffinityWriterOnRoot, WritesAndReadsBack) {
  testing::FakeRoot root;
  two_cpu_machine(root);
  const sys::SysRoot sys(root.path());
  auto nr = sys::read_nr_cpu_ids(sys);
  ASSERT_TRUE(nr.has_value()) << nr.error().message;
  SysRootFiles files(sys);
  ProcAffinityWriter writer(files, *nr);
  EXPECT_EQ(writer.name(), "proc");

  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kDone) << r.message;
  EXPECT_EQ(r.message, "irq 36: smp_affinity: 0-1 -> 1");
  EXPECT_EQ(r.smp_affinity, CpuSet{1});
  EXPECT_EQ(r.effective_affinity, CpuSet{0});  // a plain file: the kernel would have moved it
  EXPECT_EQ(*sys.read("/proc/irq/36/smp_affinity"), "2\n");

  EXPECT_EQ(writer.write(irq_number(36), CpuSet{1}).outcome, Outcome::kUnchanged);
}

// Root writes a 0444 plain file without complaint; the kernel would refuse.
// The writer reads the mode first and leaves it.
TEST(ProcAffinityWriterOnRoot, ReadOnlyIrqIsManagedAndUntouched) {
  testing::FakeRoot root;
  two_cpu_machine(root);
  SysRootFiles files{sys::SysRoot(root.path())};
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(37), CpuSet{0});
  EXPECT_EQ(r.outcome, Outcome::kManaged);
  EXPECT_EQ(r.message, "irq 37: smp_affinity: kernel-managed (mode 0444), not written");
  EXPECT_EQ(r.effective_affinity, CpuSet{1});
  EXPECT_EQ(*files.read("/proc/irq/37/smp_affinity"), "3\n");
  EXPECT_EQ(*files.mode("/proc/irq/37/smp_affinity"), 0444U);
}

TEST(ProcAffinityWriterOnRoot, IrqRemovedBeforeTheWriteIsVanished) {
  testing::FakeRoot root;
  two_cpu_machine(root);
  root.remove("/proc/irq/36");  // freed after the plan was made
  SysRootFiles files{sys::SysRoot(root.path())};
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kVanished);
  EXPECT_EQ(r.errno_value, ENOENT);
  EXPECT_FALSE(files.root().exists("/proc/irq/36"));
}

// The narrowest race: smp_affinity goes after the writer read it and before
// it writes. The write must fail with ENOENT, not create a plain file.
class RemovesBeforeWrite final : public KernelFiles {
 public:
  RemovesBeforeWrite(SysRootFiles& real, const testing::FakeRoot& root) : real_(real), root_(root) {}
  [[nodiscard]] core::Result<std::string> read(std::string_view p) const override { return real_.read(p); }
  [[nodiscard]] core::Result<unsigned> mode(std::string_view p) const override { return real_.mode(p); }
  [[nodiscard]] core::Result<std::vector<std::string>> list(std::string_view p) const override { return real_.list(p); }
  core::Result<void> write(std::string_view p, std::string_view content) override {
    root_.remove(p);
    return real_.write(p, content);
  }

 private:
  SysRootFiles& real_;
  const testing::FakeRoot& root_;
};

TEST(ProcAffinityWriterOnRoot, FileRemovedBetweenReadAndWriteIsVanishedAndNotCreated) {
  testing::FakeRoot root;
  two_cpu_machine(root);
  SysRootFiles real{sys::SysRoot(root.path())};
  RemovesBeforeWrite racing(real, root);
  ProcAffinityWriter writer(racing, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kVanished) << r.message;
  EXPECT_EQ(r.message, "irq 36: smp_affinity: vanished (ENOENT)");
  EXPECT_FALSE(real.root().exists("/proc/irq/36/smp_affinity"));
}

TEST(ProcAffinityWriterOnRoot, WideMasksInTheKernelsWordFormat) {
  testing::FakeRoot root;
  root.write("/sys/devices/system/cpu/possible", "0-39\n");
  root.write("/proc/irq/36/smp_affinity", "ff,ffffffff\n");
  const sys::SysRoot sys40(root.path());
  SysRootFiles files40(sys40);
  ProcAffinityWriter forty(files40, *sys::read_nr_cpu_ids(sys40));
  const WriteResult r40 = forty.write(irq_number(36), CpuSet{0, 39});
  EXPECT_EQ(r40.outcome, Outcome::kDone) << r40.message;
  EXPECT_EQ(*sys40.read("/proc/irq/36/smp_affinity"), "80,00000001\n");
  EXPECT_EQ(r40.smp_affinity, (CpuSet{0, 39}));

  testing::FakeRoot wide;
  wide.write("/sys/devices/system/cpu/possible", "0-71\n");
  wide.write("/proc/irq/40/smp_affinity", "ff,ffffffff,ffffffff\n");
  const sys::SysRoot sys72(wide.path());
  SysRootFiles files72(sys72);
  ProcAffinityWriter seventy_two(files72, *sys::read_nr_cpu_ids(sys72));
  const WriteResult r72 = seventy_two.write(irq_number(40), CpuSet{32, 64, 71});
  EXPECT_EQ(r72.outcome, Outcome::kDone) << r72.message;
  EXPECT_EQ(*sys72.read("/proc/irq/40/smp_affinity"), "81,00000001,00000000\n");
  EXPECT_EQ(r72.message, "irq 40: smp_affinity: 0-71 -> 32,64,71");
}

}  // namespace
}  // namespace irqbpfd::apply
