// Tests of the /proc/interrupts parser: header-driven CPU columns, numbered
// and named rows, every chip/trigger/action layout we know, malformed input
// with file:line errors, and a 1024-CPU table.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "fake_root.hpp"
#include "irqbpfd/sys/proc_interrupts.hpp"

namespace irqbpfd::sys {
namespace {

using core::cpu_id;
using core::irq_number;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

ProcInterrupts parse_ok(std::string_view text) {
  auto parsed = parse_proc_interrupts(text);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  if (!parsed) return {};
  return *parsed;
}

std::string parse_error(std::string_view text, std::string_view source = "/proc/interrupts") {
  auto parsed = parse_proc_interrupts(text, source);
  EXPECT_FALSE(parsed.has_value()) << "parsed without error";
  if (parsed) return {};
  return parsed.error().message;
}

// This VM's own table (Linux 6.18, per-device MSI-X domains).
constexpr std::string_view kVm =
    "           CPU0       CPU1       \n"
    " 24:          1          0  IO-APIC   5-edge      ACPI:Ged\n"
    " 26:          0         15  IO-APIC   4-edge      ttyS0\n"
    " 41:       1943          0 PCI-MSIX-0000:00:04.0   1-edge      virtio3-rx\n"
    "NMI:          0          0   Non-maskable interrupts\n"
    "LOC:      33603      38151   Local timer interrupts\n"
    "ERR:          0\n"
    "MIS:          0\n"
    "PIN:          0          0   Posted-interrupt notification event\n";

TEST(ProcInterrupts, ParsesThisVmsTable) {
  const ProcInterrupts p = parse_ok(kVm);
  EXPECT_THAT(p.cpus, ElementsAre(cpu_id(0), cpu_id(1)));
  ASSERT_EQ(p.rows.size(), 8U);

  const InterruptRow& rx = p.rows[2];
  EXPECT_EQ(rx.label, "41");
  EXPECT_EQ(rx.irq, irq_number(41));
  EXPECT_THAT(rx.counts, ElementsAre(1943U, 0U));
  EXPECT_EQ(rx.chip, "PCI-MSIX-0000:00:04.0");
  EXPECT_EQ(rx.hwirq, "1");
  EXPECT_EQ(rx.trigger, "edge");
  EXPECT_THAT(rx.actions, ElementsAre("virtio3-rx"));
  EXPECT_EQ(rx.name, "virtio3-rx");
  EXPECT_EQ(rx.total(), 1943U);

  const InterruptRow& ged = p.rows[0];
  EXPECT_EQ(ged.chip, "IO-APIC");
  EXPECT_EQ(ged.hwirq, "5");
  EXPECT_EQ(ged.trigger, "edge");
  EXPECT_THAT(ged.actions, ElementsAre("ACPI:Ged"));

  const InterruptRow& loc = p.rows[4];
  EXPECT_EQ(loc.label, "LOC");
  EXPECT_FALSE(loc.irq.has_value());
  EXPECT_THAT(loc.counts, ElementsAre(33603U, 38151U));
  EXPECT_EQ(loc.description, "Local timer interrupts");
  EXPECT_EQ(loc.total(), 33603U + 38151U);
}

TEST(ProcInterrupts, NamedRowsMayCarryFewerCountersThanCpus) {
  const ProcInterrupts p = parse_ok(kVm);
  const InterruptRow& err = p.rows[5];
  EXPECT_EQ(err.label, "ERR");
  EXPECT_THAT(err.counts, ElementsAre(0U));  // absent, not zero-filled
  EXPECT_EQ(err.description, "");
  EXPECT_EQ(p.rows[6].label, "MIS");
  EXPECT_THAT(p.rows[6].counts, ElementsAre(0U));
}

TEST(ProcInterrupts, ColumnsComeFromTheHeaderNotThePosition) {
  // CPU1 is offline: three columns for CPUs 0, 2, 3.
  const ProcInterrupts p = parse_ok(
      "           CPU0       CPU2       CPU3       \n"
      "  0:         36          5          7   IO-APIC   2-edge      timer\n"
      "LOC:        100        200        300   Local timer interrupts\n");
  EXPECT_THAT(p.cpus, ElementsAre(cpu_id(0), cpu_id(2), cpu_id(3)));
  ASSERT_EQ(p.rows.size(), 2U);
  EXPECT_THAT(p.rows[0].counts, ElementsAre(36U, 5U, 7U));
  EXPECT_EQ(p.rows[0].chip, "IO-APIC");
  EXPECT_EQ(p.rows[0].hwirq, "2");
  EXPECT_EQ(p.rows[0].trigger, "edge");
  EXPECT_THAT(p.rows[0].actions, ElementsAre("timer"));
  EXPECT_EQ(p.rows[0].irq, irq_number(0));
}

TEST(ProcInterrupts, X86IrRemappedMsi) {
  const ProcInterrupts p = parse_ok(
      "            CPU0       CPU1\n"
      " 124:    1234567          0  IR-PCI-MSI 524288-edge      eth0\n");
  const InterruptRow& row = p.rows.at(0);
  EXPECT_EQ(row.irq, irq_number(124));
  EXPECT_EQ(row.chip, "IR-PCI-MSI");
  EXPECT_EQ(row.hwirq, "524288");
  EXPECT_EQ(row.trigger, "edge");
  EXPECT_THAT(row.actions, ElementsAre("eth0"));
}

TEST(ProcInterrupts, ArmGicHasASeparateLevelWord) {
  const ProcInterrupts p = parse_ok(
      "           CPU0       CPU1       CPU2       CPU3\n"
      " 11:      12345      23456      34567      45678     GICv3  30 Level     arch_timer\n"
      " 14:          0          0          0          0     GICv3  23 Level     arm-pmu\n"
      " 40:         10          0          0          0     GICv3 142 Edge      eth1\n"
      "IPI0:       100        200        300        400       Rescheduling interrupts\n"
      "Err:          0\n");
  ASSERT_EQ(p.rows.size(), 5U);
  EXPECT_EQ(p.rows[0].chip, "GICv3");
  EXPECT_EQ(p.rows[0].hwirq, "30");
  EXPECT_EQ(p.rows[0].trigger, "Level");
  EXPECT_THAT(p.rows[0].actions, ElementsAre("arch_timer"));
  EXPECT_EQ(p.rows[2].trigger, "Edge");
  EXPECT_THAT(p.rows[2].actions, ElementsAre("eth1"));
  EXPECT_EQ(p.rows[3].label, "IPI0");
  EXPECT_FALSE(p.rows[3].irq.has_value());
  EXPECT_THAT(p.rows[3].counts, ElementsAre(100U, 200U, 300U, 400U));
  EXPECT_EQ(p.rows[3].description, "Rescheduling interrupts");
  EXPECT_EQ(p.rows[4].label, "Err");
  EXPECT_THAT(p.rows[4].counts, ElementsAre(0U));
}

TEST(ProcInterrupts, LevelWordFollowedByAFlowName) {
  // GENERIC_IRQ_SHOW_LEVEL with a named flow handler prints "Level   -name".
  const ProcInterrupts p = parse_ok(
      "       CPU0\n"
      " 5:       1  gpio-dwapb   3 Level   -fasteoi   button\n");
  EXPECT_EQ(p.rows.at(0).hwirq, "3");
  EXPECT_EQ(p.rows.at(0).trigger, "Level");
  EXPECT_THAT(p.rows.at(0).actions, ElementsAre("button"));
}

TEST(ProcInterrupts, SharedHandlersSplitIntoActions) {
  const ProcInterrupts p = parse_ok(
      "           CPU0       CPU1\n"
      " 18:       5000       6000   IO-APIC  18-fasteoi   uhci_hcd:usb5, ahci[0000:02:00.0]\n");
  const InterruptRow& row = p.rows.at(0);
  EXPECT_EQ(row.trigger, "fasteoi");
  EXPECT_THAT(row.actions, ElementsAre("uhci_hcd:usb5", "ahci[0000:02:00.0]"));
  EXPECT_EQ(row.name, "uhci_hcd:usb5, ahci[0000:02:00.0]");
}

TEST(ProcInterrupts, ActionNamesWithSpacesAndAtSigns) {
  const ProcInterrupts p = parse_ok(
      "            CPU0       CPU1\n"
      " 120:         0          0  IR-PCI-MSI 458752-edge      PCIe PME\n"
      " 121:         0          0  IR-PCI-MSI 460800-edge      aerdrv, PCIe PME\n"
      " 200:        17          3  IR-PCI-MSI 42467332-edge      mlx5_comp3@pci:0000:81:00.0\n");
  EXPECT_THAT(p.rows.at(0).actions, ElementsAre("PCIe PME"));
  EXPECT_EQ(p.rows.at(0).name, "PCIe PME");
  EXPECT_THAT(p.rows.at(1).actions, ElementsAre("aerdrv", "PCIe PME"));
  EXPECT_THAT(p.rows.at(2).actions, ElementsAre("mlx5_comp3@pci:0000:81:00.0"));
  EXPECT_EQ(p.rows.at(2).hwirq, "42467332");
}

TEST(ProcInterrupts, RowWithoutAnyAction) {
  const ProcInterrupts p = parse_ok(
      "           CPU0       CPU1\n"
      " 55:          3          0  IR-PCI-MSI 16384-edge\n"
      " 56:          0          0  IR-PCI-MSI 16385-edge      \n");
  for (const InterruptRow& row : p.rows) {
    EXPECT_EQ(row.chip, "IR-PCI-MSI");
    EXPECT_EQ(row.trigger, "edge");
    EXPECT_THAT(row.actions, IsEmpty());
    EXPECT_EQ(row.name, "");
  }
  EXPECT_EQ(p.rows.at(0).hwirq, "16384");
}

TEST(ProcInterrupts, IrqWithoutDomainHasNoHwirq) {
  // No irq domain: the hwirq column is blank and the flow name follows.
  const ProcInterrupts p = parse_ok(
      "       CPU0\n"
      "  9:      4  XT-PIC   -level   acpi\n");
  EXPECT_EQ(p.rows.at(0).chip, "XT-PIC");
  EXPECT_EQ(p.rows.at(0).hwirq, "");
  EXPECT_EQ(p.rows.at(0).trigger, "level");
  EXPECT_THAT(p.rows.at(0).actions, ElementsAre("acpi"));
}

TEST(ProcInterrupts, BlankLinesAreIgnored) {
  const ProcInterrupts p = parse_ok(
      "\n"
      "           CPU0\n"
      "\n"
      "  1:          9   IO-APIC   1-edge      i8042\n"
      "   \n"
      "NMI:          0   Non-maskable interrupts\n");
  ASSERT_EQ(p.rows.size(), 2U);
  EXPECT_EQ(p.rows[0].irq, irq_number(1));
}

// The kernel keeps and prints each per-CPU count as an unsigned int: the
// largest fits, one more is a corrupt file, named by row and column.
TEST(ProcInterrupts, CountersAreTheKernels32Bits) {
  const ProcInterrupts p = parse_ok(
      "       CPU0       CPU1\n"
      " 3: 4294967295 4294967295  IO-APIC 3-edge x\n"
      "NMI: 4294967295          1   Non-maskable interrupts\n");
  EXPECT_THAT(p.rows.at(0).counts, ElementsAre(4294967295U, 4294967295U));
  EXPECT_THAT(p.rows.at(1).counts, ElementsAre(4294967295U, 1U));
  EXPECT_THAT(parse_error("       CPU0       CPU1\n 3:          1 4294967296  IO-APIC 3-edge x\n"),
              HasSubstr("/proc/interrupts:2: row '3': counter 4294967296 in column 2 does not fit 32 bits"));
  EXPECT_THAT(parse_error("       CPU0\nNMI: 12345678901   Non-maskable interrupts\n"),
              HasSubstr("row 'NMI': counter 12345678901 in column 1 does not fit 32 bits"));
}

// The zero fields the parser recognises by their fixed width (" %10u")
// next to every field that is not one: a wider number right after a zero,
// a zero at the end of a row, ten-digit values, a tab, a zero followed by
// more digits, and a "0" with less padding than the width.
TEST(ProcInterrupts, FixedWidthZerosNextToEveryOtherFieldShape) {
  const ProcInterrupts p = parse_ok(
      "            CPU0       CPU1       CPU2       CPU3\n"
      " 10:          0 000000000123          0          0  IO-APIC 10-edge a\n"
      " 11: 4294967295          0 1000000000          0\n"
      " 12:          0\t         7          0          0  IO-APIC 12-edge c\n"
      " 13:          0          0          0          0\n"
      " 14: 0          0          0          0  IO-APIC 14-edge e\n"
      " 15:           0         0          0          5  IO-APIC 15-edge f\n"
      "ERR:          0\n");
  ASSERT_EQ(p.rows.size(), 7U);
  EXPECT_THAT(p.rows[0].counts, ElementsAre(0U, 123U, 0U, 0U));
  EXPECT_EQ(p.rows[0].name, "a");
  EXPECT_THAT(p.rows[1].counts, ElementsAre(4294967295ULL, 0U, 1000000000U, 0U));
  EXPECT_EQ(p.rows[1].chip, "");
  EXPECT_THAT(p.rows[2].counts, ElementsAre(0U, 7U, 0U, 0U));
  EXPECT_EQ(p.rows[2].name, "c");
  EXPECT_THAT(p.rows[3].counts, ElementsAre(0U, 0U, 0U, 0U));
  EXPECT_THAT(p.rows[4].counts, ElementsAre(0U, 0U, 0U, 0U));
  EXPECT_THAT(p.rows[5].counts, ElementsAre(0U, 0U, 0U, 5U));
  EXPECT_EQ(p.rows[5].name, "f");
  EXPECT_THAT(p.rows[6].counts, ElementsAre(0U));

  // A zero glued to more digits is one number, not a zero field.
  const auto glued = parse_proc_interrupts(
      "            CPU0       CPU1\n"
      " 10:          012          0  IO-APIC 10-edge a\n");
  ASSERT_TRUE(glued) << glued.error().message;
  EXPECT_THAT(glued->rows[0].counts, ElementsAre(12U, 0U));
}

TEST(ProcInterrupts, FindLooksUpNumberedRows) {
  const ProcInterrupts p = parse_ok(kVm);
  ASSERT_NE(p.find(irq_number(26)), nullptr);
  EXPECT_EQ(p.find(irq_number(26))->name, "ttyS0");
  EXPECT_EQ(p.find(irq_number(27)), nullptr);
}

TEST(ProcInterrupts, ThousandTwentyFourCpuColumns) {
  // 1024 online CPUs with CPU 5 offline (ids 0-4, 6-1024), 3 numbered rows
  // and a named one; counter i of IRQ n is n*10000 + i.
  constexpr int kCols = 1024;
  std::vector<std::uint32_t> ids;
  for (std::uint32_t id = 0; ids.size() < kCols; ++id) {
    if (id != 5) ids.push_back(id);
  }
  std::string text = "     ";
  for (const std::uint32_t id : ids) text += fmt::format(" {:>10}", fmt::format("CPU{}", id));
  text += '\n';
  for (const int irq : {16, 17, 300}) {
    text += fmt::format("{:>4}:", irq);
    for (int i = 0; i < kCols; ++i) text += fmt::format(" {:>10}", irq * 10000 + i);
    text += fmt::format("  IR-PCI-MSI {}-edge      nvme0q{}\n", irq * 2048, irq);
  }
  text += " LOC:";
  for (int i = 0; i < kCols; ++i) text += fmt::format(" {:>10}", i);
  text += "   Local timer interrupts\n";

  const ProcInterrupts p = parse_ok(text);
  ASSERT_EQ(p.cpus.size(), static_cast<std::size_t>(kCols));
  EXPECT_EQ(p.cpus[4], cpu_id(4));
  EXPECT_EQ(p.cpus[5], cpu_id(6));
  EXPECT_EQ(p.cpus.back(), cpu_id(1024));
  ASSERT_EQ(p.rows.size(), 4U);
  const InterruptRow& row = p.rows[2];
  EXPECT_EQ(row.irq, irq_number(300));
  ASSERT_EQ(row.counts.size(), static_cast<std::size_t>(kCols));
  EXPECT_EQ(row.counts[0], 3'000'000U);
  EXPECT_EQ(row.counts[1023], 3'001'023U);
  EXPECT_EQ(row.chip, "IR-PCI-MSI");
  EXPECT_EQ(row.hwirq, "614400");
  EXPECT_THAT(row.actions, ElementsAre("nvme0q300"));
  EXPECT_EQ(p.rows[3].counts.size(), static_cast<std::size_t>(kCols));
  EXPECT_EQ(p.rows[3].description, "Local timer interrupts");
}

// --- malformed input: each error names the source, the line and the problem

TEST(ProcInterruptsErrors, NumberedRowWithTooFewCounters) {
  const std::string error = parse_error(
      "           CPU0       CPU1       CPU2       CPU3\n"
      "  0:         36          0          0          0   IO-APIC   2-edge      timer\n"
      "\n"
      "  1:          9          0          0          0   IO-APIC   1-edge      i8042\n"
      "  8:          1          0          0          0   IO-APIC   8-edge      rtc0\n"
      "  9:          0          0          0          0   IO-APIC   9-fasteoi   acpi\n"
      " 24:          5          7   IR-PCI-MSI 1-edge   eth0\n");
  EXPECT_EQ(error, "/proc/interrupts:7: row '24': expected 4 counters, found 2");
}

TEST(ProcInterruptsErrors, NonNumericCounterInNumberedRow) {
  const std::string error = parse_error(
      "           CPU0       CPU1\n"
      " 24:          5        7x3   IR-PCI-MSI 1-edge   eth0\n",
      "capture.txt");
  EXPECT_THAT(error, HasSubstr("capture.txt:2: row '24'"));
  EXPECT_THAT(error, HasSubstr("bad counter '7x3'"));
}

TEST(ProcInterruptsErrors, NegativeCounter) {
  EXPECT_THAT(parse_error("  CPU0\n 3:  -1  IO-APIC 3-edge x\n"), HasSubstr("/proc/interrupts:2: row '3': bad counter '-1'"));
}

TEST(ProcInterruptsErrors, MissingHeader) {
  EXPECT_EQ(parse_error(" 24:          1          0  IO-APIC   5-edge      ACPI:Ged\n"),
            "/proc/interrupts:1: missing CPU header, found row '24'");
  EXPECT_THAT(parse_error(""), HasSubstr("/proc/interrupts:1: missing CPU header"));
  EXPECT_THAT(parse_error("\n  \n"), HasSubstr("missing CPU header"));
}

TEST(ProcInterruptsErrors, BadHeaderToken) {
  EXPECT_EQ(parse_error("  CPU0  CPUx  CPU2\n"),
            "/proc/interrupts:1: bad header token 'CPUx', expected CPU<n>");
  EXPECT_THAT(parse_error("\n  CPU0  GPU1\n"), HasSubstr("/proc/interrupts:2: bad header token 'GPU1'"));
  EXPECT_THAT(parse_error("  CPU0  CPU0\n"), HasSubstr("/proc/interrupts:1: CPU0 appears twice"));
}

TEST(ProcInterruptsErrors, DuplicateIrqNumber) {
  EXPECT_EQ(parse_error("  CPU0\n"
                        " 24:  1  IO-APIC 5-edge a\n"
                        " 25:  1  IO-APIC 6-edge b\n"
                        " 24:  1  IO-APIC 5-edge c\n"),
            "/proc/interrupts:4: row '24': duplicate IRQ number");
}

TEST(ProcInterruptsErrors, RowWithoutColonLabel) {
  EXPECT_EQ(parse_error("  CPU0\n"
                        " 24:  1  IO-APIC 5-edge a\n"
                        " garbage without a label\n"),
            "/proc/interrupts:3: no ':' label in 'garbage without a label'");
}

TEST(ProcInterruptsErrors, IrqNumberOutOfRange) {
  EXPECT_THAT(parse_error("  CPU0\n 99999999999:  1  IO-APIC 5-edge a\n"),
              HasSubstr("/proc/interrupts:2: row '99999999999': IRQ number out of range"));
}

TEST(ProcInterruptsReader, ReadsUnderTheRoot) {
  testing::FakeRoot root;
  root.write("/proc/interrupts", kVm);
  auto p = read_proc_interrupts(SysRoot(root.path()));
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->rows.size(), 8U);
}

TEST(ProcInterruptsReader, MissingFileNamesTheKernelPath) {
  testing::FakeRoot root;
  auto p = read_proc_interrupts(SysRoot(root.path()));
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message, "/proc/interrupts: No such file or directory");
  EXPECT_EQ(p.error().errno_value, ENOENT);
}

