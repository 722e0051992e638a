// Live: the report on this machine (read-only). It must list every numbered
// row of the real /proc/interrupts, with the fields the JSON contract names.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "irqbpfd/sys/proc_interrupts.hpp"
#include "privileges.hpp"
#include "run_command.hpp"

namespace irqbpfd {
namespace {

using testing::run_command;

std::set<unsigned> live_irqs() {
  std::ifstream in("/proc/interrupts");
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = sys::parse_proc_interrupts(text.str());
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  std::set<unsigned> out;
  if (parsed) {
    for (const auto& row : parsed->rows) {
      if (row.irq) out.insert(core::raw(*row.irq));
    }
  }
  return out;
}

TEST(LiveReport, JsonListsEveryNumberedRowOfProcInterrupts) {
  if (!std::ifstream("/proc/interrupts")) GTEST_SKIP() << "no /proc/interrupts on this machine";
  const std::set<unsigned> before = live_irqs();
  const auto r = run_command({IRQBPFD_BINARY, "--once", "--dry-run", "--sample", "0.3", "--format", "json"});
  const std::set<unsigned> after = live_irqs();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);

  // auto: measured where BPF may be loaded (root here), else the /proc estimate.
  EXPECT_EQ(doc.at("collector"), testing::bpf_privilege_missing().empty() ? "bpf" : "proc");
  EXPECT_NEAR(doc.at("window_s").get<double>(), 0.3, 0.25);
  std::set<unsigned> reported;
  for (const auto& irq : doc.at("irqs")) {
    reported.insert(irq.at("irq").get<unsigned>());
    for (const char* key : {"name", "device", "class", "level", "node", "managed", "count", "per_cpu", "load_ns",
                            "smp_affinity", "effective_affinity", "verdict"}) {
      EXPECT_TRUE(irq.contains(key)) << "irq " << irq.at("irq") << " lacks " << key;
    }
  }
  // Every IRQ that existed on both sides of the run is in the report (one
  // that appeared or vanished during the run may legitimately differ).
  std::size_t checked = 0;
  for (unsigned irq : before) {
    if (!after.count(irq)) continue;
    EXPECT_TRUE(reported.count(irq)) << "IRQ " << irq << " from /proc/interrupts missing in the report";
    ++checked;
  }
  EXPECT_GT(checked, 0U);
  // And each online CPU appears with its topology place.
  ASSERT_FALSE(doc.at("cpus").empty());
  for (const auto& cpu : doc.at("cpus")) {
    for (const char* key : {"cpu", "node", "package", "core", "online", "isolated", "interrupts"}) {
      EXPECT_TRUE(cpu.contains(key)) << key;
    }
  }
}

TEST(LiveReport, TableHasARowPerNumberedIrq) {
  if (!std::ifstream("/proc/interrupts")) GTEST_SKIP() << "no /proc/interrupts on this machine";
  const std::set<unsigned> before = live_irqs();
  const auto r = run_command({IRQBPFD_BINARY, "--once", "--dry-run", "--sample", "0"});
  const std::set<unsigned> after = live_irqs();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<unsigned> rows;
  std::istringstream lines(r.out);
  std::string line;
  bool in_irqs = false;
  while (std::getline(lines, line)) {
    if (line.rfind("IRQs (", 0) == 0) {
      in_irqs = true;
      std::getline(lines, line);  // column header
      continue;
    }
    if (in_irqs && line.empty()) break;
    if (in_irqs) {
      std::istringstream fields(line);
      unsigned irq = 0;
      if (fields >> irq) rows.insert(irq);
    }
  }
  for (unsigned irq : before) {
    if (after.count(irq)) {
      EXPECT_TRUE(rows.count(irq)) << "IRQ " << irq << " has no table row";
    }
  }
  EXPECT_THAT(r.out, ::testing::HasSubstr("Topology (live)"));
}

}  // namespace
}  // namespace irqbpfd
