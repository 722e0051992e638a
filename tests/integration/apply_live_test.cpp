// Live, read-only: every real /proc/irq/N/smp_affinity captured through
// RestoreSet parses, and the dry-run writer classifies the live IRQs by their
// files alone. Nothing here can write: the files are held const and no
// ProcAffinityWriter is made.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/apply/restore_set.hpp"
#include "irqbpfd/sys/cpus.hpp"

namespace irqbpfd::apply {
namespace {

TEST(LiveApply, EveryLiveSmpAffinityParses) {
  const sys::SysRoot live("/");
  if (!live.exists("/proc/irq")) GTEST_SKIP() << "no /proc/irq on this machine";
  const SysRootFiles files(live);
  auto set = RestoreSet::capture(files);
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_FALSE(set->masks().empty());
  for (const auto& [irq, error] : set->unreadable()) ADD_FAILURE() << "irq " << core::raw(irq) << ": " << error.message;

  auto nr = sys::read_nr_cpu_ids(live);
  ASSERT_TRUE(nr.has_value()) << nr.error().message;
  for (const auto& [irq, mask] : set->masks()) {
    EXPECT_FALSE(mask.empty()) << "irq " << core::raw(irq);
    // Formatting to the machine's width gives back what the kernel printed.
    auto text = live.read(fmt::format("/proc/irq/{}/smp_affinity", core::raw(irq)));
    if (!text) continue;  // vanished since the capture
    if (auto again = core::CpuSet::parse_mask(*text); again && *again == mask) {
      EXPECT_EQ(mask.to_mask(*nr) + "\n", *text) << "irq " << core::raw(irq);
    }
  }
}

// The dry run on the live machine: the current mask is unchanged; another one
// is a dry-run write, or managed where smp_affinity is 0444 (this VM's
// virtio-blk queue IRQ). Never written.
TEST(LiveApply, DryRunClassifiesLiveIrqsWithoutWriting) {
  const sys::SysRoot live("/");
  if (!live.exists("/proc/irq")) GTEST_SKIP() << "no /proc/irq on this machine";
  const SysRootFiles files(live);
  auto set = RestoreSet::capture(files);
  ASSERT_TRUE(set.has_value()) << set.error().message;
  auto nr = sys::read_nr_cpu_ids(live);
  ASSERT_TRUE(nr.has_value()) << nr.error().message;
  DryRunWriter writer(files, *nr);
  std::size_t would_write = 0;
  for (const auto& [irq, mask] : set->masks()) {
    const WriteResult same = writer.write(irq, mask);
    if (same.outcome == Outcome::kVanished) continue;
    EXPECT_EQ(same.outcome, Outcome::kUnchanged) << same.message;
    const core::CpuSet other = mask.first() == core::cpu_id(0) && mask.count() == 1 ? core::CpuSet::first_n(*nr)
                                                                                   : core::CpuSet{0};
    const WriteResult moved = writer.write(irq, other);
    if (moved.outcome == Outcome::kVanished) continue;
    auto mode = files.mode(fmt::format("/proc/irq/{}/smp_affinity", core::raw(irq)));
    ASSERT_TRUE(mode.has_value());
    EXPECT_EQ(moved.outcome, (*mode & 0200U) != 0 ? Outcome::kDryRun : Outcome::kManaged) << moved.message;
    if (moved.outcome == Outcome::kDryRun) ++would_write;
  }
  EXPECT_EQ(writer.planned().size(), would_write);
}

}  // namespace
}  // namespace irqbpfd::apply
