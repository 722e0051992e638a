// Report layout on wide machines: share columns collapse to nodes, packages
// or the busiest CPUs; --cpus narrows columns, verdicts and the summary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "irqbpfd/report/report.hpp"
#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A snapshot of `machine` with one IRQ per CPU, each firing 100 times on its
// own CPU and once on CPU 0.
model::Snapshot snapshot_of(const topology::Machine& machine) {
  model::Snapshot snap;
  snap.collector = "proc";
  snap.window_s = 2;
  snap.machine = machine;
  snap.online = machine.cpus;
  const auto cpus = machine.cpus.to_vector();
  for (core::CpuId c : cpus) {
    model::CpuSnapshot cs;
    cs.cpu = c;
    cs.online = true;
    snap.cpus.push_back(cs);
  }
  std::uint32_t irq = 100;
  for (core::CpuId home : cpus) {
    model::IrqSnapshot is;
    core::IrqDesc& d = is.edit_desc();
    d.irq = core::irq_number(irq++);
    d.name = "q";
    for (core::CpuId c : cpus) {
      std::uint64_t n = (c == home ? 100 : 0) + (core::raw(c) == 0 ? 1 : 0);
      model::IrqCpuCount pc;
      pc.cpu = c;
      pc.count = n;
      is.per_cpu.push_back(pc);
      is.count += n;
    }
    for (auto& pc : is.per_cpu) pc.share_pct = 100.0 * static_cast<double>(pc.count) / static_cast<double>(is.count);
    snap.irqs.push_back(is);
  }
  return snap;
}

topology::Machine synthetic(const char* description) {
  auto m = topology::load_synthetic(description);
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().message);
  return m ? *m : topology::Machine{};
}

std::string header_line(const std::string& table) {
  const auto start = table.find("\nIRQ ");
  return table.substr(start + 1, table.find('\n', start + 1) - start - 1);
}

TEST(ReportLayout, SmallMachinesGetOneColumnPerCpu) {
  const auto snap = snapshot_of(synthetic("pack:1 core:4 pu:1"));
  const std::string header = header_line(render_table(snap, {}));
  EXPECT_THAT(header, HasSubstr("CPU0 %"));
  EXPECT_THAT(header, HasSubstr("CPU3 %"));
}

TEST(ReportLayout, WideMachinesCollapseToNodes) {
  const auto snap = snapshot_of(synthetic("pack:2 [numa] core:16 pu:2"));  // 64 CPUs
  const std::string table = render_table(snap, {});
  const std::string header = header_line(table);
  EXPECT_THAT(header, HasSubstr("NODE0 %"));
  EXPECT_THAT(header, HasSubstr("NODE1 %"));
  EXPECT_THAT(header, Not(HasSubstr("CPU1 %")));
  // Every line of the IRQ table stays narrower than a wide terminal.
  std::istringstream lines(table.substr(table.find("\nIRQ ")));
  std::string line;
  while (std::getline(lines, line) && !line.empty()) EXPECT_LT(line.size(), 160U) << line;
}

TEST(ReportLayout, ManyNodesAndPackagesPivotToBusiestCpus) {
  const auto snap = snapshot_of(synthetic("pack:32 [numa] core:2 pu:1"));  // 32 nodes, 32 packages
  ReportOptions options;
  const std::string table = render_table(snap, options);
  EXPECT_THAT(header_line(table), HasSubstr("BUSIEST CPUS"));
  EXPECT_THAT(table, HasSubstr("cpu5:99.0% cpu0:1.0%"));
}

TEST(ReportLayout, CpuFilterNarrowsColumnsVerdictsAndJson) {
  const auto snap = snapshot_of(synthetic("pack:2 [numa] core:16 pu:2"));
  ReportOptions options;
  options.cpus = core::CpuSet{4, 5};
  const std::string header = header_line(render_table(snap, options));
  EXPECT_THAT(header, HasSubstr("CPU4 %"));
  EXPECT_THAT(header, HasSubstr("CPU5 %"));
  EXPECT_THAT(header, Not(HasSubstr("CPU0 %")));

  const auto doc = nlohmann::json::parse(render_json(snap, options));
  EXPECT_EQ(doc.at("selected_cpus"), "4-5");
  EXPECT_EQ(doc.at("cpus").size(), 2U);
  const auto& irq104 = doc.at("irqs").at(4);  // home CPU 4
  EXPECT_EQ(irq104.at("irq"), 104);
  EXPECT_EQ(irq104.at("per_cpu").size(), 2U);
  EXPECT_EQ(irq104.at("verdict"), "CPU5");  // among CPUs 4-5, CPU5 has the smaller share
}

TEST(ReportLayout, ExplicitColumnsChoiceWins) {
  const auto snap = snapshot_of(synthetic("pack:2 [numa] core:2 pu:1"));
  ReportOptions options;
  options.columns = Columns::kPackage;
  EXPECT_THAT(header_line(render_table(snap, options)), HasSubstr("PKG1 %"));
}

TEST(ReportJson, SameSnapshotSameBytes) {
  const auto snap = snapshot_of(synthetic("pack:2 [numa] core:4 pu:2"));
  EXPECT_EQ(render_json(snap, {}), render_json(snap, {}));
  EXPECT_EQ(render_table(snap, {}), render_table(snap, {}));
}

}  // namespace
}  // namespace irqbpfd::report