TEST(ProcInterruptsReader, ParsesTheCapturedVm2Table) {
  testing::FakeRoot root;
  root.copy_fixture("vm2");
  auto p = read_proc_interrupts(SysRoot(root.path()));
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_THAT(p->cpus, ElementsAre(cpu_id(0), cpu_id(1)));
  const InterruptRow* rx = p->find(irq_number(41));
  ASSERT_NE(rx, nullptr);
  EXPECT_EQ(rx->chip, "PCI-MSIX-0000:00:04.0");
  EXPECT_THAT(rx->actions, ElementsAre("virtio3-rx"));
  std::size_t numbered = 0;
  for (const InterruptRow& row : p->rows) numbered += row.irq.has_value() ? 1 : 0;
  EXPECT_EQ(numbered, 19U);  // 24-26 and 28-43
}

// --- the streaming reader and reuse of an earlier reading's rows

void expect_same(const ProcInterrupts& got, const ProcInterrupts& want) {
  EXPECT_EQ(got.cpus, want.cpus);
  ASSERT_EQ(got.rows.size(), want.rows.size());
  for (std::size_t i = 0; i < want.rows.size(); ++i) {
    const InterruptRow& a = got.rows[i];
    const InterruptRow& b = want.rows[i];
    EXPECT_EQ(a.label, b.label) << "row " << i;
    EXPECT_EQ(a.irq, b.irq) << "row " << i;
    EXPECT_EQ(a.counts, b.counts) << "row " << i;
    EXPECT_EQ(a.chip, b.chip) << "row " << i;
    EXPECT_EQ(a.hwirq, b.hwirq) << "row " << i;
    EXPECT_EQ(a.trigger, b.trigger) << "row " << i;
    EXPECT_EQ(a.actions, b.actions) << "row " << i;
    EXPECT_EQ(a.name, b.name) << "row " << i;
    EXPECT_EQ(a.description, b.description) << "row " << i;
  }
}

