// The model of `irqbpfctl top`: the view from a /v1/irqs body, the five sort
// orders (unknown values last, ties by IRQ number), rows and CPU bars cut to
// the width, and a screen that never exceeds the terminal's size.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "irqbpfd/api/top_model.hpp"

namespace irqbpfd::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Three IRQs over a 2 s window on two CPUs (BPF: handler and softirq known
// for two of them; IRQ 30's load unknown).
constexpr const char* kIrqs = R"({"window_s": 2.0, "collector": "bpf", "irqs": [
  {"irq": 24, "name": "virtio3-rx", "count": 2000, "hardirq_ns": 20000000, "softirq_ns": 80000000,
   "load_ns": 100000000, "load_estimated": false,
   "per_cpu": [{"cpu": 0, "count": 500, "load_ns": 25000000}, {"cpu": 1, "count": 1500, "load_ns": 75000000}]},
  {"irq": 25, "name": "virtio3-tx", "count": 4000, "hardirq_ns": 40000000, "softirq_ns": 0,
   "load_ns": 40000000, "load_estimated": false,
   "per_cpu": [{"cpu": 0, "count": 4000, "load_ns": 40000000}, {"cpu": 1, "count": 0, "load_ns": 0}]},
  {"irq": 30, "name": "virtio1-req.0", "count": 2000, "hardirq_ns": null, "softirq_ns": null,
   "load_ns": null, "load_estimated": false,
   "per_cpu": [{"cpu": 0, "count": 0, "load_ns": null}, {"cpu": 1, "count": 2000, "load_ns": null}]}]})";

TopView view() {
  auto v = top_view(Json::parse(kIrqs));
  EXPECT_TRUE(v.has_value()) << (v ? "" : v.error().message);
  return v ? *v : TopView{};
}

// The daemon's default answer lists in per_cpu only the CPUs an IRQ was
// active on; /v1/cpus names all four (CPU 3 offline), so idle CPU 2 gets a bar.
TEST(TopModel, IdleCpusComeFromTheCpuList) {
  const auto irqs = Json::parse(R"({"window_s": 1, "irqs": [
    {"irq": 24, "count": 10, "load_ns": 1000, "per_cpu": [{"cpu": 1, "count": 10, "load_ns": 1000}]}]})");
  const auto cpus = Json::parse(R"({"cpus": [{"cpu": 0, "online": true}, {"cpu": 1, "online": true},
    {"cpu": 2, "online": true}, {"cpu": 3, "online": false}]})");
  auto v = top_view(irqs, &cpus);
  ASSERT_TRUE(v.has_value()) << v.error().message;
  ASSERT_EQ(v->cpus.size(), 3U);
  EXPECT_EQ(v->cpus[0].cpu, 0U);
  EXPECT_EQ(v->cpus[0].count, 0U);
  EXPECT_EQ(v->cpus[0].load_ns, 0U);  // loads are known, and none landed here
  EXPECT_EQ(v->cpus[1].load_ns, 1000U);
  EXPECT_EQ(v->cpus[2].cpu, 2U);
  // Without the CPU list only the active CPU shows.
  auto alone = top_view(irqs);
  ASSERT_TRUE(alone.has_value());
  ASSERT_EQ(alone->cpus.size(), 1U);
  EXPECT_EQ(alone->cpus[0].cpu, 1U);
  // Loads unknown everywhere: idle CPUs stay unknown, not zero.
  const auto blind = Json::parse(R"({"window_s": 1, "irqs": [
    {"irq": 24, "count": 10, "load_ns": null, "per_cpu": [{"cpu": 1, "count": 10, "load_ns": null}]}]})");
  auto b = top_view(blind, &cpus);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->cpus[0].load_ns, std::nullopt);
  EXPECT_FALSE(top_view(irqs, &irqs).has_value());  // not a CPU list
}

