// Tests of apply_plan: moves written in order with one result each, counts
// per outcome, managed IRQs collected and not counted against all_applied(),
// and the ENOSPC fallback chain (success, exhaustion, skipped fallbacks, the
// CPUs that refused recorded).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "apply_test_util.hpp"
#include "irqbpfd/apply/apply_plan.hpp"

namespace irqbpfd::apply {
namespace {

using core::CpuSet;
using core::irq_number;
using test::FakeKernelFiles;
using ::testing::ElementsAre;
using ::testing::Pair;

balance::Move move(std::uint32_t irq, CpuSet to, std::vector<CpuSet> fallbacks = {}) {
  balance::Move m;
  m.irq = irq_number(irq);
  m.to = std::move(to);
  m.fallbacks = std::move(fallbacks);
  return m;
}

// A 4-CPU machine: CPUs 0-1 have no vectors left.
FakeKernelFiles vectors_full_on_0_1() {
  FakeKernelFiles files;
  files.set_online("0-3");
  files.refuse = [](std::string_view, std::string_view content) {
    auto mask = CpuSet::parse_mask(content);
    return mask && mask->is_subset_of(CpuSet{0, 1}) ? ENOSPC : 0;
  };
  return files;
}

TEST(ApplyPlan, WritesMovesInOrderAndCountsOutcomes) {
  FakeKernelFiles files;
  files.add_irq(30, "3");
  files.add_irq(31, "1");
  files.add_irq(32, "3", 0444);
  files.add_irq(33, "3");
  files.refuse = [](std::string_view path, std::string_view) {
    return path == FakeKernelFiles::affinity_path(33) ? EPERM : 0;
  };
  balance::Plan plan;
  plan.moves = {move(31, {1}), move(30, {0}), move(32, {1}), move(33, {1}), move(34, {1})};
  ProcAffinityWriter writer(files, 2);
  const ApplyReport report = apply_plan(plan, writer);

  ASSERT_EQ(report.results.size(), 5U);
  std::vector<std::uint32_t> order;
  for (const MoveResult& m : report.results) order.push_back(core::raw(m.result.irq));
  EXPECT_THAT(order, ElementsAre(31, 30, 32, 33, 34));
  EXPECT_THAT(files.writes, ElementsAre(Pair(FakeKernelFiles::affinity_path(31), "2\n"),
                                        Pair(FakeKernelFiles::affinity_path(30), "1\n"),
                                        Pair(FakeKernelFiles::affinity_path(33), "2\n")));
  EXPECT_EQ(report.count(Outcome::kDone), 2U);
  EXPECT_EQ(report.count(Outcome::kManaged), 2U);
  EXPECT_EQ(report.count(Outcome::kVanished), 1U);
  EXPECT_EQ(report.count(Outcome::kFailed), 0U);
  EXPECT_THAT(report.managed, ElementsAre(irq_number(32), irq_number(33)));
  EXPECT_TRUE(report.no_vector_cpus.empty());
  EXPECT_FALSE(report.all_applied()) << "IRQ 34 vanished";
}

TEST(ApplyPlan, ManagedIsNotAnError) {
  FakeKernelFiles files;
  files.add_irq(30, "3");
  files.add_irq(32, "3", 0444);
  files.add_irq(33, "2");
  balance::Plan plan;
  plan.moves = {move(30, {0}), move(32, {1}), move(33, {1})};
  ProcAffinityWriter writer(files, 2);
  const ApplyReport report = apply_plan(plan, writer);
  EXPECT_EQ(report.count(Outcome::kDone), 1U);
  EXPECT_EQ(report.count(Outcome::kManaged), 1U);
  EXPECT_EQ(report.count(Outcome::kUnchanged), 1U);
  EXPECT_TRUE(report.all_applied());
}

TEST(ApplyPlan, EmptyPlanIsApplied) {
  FakeKernelFiles files;
  ProcAffinityWriter writer(files, 2);
  const ApplyReport report = apply_plan(balance::Plan{}, writer);
  EXPECT_TRUE(report.results.empty());
  EXPECT_TRUE(report.all_applied());
}

TEST(ApplyPlan, NoVectorsFallsBackInOrder) {
  FakeKernelFiles files = vectors_full_on_0_1();
  files.add_irq(30, "f");
  balance::Plan plan;
  plan.moves = {move(30, {0}, {CpuSet{1}, CpuSet{2}, CpuSet{3}})};
  ProcAffinityWriter writer(files, 4);
  const ApplyReport report = apply_plan(plan, writer);

  ASSERT_EQ(report.results.size(), 1U);
  const MoveResult& m = report.results[0];
  EXPECT_EQ(m.result.outcome, Outcome::kDone) << m.result.message;
  EXPECT_EQ(m.result.requested, CpuSet{2});
  EXPECT_EQ(m.fallback, 1U);
  ASSERT_EQ(m.no_vectors.size(), 2U);
  EXPECT_EQ(m.no_vectors[0].requested, CpuSet{0});
  EXPECT_EQ(m.no_vectors[1].requested, CpuSet{1});
  EXPECT_EQ(m.no_vectors[1].outcome, Outcome::kNoVectors);
  EXPECT_EQ(report.no_vector_cpus, (CpuSet{0, 1}));
  EXPECT_EQ(files.content(30), "4\n");
  EXPECT_EQ(files.writes.size(), 3U) << "CPU 3 never tried";
  EXPECT_EQ(report.count(Outcome::kDone), 1U);
  EXPECT_EQ(report.count(Outcome::kNoVectors), 0U) << "counts are per move, final outcome";
  EXPECT_TRUE(report.all_applied());
}

TEST(ApplyPlan, NoVectorsWithEveryFallbackRefused) {
  FakeKernelFiles files = vectors_full_on_0_1();
  files.add_irq(30, "f");
  files.add_irq(31, "f");
  balance::Plan plan;
  plan.moves = {move(30, {0}, {CpuSet{1}}), move(31, {2})};
  ProcAffinityWriter writer(files, 4);
  const ApplyReport report = apply_plan(plan, writer);

  const MoveResult& m = report.results[0];
  EXPECT_EQ(m.result.outcome, Outcome::kNoVectors);
  EXPECT_EQ(m.result.requested, CpuSet{1});
  EXPECT_EQ(m.fallback, 0U);
  ASSERT_EQ(m.no_vectors.size(), 1U);
  EXPECT_EQ(report.no_vector_cpus, (CpuSet{0, 1}));
  EXPECT_EQ(files.content(30), "f\n");
  EXPECT_EQ(report.results[1].result.outcome, Outcome::kDone) << "the next move still goes";
  EXPECT_EQ(report.count(Outcome::kNoVectors), 1U);
  EXPECT_FALSE(report.all_applied());
}

TEST(ApplyPlan, NoVectorsWithoutFallbacks) {
  FakeKernelFiles files = vectors_full_on_0_1();
  files.add_irq(30, "f");
  balance::Plan plan;
  plan.moves = {move(30, {0, 1})};
  ProcAffinityWriter writer(files, 4);
  const ApplyReport report = apply_plan(plan, writer);
  EXPECT_EQ(report.results[0].result.outcome, Outcome::kNoVectors);
  EXPECT_FALSE(report.results[0].fallback.has_value());
  EXPECT_TRUE(report.results[0].no_vectors.empty());
  EXPECT_EQ(report.no_vector_cpus, (CpuSet{0, 1}));
}

// CPUs 0 and 1 both refused the wide mask: a fallback on CPU 1 alone cannot
// do better and is not written; the one reaching CPU 2 is.
TEST(ApplyPlan, SkipsFallbacksOnCpusThatAlreadyRefused) {
  FakeKernelFiles files = vectors_full_on_0_1();
  files.add_irq(30, "f");
  balance::Plan plan;
  plan.moves = {move(30, {0, 1}, {CpuSet{1}, CpuSet{0}, CpuSet{1, 2}})};
  ProcAffinityWriter writer(files, 4);
  const ApplyReport report = apply_plan(plan, writer);
  const MoveResult& m = report.results[0];
  EXPECT_EQ(m.result.outcome, Outcome::kDone);
  EXPECT_EQ(m.fallback, 2U);
  EXPECT_THAT(files.writes, ElementsAre(Pair(FakeKernelFiles::affinity_path(30), "3\n"),
                                        Pair(FakeKernelFiles::affinity_path(30), "6\n")));
}

TEST(ApplyPlan, OtherRefusalsDoNotFallBack) {
  FakeKernelFiles files;
  files.set_online("0-3");
  files.add_irq(30, "f");
  files.refuse = [](auto, auto) { return EINVAL; };
  balance::Plan plan;
  plan.moves = {move(30, {3}, {CpuSet{2}})};
  ProcAffinityWriter writer(files, 4);
  const ApplyReport report = apply_plan(plan, writer);
  EXPECT_EQ(report.results[0].result.outcome, Outcome::kInvalid);
  EXPECT_FALSE(report.results[0].fallback.has_value());
  EXPECT_EQ(files.writes.size(), 1U);
  EXPECT_TRUE(report.no_vector_cpus.empty());
}

TEST(ApplyPlan, DryRunIsApplied) {
  FakeKernelFiles files;
  files.add_irq(30, "3");
  files.add_irq(31, "1");
  balance::Plan plan;
  plan.moves = {move(30, {1}), move(31, {0})};
  DryRunWriter writer(files, 2);
  const ApplyReport report = apply_plan(plan, writer);
  EXPECT_EQ(report.count(Outcome::kDryRun), 1U);
  EXPECT_EQ(report.count(Outcome::kUnchanged), 1U);
  EXPECT_TRUE(report.all_applied());
  EXPECT_TRUE(files.writes.empty());
}

}  // namespace
}  // namespace irqbpfd::apply
