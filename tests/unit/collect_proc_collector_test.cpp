// ProcCollector and FileCollector against fake roots and files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_root.hpp"
#include "irqbpfd/collect/collector.hpp"

namespace irqbpfd::collect {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kInterrupts =
    "           CPU0       CPU1\n"
    " 24:         10         20  IO-APIC   5-edge      ACPI:Ged\n"
    "LOC:        100        200   Local timer interrupts\n";
constexpr std::string_view kStat =
    "cpu  10 0 10 100 0 3 7 0 0 0\n"
    "cpu0 5 0 5 50 0 1 3 0 0 0\n"
    "cpu1 5 0 5 50 0 2 4 0 0 0\n"
    "intr 30 0 0\n"
    "softirq 7 0 7\n"
    "btime 1700000000\n";

TEST(ParseUptime, FirstFieldInSeconds) {
  auto r = parse_uptime("350735.47 234388.90\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(*r, 350735.47);
  auto bad = parse_uptime("soon 1\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().message, HasSubstr("/proc/uptime"));
}

TEST(ProcCollector, ReadsCountsTimeAndClock) {
  testing::FakeRoot root;
  root.write("/proc/interrupts", kInterrupts);
  root.write("/proc/stat", kStat);
  root.write("/proc/uptime", "12.5 20.0\n");
  core::ManualClock clock(42);
  ProcCollector collector(sys::SysRoot(root.path()), clock);
  auto r = collector.read();
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->monotonic_ns, 42);
  ASSERT_EQ(r->interrupts.rows.size(), 2U);
  ASSERT_TRUE(r->stat.has_value());
  EXPECT_EQ(r->stat->cpus.size(), 2U);
  EXPECT_EQ(r->stat->cpus[1].softirq, 4U);
  EXPECT_DOUBLE_EQ(r->uptime_s.value_or(0), 12.5);
  EXPECT_FALSE(r->softirqs.has_value());  // no /proc/softirqs in this root: not fatal
}

TEST(ProcCollector, MissingStatIsAnErrorNamingIt) {
  testing::FakeRoot root;
  root.write("/proc/interrupts", kInterrupts);
  core::ManualClock clock;
  ProcCollector collector(sys::SysRoot(root.path()), clock);
  auto r = collector.read();
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("/proc/stat"));
}

TEST(ProcCollector, MalformedUptimeIsAnError) {
  testing::FakeRoot root;
  root.write("/proc/interrupts", kInterrupts);
  root.write("/proc/stat", kStat);
  root.write("/proc/uptime", "x\n");
  core::ManualClock clock;
  ProcCollector collector(sys::SysRoot(root.path()), clock);
  EXPECT_FALSE(collector.read().has_value());
}

TEST(FileCollector, ReadsACaptureAndNamesAMissingFile) {
  testing::FakeRoot root;
  root.write("/capture", kInterrupts);
  FileCollector good(root.path() / "capture");
  auto r = good.read();
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->interrupts.cpus.size(), 2U);
  EXPECT_FALSE(r->stat.has_value());

  FileCollector missing(root.path() / "nope");
  auto m = missing.read();
  ASSERT_FALSE(m.has_value());
  EXPECT_THAT(m.error().message, HasSubstr("nope"));
}

}  // namespace
}  // namespace irqbpfd::collect

namespace irqbpfd::collect {
namespace {

// The cheap check for IRQs that appeared or vanished: the numbered entries
// of /sys/kernel/irq, ascending; anything else there is ignored.
TEST(ListKernelIrqs, NumbersAscendingAndTheDirectoryNamedWhenMissing) {
  testing::FakeRoot root;
  for (const char* n : {"24", "0", "1024", "9"}) root.mkdir(std::string("/sys/kernel/irq/") + n);
  root.write("/sys/kernel/irq/README", "not an IRQ\n");
  auto listed = list_kernel_irqs(sys::SysRoot(root.path()));
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(*listed, (std::vector<std::uint32_t>{0, 9, 24, 1024}));
  root.remove("/sys/kernel/irq");
  auto missing = list_kernel_irqs(sys::SysRoot(root.path()));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/sys/kernel/irq"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace irqbpfd::collect