std::vector<std::uint32_t> order(TopView v, TopSort sort) {
  sort_rows(v.rows, sort);
  std::vector<std::uint32_t> out;
  for (const auto& r : v.rows) out.push_back(r.irq);
  return out;
}

TEST(TopModel, ViewFromIrqsBody) {
  const TopView v = view();
  EXPECT_EQ(v.collector, "bpf");
  EXPECT_DOUBLE_EQ(v.window_s, 2.0);
  ASSERT_EQ(v.rows.size(), 3U);
  EXPECT_EQ(v.rows[0].top_cpu, 1U);
  EXPECT_EQ(v.rows[1].top_cpu, 0U);
  EXPECT_EQ(v.rows[2].load_ns, std::nullopt);
  ASSERT_EQ(v.cpus.size(), 2U);
  EXPECT_EQ(v.cpus[0].count, 4500U);
  EXPECT_EQ(v.cpus[0].load_ns, 65000000U);
  EXPECT_EQ(v.cpus[1].count, 3500U);
  EXPECT_EQ(v.cpus[1].load_ns, 75000000U);
  EXPECT_THAT(top_view(Json::parse(R"({"irqs": []})")).error().message, HasSubstr("window_s"));
  EXPECT_FALSE(top_view(Json::parse(R"({"window_s": 1, "irqs": [{"name": "x"}]})")).has_value());
}

TEST(TopModel, SortKeysAndOrders) {
  EXPECT_EQ(top_sort_for_key('r'), TopSort::kRate);
  EXPECT_EQ(top_sort_for_key('h'), TopSort::kHandler);
  EXPECT_EQ(top_sort_for_key('s'), TopSort::kSoftirq);
  EXPECT_EQ(top_sort_for_key('l'), TopSort::kLoad);
  EXPECT_EQ(top_sort_for_key('i'), TopSort::kIrq);
  EXPECT_EQ(top_sort_for_key('x'), std::nullopt);
  const TopView v = view();
  EXPECT_THAT(order(v, TopSort::kRate), ElementsAre(25, 24, 30));     // 4000 > 2000 = 2000 (tie by number)
  EXPECT_THAT(order(v, TopSort::kHandler), ElementsAre(25, 24, 30));  // unknown last
  EXPECT_THAT(order(v, TopSort::kSoftirq), ElementsAre(24, 25, 30));
  EXPECT_THAT(order(v, TopSort::kLoad), ElementsAre(24, 25, 30));
  EXPECT_THAT(order(v, TopSort::kIrq), ElementsAre(24, 25, 30));
}

TEST(TopModel, RowTextColumnsAndWidth) {
  const TopView v = view();
  EXPECT_EQ(top_header(200), "   IRQ    IRQ/S  HANDLER%  SOFTIRQ%     LOAD%   CPU  NAME");
  // 2000 in 2 s; 20 ms handler, 80 ms softirq, 100 ms load in 2 s: 1%, 4%, 5% of a CPU.
  EXPECT_EQ(top_row_text(v.rows[0], 2.0, 200), "    24     1000      1.00      4.00      5.00     1  virtio3-rx");
  EXPECT_EQ(top_row_text(v.rows[2], 2.0, 200), "    30     1000         -         -         -     1  virtio1-req.0");
  EXPECT_EQ(top_row_text(v.rows[0], 2.0, 20), "    24     1000     ");
  TopRow est = v.rows[0];
  est.load_estimated = true;
  est.hardirq_ns.reset();
  est.softirq_ns.reset();
  EXPECT_EQ(top_row_text(est, 2.0, 200), "    24     1000         -         -     ~5.00     1  virtio3-rx");
}

