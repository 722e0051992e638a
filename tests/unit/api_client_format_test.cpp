// irqbpfctl's texts from JSON literals shaped like the API's answers: the
// seed tool's lines byte for byte, the tables' columns and order, and a body
// missing a field named in the error instead of a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "irqbpfd/api/client_format.hpp"

namespace irqbpfd::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Json json(const char* text) { return Json::parse(text); }

std::string ok(const core::Result<std::string>& r) {
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : std::string();
}

// The line of `text` that starts with `prefix` ("" when none does).
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if (line.rfind(prefix, 0) == 0) return line;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return "";
}

TEST(ClientFormat, CpuSummaryIsTheSeedToolsTextWithCpusAscending) {
  const auto body = json(R"({"second": 5, "source": "history", "cpus": [
      {"cpu": 2, "interrupts": 19513}, {"cpu": 3, "interrupts": 5350},
      {"cpu": 0, "interrupts": 10486}, {"cpu": 1, "interrupts": 11228}]})");
  EXPECT_EQ(ok(format_cpu_summary(body)),
            "Interrupt handled by CPU in last 5 seconds\n"
            "CPU0: 10486\n"
            "CPU1: 11228\n"
            "CPU2: 19513\n"
            "CPU3: 5350\n");
  EXPECT_EQ(ok(format_cpu_summary(json(R"({"second": 3, "source": "measured", "cpus": [{"cpu": 1, "interrupts": 0}]})"))),
            "Interrupt handled by CPU in last 3 seconds\nCPU1: 0\n");
  EXPECT_EQ(ok(format_cpu_summary(json(R"({"second": 2.5, "cpus": []})"))), "Interrupt handled by CPU in last 2.5 seconds\n");
}

TEST(ClientFormat, CpuSummaryMissingAFieldSaysWhich) {
  const auto r = format_cpu_summary(json(R"({"second": 5, "cpus": [{"cpu": 0}]})"));
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("unexpected answer from irqbpfd"));
  EXPECT_THAT(r.error().message, HasSubstr("interrupts"));
  EXPECT_FALSE(format_cpu_summary(json(R"([1, 2])")).has_value());
  EXPECT_FALSE(format_cpu_summary(json(R"({"second": 5, "cpus": [{"cpu": "zero", "interrupts": 1}]})")).has_value());
}

TEST(ClientFormat, SetAffinityLinesAreTheSeedTools) {
  EXPECT_EQ(format_set_affinity_ok(129), "Successfully set affinity for IRQ 129\n");
  EXPECT_EQ(format_set_affinity_failed(129, "irq 129: smp_affinity: Input/output error (HTTP 409)"),
            "Failed to set affinity for IRQ 129: irq 129: smp_affinity: Input/output error (HTTP 409)\n");
}

TEST(ClientFormat, StatusNamesEveryFact) {
  const auto body = json(R"({"version": "0.1.0", "collector": "proc",
      "collector_fallback_reason": "loading BPF programs (tp_btf): Operation not permitted",
      "cycle": 42, "state": "running", "dry_run": true, "interval_s": 10.0, "rescans": 1,
      "moves_total": 12, "writes_failed_total": 0, "cycle_ms": 3.25, "plan_summary": "balanced: hottest CPU 2.10%",
      "pinned": [{"irq": 41, "cpus": "0"}, {"irq": 40, "cpus": "2-3"}], "banned": [45, 41]})");
  const std::string text = ok(format_status(body));
  EXPECT_EQ(line_starting(text, "version"), "version    0.1.0");
  EXPECT_EQ(line_starting(text, "state"), "state      running (dry run: plans only, writes nothing)");
  EXPECT_EQ(line_starting(text, "collector"),
            "collector  proc (fallback: loading BPF programs (tp_btf): Operation not permitted)");
  EXPECT_EQ(line_starting(text, "cycle"), "cycle      42, every 10 s, the last took 3.2 ms");
  EXPECT_EQ(line_starting(text, "moves"), "moves      12 written, 0 failed");
  EXPECT_EQ(line_starting(text, "plan"), "plan       balanced: hottest CPU 2.10%");
  EXPECT_EQ(line_starting(text, "pinned"), "pinned     40 -> 2-3, 41 -> 0");
  EXPECT_EQ(line_starting(text, "banned"), "banned     41, 45");
}

