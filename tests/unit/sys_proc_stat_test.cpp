// Tests of the /proc/stat and /proc/softirqs parsers and readers: column
// counts of old kernels, the intr/softirq/btime lines, hotplug gaps and
// malformed numbers reported with file:line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_root.hpp"
#include "irqbpfd/sys/proc_stat.hpp"

namespace irqbpfd::sys {
namespace {

using core::cpu_id;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kStat =
    "cpu  3044 0 2974 636731 570 0 50 395 0 0\n"
    "cpu0 932 0 1217 319567 45 0 7 172 0 0\n"
    "cpu2 2112 1 1757 317164 525 3 42 222 4 5\n"
    "intr 175790 0 0 15 0 644\n"
    "ctxt 331040\n"
    "btime 1795329987\n"
    "processes 4080\n"
    "procs_running 1\n"
    "procs_blocked 0\n"
    "softirq 163871 0 34267 4 905 39686 0 2 58792 0 30215\n";

TEST(ProcStat, ParsesCpuLinesIntrSoftirqAndBtime) {
  auto parsed = parse_proc_stat(kStat);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  const ProcStat& s = *parsed;
  EXPECT_EQ(s.total.user, 3044U);
  EXPECT_EQ(s.total.idle, 636731U);
  EXPECT_EQ(s.total.steal, 395U);
  ASSERT_EQ(s.cpus.size(), 2U);
  EXPECT_EQ(s.cpus[0].cpu, cpu_id(0));
  EXPECT_EQ(s.cpus[1].cpu, cpu_id(2));  // CPU1 offline: not listed
  const CpuTimes& c2 = s.cpus[1];
  EXPECT_EQ(c2.user, 2112U);
  EXPECT_EQ(c2.nice, 1U);
  EXPECT_EQ(c2.system, 1757U);
  EXPECT_EQ(c2.idle, 317164U);
  EXPECT_EQ(c2.iowait, 525U);
  EXPECT_EQ(c2.irq, 3U);
  EXPECT_EQ(c2.softirq, 42U);
  EXPECT_EQ(c2.steal, 222U);
  EXPECT_EQ(c2.guest, 4U);
  EXPECT_EQ(c2.guest_nice, 5U);
  EXPECT_EQ(s.intr_total, 175790U);
  EXPECT_THAT(s.intr_per_irq, ElementsAre(0U, 0U, 15U, 0U, 644U));
  EXPECT_EQ(s.softirq_total, 163871U);
  ASSERT_EQ(s.softirq_per_vector.size(), 10U);
  EXPECT_EQ(s.softirq_per_vector[3], 905U);  // NET_RX
  EXPECT_EQ(s.boot_time_s, 1795329987U);
}

TEST(ProcStat, OldKernelsPrintFewerColumns) {
  // 2.6.11-era: user nice system idle iowait irq softirq.
  auto parsed = parse_proc_stat("cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->total.softirq, 7U);
  EXPECT_EQ(parsed->total.steal, 0U);
  EXPECT_EQ(parsed->total.guest_nice, 0U);
  EXPECT_EQ(parsed->cpus.at(0).idle, 4U);
  EXPECT_EQ(parsed->cpus.at(0).iowait, 0U);
}

TEST(ProcStat, ExtraColumnsOfANewerKernelAreIgnored) {
  auto parsed = parse_proc_stat("cpu  1 2 3 4 5 6 7 8 9 10 11\n");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->total.guest_nice, 10U);
}

TEST(ProcStatErrors, BadNumberNamesFileLineAndColumn) {
  auto parsed = parse_proc_stat("cpu  1 2 3 4\ncpu0 1 2 x3 4\n");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().message, "/proc/stat:2: cpu0: bad number 'x3' in column 3");
}

TEST(ProcStatErrors, BadIntrAndBtimeAndCpuKey) {
  auto intr = parse_proc_stat("cpu 1\nintr 10 1 -2\n", "stat.txt");
  ASSERT_FALSE(intr.has_value());
  EXPECT_EQ(intr.error().message, "stat.txt:2: intr: bad number '-2' in column 3");

  auto btime = parse_proc_stat("btime soon\n");
  ASSERT_FALSE(btime.has_value());
  EXPECT_EQ(btime.error().message, "/proc/stat:1: btime: bad number 'soon'");

  auto key = parse_proc_stat("cpu 1\ncpuX 1 2\n");
  ASSERT_FALSE(key.has_value());
  EXPECT_THAT(key.error().message, HasSubstr("/proc/stat:2: bad CPU key 'cpuX'"));

  auto empty_intr = parse_proc_stat("intr\n");
  ASSERT_FALSE(empty_intr.has_value());
  EXPECT_THAT(empty_intr.error().message, HasSubstr("/proc/stat:1: intr: missing total"));
}

constexpr std::string_view kSoftirqs =
    "                    CPU0       CPU1       \n"
    "          HI:          0          0\n"
    "       TIMER:      16058      18209\n"
    "      NET_TX:          4          0\n"
    "      NET_RX:        407        498\n";

TEST(ProcSoftirqs, ParsesRowsUnderTheHeader) {
  auto parsed = parse_proc_softirqs(kSoftirqs);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_THAT(parsed->cpus, ElementsAre(cpu_id(0), cpu_id(1)));
  ASSERT_EQ(parsed->rows.size(), 4U);
  EXPECT_EQ(parsed->rows[3].vector, "NET_RX");
  EXPECT_THAT(parsed->rows[3].counts, ElementsAre(407U, 498U));
}

TEST(ProcSoftirqs, HotpluggedColumns) {
  auto parsed = parse_proc_softirqs("  CPU0  CPU3\n  NET_RX:  1  2\n");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_THAT(parsed->cpus, ElementsAre(cpu_id(0), cpu_id(3)));
  EXPECT_THAT(parsed->rows.at(0).counts, ElementsAre(1U, 2U));
}

TEST(ProcSoftirqsErrors, ShortRowBadNumberAndMissingHeader) {
  auto short_row = parse_proc_softirqs("  CPU0  CPU1\n  HI:  1  2\n  NET_RX:  1\n");
  ASSERT_FALSE(short_row.has_value());
  EXPECT_EQ(short_row.error().message, "/proc/softirqs:3: row 'NET_RX': expected 2 counters, found 1");

  auto bad = parse_proc_softirqs("  CPU0  CPU1\n  HI:  1  zz\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "/proc/softirqs:2: HI: bad number 'zz' in column 2");

  auto headless = parse_proc_softirqs("  HI:  1  2\n");
  ASSERT_FALSE(headless.has_value());
  EXPECT_EQ(headless.error().message, "/proc/softirqs:1: missing CPU header, found row 'HI'");

  auto bad_header = parse_proc_softirqs("  CPU0 CPU\n");
  ASSERT_FALSE(bad_header.has_value());
  EXPECT_THAT(bad_header.error().message, HasSubstr("/proc/softirqs:1: bad header token 'CPU'"));
}

TEST(ProcStatReaders, ReadTheCapturedVm2Files) {
  testing::FakeRoot root;
  root.copy_fixture("vm2");
  const SysRoot sys(root.path());
  auto stat = read_proc_stat(sys);
  ASSERT_TRUE(stat.has_value()) << stat.error().message;
  EXPECT_EQ(stat->cpus.size(), 2U);
  EXPECT_EQ(stat->boot_time_s, 1795329987U);
  EXPECT_EQ(stat->softirq_per_vector.size(), 10U);
  EXPECT_GT(stat->intr_per_irq.size(), 43U);

  auto softirqs = read_proc_softirqs(sys);
  ASSERT_TRUE(softirqs.has_value()) << softirqs.error().message;
  ASSERT_EQ(softirqs->rows.size(), 10U);
  EXPECT_EQ(softirqs->rows[3].vector, "NET_RX");
  EXPECT_THAT(softirqs->rows[3].counts, ElementsAre(407U, 498U));
}

TEST(ProcStatReaders, MissingFilesCarryErrno) {
  testing::FakeRoot root;
  auto stat = read_proc_stat(SysRoot(root.path()));
  ASSERT_FALSE(stat.has_value());
  EXPECT_EQ(stat.error().message, "/proc/stat: No such file or directory");
  EXPECT_EQ(stat.error().errno_value, ENOENT);
}

}  // namespace
}  // namespace irqbpfd::sys