TEST(TopModel, CpuBarIsTheLoadOfOneCpu) {
  TopCpu c{3, 1000, 500000000, false};  // half a second of load in 1 s
  const std::string bar = top_cpu_text(c, 1.0, 40);
  EXPECT_EQ(bar.size(), 40U);
  EXPECT_EQ(bar, "  3 [|||||||||        ]  50.00%   1000/s");  // 8.5 of 17 marks, rounded
  c.load_ns = 2'000'000'000;  // more than the window: full, not beyond
  EXPECT_EQ(top_cpu_text(c, 1.0, 40), "  3 [|||||||||||||||||] 200.00%   1000/s");
  c.load_ns = 1;  // a little: one mark
  EXPECT_EQ(top_cpu_text(c, 1.0, 40), "  3 [|                ]  <0.01%   1000/s");
  c.load_ns.reset();
  EXPECT_EQ(top_cpu_text(c, 1.0, 40), "  3 [                 ]       -   1000/s");
  EXPECT_EQ(top_cpu_text(c, 1.0, 12), "  3 - 1000/s");
}

TEST(TopModel, ScreenFitsTheTerminal) {
  const TopView v = view();
  for (std::size_t w : {20U, 60U, 80U, 132U}) {
    for (std::size_t h : {1U, 3U, 8U, 24U}) {
      const TopScreen s = render_top(v, TopSort::kRate, w, h, "http://localhost:5000", "updated 12:00:00");
      EXPECT_EQ(s.lines.size(), h) << w << "x" << h;
      for (const auto& line : s.lines) EXPECT_LE(line.size(), w) << w << "x" << h << ": " << line;
      EXPECT_THAT(s.lines.back(), StartsWith(std::string("updated 12:00:00").substr(0, w))) << w << "x" << h;
    }
  }
}

TEST(TopModel, ScreenShowsCpusThenTheSortedTable) {
  const TopScreen s = render_top(view(), TopSort::kLoad, 120, 12, "/run/irqbpfd/irqbpfd.sock", "updated 12:00:00");
  ASSERT_EQ(s.lines.size(), 12U);
  EXPECT_EQ(s.lines[0], "irqbpfctl top  /run/irqbpfd/irqbpfd.sock  collector bpf, window 2.0 s  sort: load (r h s l i, q quits)");
  // 120 columns: two CPU cells to a line.
  EXPECT_THAT(s.lines[1], StartsWith("  0 [|"));
  EXPECT_THAT(s.lines[1], HasSubstr("  1 [|"));
  EXPECT_EQ(s.lines[2], "");
  ASSERT_EQ(s.header_line, 3U);
  EXPECT_THAT(s.lines[3], HasSubstr("HANDLER%"));
  EXPECT_THAT(s.lines[4], StartsWith("    24 "));
  EXPECT_THAT(s.lines[5], StartsWith("    25 "));
  EXPECT_THAT(s.lines[6], StartsWith("    30 "));
  EXPECT_EQ(s.lines[11], "updated 12:00:00");
}

TEST(TopModel, ScreenTooSmallSaysWhatItLeftOut) {
  TopView v = view();
  for (std::uint32_t c = 2; c < 64; ++c) v.cpus.push_back(TopCpu{c, 0, 0, false});
  const TopScreen s = render_top(v, TopSort::kIrq, 80, 9, "x", "ok");
  ASSERT_EQ(s.lines.size(), 9U);
  // A third of 9 lines for CPUs: two of them, and a line for the rest.
  EXPECT_THAT(s.lines[1], StartsWith("  0 ["));
  EXPECT_THAT(s.lines[2], StartsWith("  1 ["));
  EXPECT_THAT(s.lines[3], HasSubstr("62 more CPUs"));
  EXPECT_THAT(s.lines.back(), HasSubstr("ok  2 of 3 IRQs shown"));
  const TopScreen tiny = render_top(v, TopSort::kIrq, 80, 2, "x", "ok");
  EXPECT_EQ(tiny.header_line, std::nullopt);
  const TopScreen none = render_top(TopView{"proc", 10, {}, {}}, TopSort::kRate, 80, 10, "x", "");
  EXPECT_THAT(none.lines[3], HasSubstr("no IRQs"));
}

}  // namespace
}  // namespace irqbpfd::api