// 512 CPU columns: each row is longer than the small read buffers below.
std::string wide_table(std::initializer_list<int> irqs, bool trailing_newline) {
  constexpr int kCols = 512;
  std::string text = "     ";
  for (int id = 0; id < kCols; ++id) text += fmt::format(" {:>10}", fmt::format("CPU{}", id));
  text += '\n';
  for (const int irq : irqs) {
    text += fmt::format("{:>4}:", irq);
    for (int i = 0; i < kCols; ++i) text += fmt::format(" {:>10}", irq * 7 + i);
    text += fmt::format("  IR-PCI-MSI {}-edge      eth0-{}, eth0-{}x\n", irq * 2048, irq, irq);
  }
  text += " LOC:";
  for (int i = 0; i < kCols; ++i) text += fmt::format(" {:>10}", i);
  text += "   Local timer interrupts\n ERR:          3";
  if (trailing_newline) text += '\n';
  return text;
}

TEST(ProcInterruptsReader, StreamsAcrossReadBoundariesLikeTheParser) {
  for (const bool trailing_newline : {true, false}) {
    const std::string text = wide_table({16, 17, 300}, trailing_newline);
    testing::FakeRoot root;
    root.write("/proc/interrupts", text);
    for (const std::size_t chunk : {std::size_t{7}, std::size_t{4096}, std::size_t{0}}) {
      StreamBuffers buffers;
      buffers.chunk.resize(chunk);  // 0: the reader's own size
      ProcInterrupts out;
      auto r = read_proc_interrupts_into(SysRoot(root.path()), out, buffers);
      ASSERT_TRUE(r.has_value()) << r.error().message;
      expect_same(out, parse_ok(text));
    }
  }
}

