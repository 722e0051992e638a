// Golden tests: the report (table and JSON) of recorded machines, produced by
// the real irqbpfd binary. IRQBPFD_UPDATE_GOLDEN=1 rewrites the expectations;
// review the diff before committing it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fake_root.hpp"
#include "golden.hpp"
#include "run_command.hpp"

namespace irqbpfd {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::expect_golden;
using testing::fixtures_dir;
using testing::run_command;

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size()) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// The numa2 fixture copied into a temporary root, with its file modes.
class Numa2Root {
 public:
  Numa2Root() { root_.copy_fixture("numa2"); }
  [[nodiscard]] std::string path() const { return root_.path().string(); }

 private:
  testing::FakeRoot root_;
};

// Runs irqbpfd and returns stdout with the checkout's fixture path and the
// temporary root replaced, so expectations do not depend on where the repo is
// cloned or which temp name was drawn.
std::string report(std::vector<std::string> args, const std::string& root = "") {
  args.insert(args.begin(), IRQBPFD_BINARY);
  const CommandResult r = run_command(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string out = replace_all(r.out, fs::weakly_canonical(fixtures_dir()).string(), "<FIXTURES>");
  return root.empty() ? out : replace_all(out, root, "<ROOT>");
}

std::string seed_sample() { return fs::weakly_canonical(fixtures_dir() / "seed" / "sample_interrupt").string(); }

TEST(ReportGolden, Numa2Table) {
  const Numa2Root root;
  expect_golden("numa2.txt", report({"--root", root.path(), "--once", "--dry-run", "--sample", "0"}, root.path()));
}

TEST(ReportGolden, Numa2Json) {
  const Numa2Root root;
  expect_golden("numa2.json", report({"--root", root.path(), "--once", "--dry-run", "--sample", "0", "--format", "json"},
                                     root.path()));
}

// --per-cpu active keeps, of each IRQ's per_cpu, exactly the entries of the
// full list where it counted or cost time, and changes nothing else.
TEST(ReportGolden, Numa2JsonActivePerCpu) {
  const Numa2Root root;
  const std::vector<std::string> base = {"--root", root.path(), "--once", "--dry-run", "--sample", "0", "--format", "json"};
  auto with = [&](const char* mode) {
    auto args = base;
    args.insert(args.end(), {"--per-cpu", mode});
    return nlohmann::json::parse(report(args, root.path()));
  };
  const auto all = with("all");
  auto active = with("active");
  EXPECT_EQ(all, nlohmann::json::parse(report(base, root.path())));  // all is the default
  ASSERT_EQ(all["irqs"].size(), active["irqs"].size());
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < all["irqs"].size(); ++i) {
    nlohmann::json expected = nlohmann::json::array();
    for (const auto& pc : all["irqs"][i]["per_cpu"]) {
      const bool busy = pc["count"].get<std::uint64_t>() > 0 || (pc["load_ns"].is_number() && pc["load_ns"] != 0);
      if (busy) expected.push_back(pc);
    }
    dropped += all["irqs"][i]["per_cpu"].size() - expected.size();
    EXPECT_EQ(active["irqs"][i]["per_cpu"], expected) << all["irqs"][i]["irq"];
    active["irqs"][i]["per_cpu"] = all["irqs"][i]["per_cpu"];
  }
  EXPECT_GT(dropped, 0U);       // the fixture has idle (IRQ, CPU) pairs
  EXPECT_EQ(active, all);       // nothing else differs
  const CommandResult bad = run_command({IRQBPFD_BINARY, "--once", "--dry-run", "--per-cpu", "some"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, ::testing::HasSubstr("--per-cpu"));
}

// --once runs the daemon's tick, rules included: a rule's pin becomes the
// plan's move and a rule's ban takes an IRQ out of it (both differ from the
// plan without the file, where 37 is not sent to cpu 7 and 38 moves).
TEST(ReportGolden, OnceAppliesTheConfigurationsRules) {
  const Numa2Root root;
  const fs::path conf = fs::path(root.path()) / "rules.conf";
  {
    std::ofstream out(conf);
    out << "[[rule]]\nirq = 37\npin = \"7\"\n\n[[rule]]\nirq = 38\nban = true\n";
  }
  const auto plan_of = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"--root", root.path(), "--once", "--dry-run", "--sample", "0", "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::map<int, std::string> to;
    const nlohmann::json report_json = nlohmann::json::parse(report(args, root.path()));
    for (const auto& m : report_json["plan"]) to[m["irq"].get<int>()] = m["to"].get<std::string>();
    return to;
  };
  const fs::path empty = fs::path(root.path()) / "empty.conf";
  std::ofstream(empty).close();
  const auto plain = plan_of({"--config", empty.string()});
  EXPECT_NE(plain.count(37) ? plain.at(37) : "", "7");
  ASSERT_EQ(plain.count(38), 1U) << "38 runs off its node: without the ban it moves";
  const auto ruled = plan_of({"--config", conf.string()});
  ASSERT_TRUE(ruled.count(37)) << "the pin is a move";
  EXPECT_EQ(ruled.at(37), "7");
  EXPECT_EQ(ruled.count(38), 0U) << "the ban leaves 38 alone";
}