TEST(ClientFormat, StatusSaysWhenHandlerTimeIsSampled) {
  const auto status = [](const char* every) {
    return ok(format_status(json(fmt::format(R"({{"state": "running", "cycle": 3, "collector": "bpf",
        "collector_fallback_reason": null, "hardirq_sample_every": {}}})", every).c_str())));
  };
  EXPECT_EQ(line_starting(status("8"), "collector"), "collector  bpf, handler time sampled 1 in 8");
  EXPECT_EQ(line_starting(status("1"), "collector"), "collector  bpf");
  EXPECT_EQ(line_starting(status("null"), "collector"), "collector  bpf");
}

TEST(ClientFormat, StatusBeforeTheFirstCycleShowsDashes) {
  const std::string text = ok(format_status(json(R"({"state": "starting", "cycle": 0, "cycle_ms": null,
      "collector": "bpf", "collector_fallback_reason": null, "plan_summary": null, "pinned": [], "banned": []})")));
  EXPECT_EQ(line_starting(text, "state"), "state      starting");
  EXPECT_EQ(line_starting(text, "collector"), "collector  bpf");
  EXPECT_EQ(line_starting(text, "cycle"), "cycle      0");
  EXPECT_EQ(line_starting(text, "plan"), "plan       -");
  EXPECT_EQ(line_starting(text, "pinned"), "pinned     none");
  EXPECT_FALSE(format_status(json(R"({"cycle": 1})")).has_value());
}

constexpr const char* kIrqs = R"({"window_s": 10.0, "collector": "bpf", "irqs": [
  {"irq": 25, "name": "virtio3-tx", "class": "other", "level": "package", "node": -1, "managed": false, "count": 0,
   "per_cpu": [{"cpu": 0, "count": 0, "share_pct": 0}, {"cpu": 1, "count": 0, "share_pct": 0}],
   "load_ns": 0, "load_estimated": false, "hardirq_ns": 0, "softirq_ns": 0, "p50_ns": null, "p99_ns": null,
   "smp_affinity": "0-1", "effective_affinity": "0", "verdict": "balanced", "planned_affinity": "0-1"},
  {"irq": 24, "name": "virtio3-rx", "class": "ethernet", "level": "core", "node": 0, "managed": false, "count": 12345,
   "per_cpu": [{"cpu": 0, "count": 345, "share_pct": 2.8}, {"cpu": 1, "count": 12000, "share_pct": 97.2}],
   "load_ns": 123400000, "load_estimated": false, "hardirq_ns": 23400000, "softirq_ns": 100000000,
   "p50_ns": 1500, "p99_ns": 9000, "smp_affinity": "0-1", "effective_affinity": "1", "verdict": "CPU0",
   "planned_affinity": "0"},
  {"irq": 30, "name": "virtio1-req.0", "class": "storage", "level": "core", "node": 0, "managed": true, "count": 7,
   "per_cpu": [{"cpu": 0, "count": 7, "share_pct": 100}, {"cpu": 1, "count": 0, "share_pct": 0}],
   "load_ns": null, "load_estimated": false, "hardirq_ns": null, "softirq_ns": null, "p50_ns": null, "p99_ns": null,
   "smp_affinity": "0", "effective_affinity": null, "verdict": "CPU1", "planned_affinity": null}]})";

TEST(ClientFormat, IrqsTableOneRowPerIrqAscending) {
  const std::string text = ok(format_irqs(json(kIrqs)));
  EXPECT_EQ(line_starting(text, "3 IRQs"), "3 IRQs, collector bpf, window 10.00 s");
  const std::string header = line_starting(text, "IRQ");
  EXPECT_EQ(header, "IRQ  NAME           CLASS     CPU  IRQ/S  LOAD%  AFFINITY     EFFECTIVE  PLANNED  VERDICT");
  const auto at24 = text.find("\n 24 ");
  const auto at25 = text.find("\n 25 ");
  const auto at30 = text.find("\n 30 ");
  ASSERT_NE(at24, std::string::npos) << text;
  EXPECT_LT(at24, at25);
  EXPECT_LT(at25, at30);
  // 12345 interrupts in 10 s (1234.5/s, rounded); 123.4 ms of load in 10 s = 1.23% of a CPU; most on CPU 1.
  EXPECT_EQ(line_starting(text, " 24 "), " 24  virtio3-rx     ethernet    1   1235   1.23  0-1          1          0        CPU0");
  EXPECT_EQ(line_starting(text, " 25 "), " 25  virtio3-tx     other       -      0   0.00  0-1          0          0-1      balanced");
  EXPECT_EQ(line_starting(text, " 30 "), " 30  virtio1-req.0  storage     0    0.7      -  0 (managed)  -          -        CPU1");
}