TEST(ProcInterruptsReader, StreamedErrorsNameTheLine) {
  testing::FakeRoot root;
  root.write("/proc/interrupts", "  CPU0  CPU1\n 3:  1  IO-APIC 3-edge x\n");
  ProcInterrupts out;
  StreamBuffers buffers;
  auto r = read_proc_interrupts_into(SysRoot(root.path()), out, buffers);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("/proc/interrupts:2: row '3': expected 2 counters, found 1"));
}

TEST(ProcInterruptsParser, ReusedRowsComeOutAsAFreshParse) {
  // A bigger reading first, then one with fewer rows whose kinds moved
  // (a named row where a numbered one was, and back).
  ProcInterrupts out = parse_ok(wide_table({16, 17, 300, 301}, true));
  const std::string second =
      "           CPU0       CPU1\n"
      " NMI:          1          2   Non-maskable interrupts\n"
      "  16:          5          6  IO-APIC  16-fasteoi   uhci_hcd:usb5, ahci[0000:02:00.0]\n"
      "  40:          0          9  PCI-MSI 16384-edge\n";
  ProcInterruptsParser parser(out);
  {
    std::size_t start = 0;
    while (start < second.size()) {
      const std::size_t nl = second.find('\n', start);
      ASSERT_TRUE(parser.line(std::string_view(second).substr(start, nl - start)).has_value());
      start = nl + 1;
    }
  }
  ASSERT_TRUE(parser.finish().has_value());
  expect_same(out, parse_ok(second));
}

TEST(ProcInterruptsErrors, DuplicateIrqNumberOutOfOrder) {
  EXPECT_THAT(parse_error("  CPU0\n 5:  1  IO-APIC 5-edge a\n 3:  1  IO-APIC 3-edge b\n 5:  2  IO-APIC 5-edge c\n"),
              HasSubstr("/proc/interrupts:4: row '5': duplicate IRQ number"));
}

}  // namespace
}  // namespace irqbpfd::sys