TEST(ReportGolden, Numa2NodeColumnsAndCpuFilter) {
  const Numa2Root root;
  expect_golden("numa2-node-columns.txt",
                report({"--root", root.path(), "--once", "--dry-run", "--sample", "0", "--columns", "node"}, root.path()));
  expect_golden("numa2-cpus-0-3.txt",
                report({"--root", root.path(), "--once", "--dry-run", "--sample", "0", "--cpus", "0-3"}, root.path()));
}

TEST(ReportGolden, SeedSampleTable) {
  expect_golden("seed.txt", report({"--interrupts-file", seed_sample(), "--once", "--dry-run"}));
}

// The seed tool's own example: shares that reproduce its 2-CPU table must
// reproduce its "Set affinity to" column.
TEST(SeedExample, ReproducesTheSeedVerdictColumn) {
  const auto doc = nlohmann::json::parse(
      report({"--interrupts-file", seed_sample(), "--once", "--dry-run", "--threshold", "10", "--format", "json"}));
  std::map<int, std::string> ours;
  for (const auto& irq : doc.at("irqs")) ours[irq.at("irq").get<int>()] = irq.at("verdict").get<std::string>();

  std::ifstream in(fixtures_dir() / "seed" / "expected_verdicts.txt");
  ASSERT_TRUE(in);
  std::string line;
  int compared = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    int irq = 0;
    std::string seed;
    fields >> irq >> seed;
    const std::string expected = seed == "Balanced" ? "balanced" : seed;
    ASSERT_TRUE(ours.count(irq)) << "IRQ " << irq << " missing from the report";
    EXPECT_EQ(ours[irq], expected) << "IRQ " << irq;
    ++compared;
  }
  EXPECT_EQ(compared, 65);
  EXPECT_EQ(doc.at("collector"), "file");
}

TEST(ReportErrors, MissingRootIsAClearErrorNotACrash) {
  const CommandResult r = run_command({IRQBPFD_BINARY, "--root", "/nonexistent-irqbpfd-root", "--once", "--dry-run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("/nonexistent-irqbpfd-root"));
  EXPECT_TRUE(r.out.empty());
}

TEST(ReportErrors, RootWithoutProcInterruptsNamesTheFile) {
  testing::FakeRoot root;
  root.write("/proc/stat", "cpu  0 0 0 0 0 0 0 0 0 0\n");
  const CommandResult r = run_command({IRQBPFD_BINARY, "--root", root.path().string(), "--once", "--dry-run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("/proc/interrupts"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("No such file"));
}

TEST(ReportErrors, MalformedProcInterruptsNamesLine) {
  testing::FakeRoot root;
  root.copy_fixture("numa2");
  root.write("/proc/interrupts", "           CPU0       CPU1\n  0:         21   IO-APIC   2-edge      timer\n");
  const CommandResult r =
      run_command({IRQBPFD_BINARY, "--root", root.path().string(), "--once", "--dry-run", "--sample", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("/proc/interrupts:2"));
}

TEST(ReportErrors, BadFlagsAreUsageErrors) {
  EXPECT_EQ(run_command({IRQBPFD_BINARY, "--once", "--dry-run", "--sample", "-1"}).exit_code, 2);
  EXPECT_EQ(run_command({IRQBPFD_BINARY, "--once", "--dry-run", "--format", "xml"}).exit_code, 2);
  EXPECT_EQ(run_command({IRQBPFD_BINARY, "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(run_command({IRQBPFD_BINARY, "--help"}).exit_code, 0);
  EXPECT_EQ(run_command({IRQBPFD_BINARY, "--version"}).exit_code, 0);
  const CommandResult cpus = run_command({IRQBPFD_BINARY, "--once", "--dry-run", "--cpus", "3-1"});
  EXPECT_EQ(cpus.exit_code, 2);
  EXPECT_THAT(cpus.err, ::testing::HasSubstr("--cpus"));
  for (const char* every : {"3", "0", "128", "8x"}) {
    const CommandResult r = run_command({IRQBPFD_BINARY, "--once", "--dry-run", "--hardirq-sample-every", every});
    EXPECT_EQ(r.exit_code, 2) << every;
    EXPECT_THAT(r.err, ::testing::HasSubstr("--hardirq-sample-every")) << every;
  }
  // (--once without --dry-run applies the plan: tested on a fake root in
  // tests/daemon, never here on the live machine.)
}

}  // namespace
}  // namespace irqbpfd