TEST(ClientFormat, IrqsTableMarksEstimatedLoad) {
  auto body = json(kIrqs);
  for (auto& irq : body["irqs"]) irq["load_estimated"] = true;
  body["collector"] = "proc";
  const std::string text = ok(format_irqs(body));
  EXPECT_THAT(line_starting(text, "3 IRQs"), HasSubstr("'~': load estimated"));
  EXPECT_THAT(line_starting(text, " 24 "), HasSubstr("~1.23"));
  EXPECT_THAT(format_irqs(json(R"({"irqs": []})")).error().message, HasSubstr("window_s"));
}

TEST(ClientFormat, CpusTable) {
  const auto body = json(R"({"cpus": [
    {"cpu": 1, "node": 0, "package": 0, "core": 1, "online": true, "isolated": true, "nohz_full": false,
     "interrupts": 300, "system_interrupts": 4000, "irq_ns": 0, "softirq_ns": 8000000,
     "softirq_vector_ns": {"HI": 0, "NET_RX": 2500000, "TIMER": 500000}, "softirq_unattributed_ns": {"TIMER": 500000}},
    {"cpu": 0, "node": -1, "package": null, "core": null, "online": false, "isolated": false, "nohz_full": false,
     "interrupts": 0, "system_interrupts": 0, "irq_ns": null, "softirq_ns": null,
     "softirq_vector_ns": null, "softirq_unattributed_ns": null}]})");
  const std::string text = ok(format_cpus(body));
  EXPECT_EQ(line_starting(text, "CPU"),
            "CPU  NODE  PKG  CORE  STATE            IRQS  SYSTEM  IRQ TIME  SOFTIRQ  SOFTIRQ(BPF)  UNATTRIBUTED");
  EXPECT_EQ(line_starting(text, "  0"), "  0     -    -     -  offline             0       0         -        -             -             -");
  EXPECT_EQ(line_starting(text, "  1"), "  1     0    0     1  online,isolated   300    4000       0ns   8.00ms        3.00ms       500.0us");
}

TEST(ClientFormat, PlanWithMovesHeldAndApplied) {
  const auto body = json(R"({"plan": [
      {"irq": 40, "from": "0-1", "to": "1", "reason": "off the hottest CPU", "gain_ns_per_s": 2500000},
      {"irq": 24, "from": "0", "to": "1", "reason": "isolated CPU 0", "gain_ns_per_s": null}],
    "plan_summary": "2 moves: hottest CPU 40.0% -> 20.0%",
    "held": [{"irq": 30, "reason": "kernel-managed"}],
    "applied": [{"irq": 24, "to": "1", "outcome": "done", "message": ""},
                {"irq": 40, "to": "1", "outcome": "failed", "message": "Input/output error"}],
    "dry_run": false})");
  EXPECT_EQ(ok(format_plan(body)),
            "Plan: 2 moves: hottest CPU 40.0% -> 20.0%\n"
            "IRQ  FROM  TO      GAIN  REASON\n"
            " 24  0     1          -  isolated CPU 0\n"
            " 40  0-1   1   2.50ms/s  off the hottest CPU\n"
            "\n"
            "Held:\n"
            "IRQ  REASON\n"
            " 30  kernel-managed\n"
            "\n"
            "Applied:\n"
            "IRQ  TO  OUTCOME  MESSAGE\n"
            " 24  1   done     -\n"
            " 40  1   failed   Input/output error\n");
  EXPECT_EQ(ok(format_plan(json(R"({"plan": [], "plan_summary": "balanced", "held": [], "dry_run": true})"))),
            "Plan (dry run): balanced\n");
}

TEST(ClientFormat, JsonIsPrettyPrintedInTheServersOrder) {
  EXPECT_EQ(format_json(R"({"b":1,"a":[1,2]})"), "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2\n  ]\n}\n");
  EXPECT_EQ(format_json("not json"), "not json");
  EXPECT_FALSE(parse_body("<html>").has_value());
  EXPECT_THAT(parse_body("<html>\nrest").error().message, HasSubstr("not JSON ('<html>')"));
}

TEST(ClientFormat, RateText) {
  EXPECT_EQ(rate_text(0), "0");
  EXPECT_EQ(rate_text(-1), "0");
  EXPECT_EQ(rate_text(0.26), "0.3");
  EXPECT_EQ(rate_text(9.9), "9.9");
  EXPECT_EQ(rate_text(1234.4), "1234");
  EXPECT_EQ(rate_text(12345), "12.3k");
  EXPECT_EQ(rate_text(4'560'000), "4.56M");
  EXPECT_THAT(rate_text(1e12), Not(HasSubstr("e")));
}

}  // namespace
}  // namespace irqbpfd::api
