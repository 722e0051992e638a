// update_load_noise: the noise of IRQs that stayed on their CPU and, apart,
// the change in the load of IRQs that moved (the /proc estimate of a moved
// IRQ depends on its new neighbours), which keeps its value while nothing
// moves.
#include <gtest/gtest.h>

#include <vector>

#include "irqbpfd/model/load_noise.hpp"

namespace irqbpfd::model {
namespace {

using core::cpu_id;
using core::irq_number;

struct Irq {
  std::uint32_t irq;
  std::uint32_t cpu;
  std::uint64_t load_ns;
};

// One window of 1 s: each IRQ ran 100 interrupts on `cpu`.
Snapshot window(const std::vector<Irq>& irqs) {
  Snapshot s;
  s.window_s = 1.0;
  for (const Irq& i : irqs) {
    IrqSnapshot is;
    is.edit_desc().irq = irq_number(i.irq);
    is.count = 100;
    is.load_ns = i.load_ns;
    is.per_cpu.push_back(IrqCpuCount{cpu_id(i.cpu), 100, 100.0, i.load_ns, {}, {}, {}});
    s.irqs.push_back(std::move(is));
  }
  return s;
}

// Ten IRQs of 1 ms/s each, on CPUs 0-9; `moved` of them (from the first)
// ran on CPU 20+k instead, with `moved_load` each.
std::vector<Irq> ten(std::size_t moved = 0, std::uint64_t moved_load = 1'000'000) {
  std::vector<Irq> out;
  for (std::uint32_t k = 0; k < 10; ++k) {
    if (k < moved) {
      out.push_back({100 + k, 20 + k, moved_load});
    } else {
      out.push_back({100 + k, k, 1'000'000});
    }
  }
  return out;
}

TEST(LoadNoise, MainCpuIsWhereMostInterruptsLanded) {
  IrqSnapshot is;
  is.per_cpu = {IrqCpuCount{cpu_id(3), 10, 0, {}, {}, {}, {}}, IrqCpuCount{cpu_id(1), 30, 0, {}, {}, {}, {}},
                IrqCpuCount{cpu_id(2), 30, 0, {}, {}, {}, {}}};
  EXPECT_EQ(main_cpu(is), 1U);  // ties: the lowest id
  is.per_cpu.clear();
  EXPECT_EQ(main_cpu(is), kNowhere);
}

TEST(LoadNoise, IrqsThatStayedMeasureTheNoiseOnly) {
  LoadNoise n = update_load_noise(LoadNoise{}, window(ten()));
  EXPECT_LT(n.share, 0);  // one window: nothing to compare
  n = update_load_noise(n, window(ten()));
  EXPECT_EQ(n.share, 0.0);
  EXPECT_LT(n.moved_share, 0) << "nothing moved: not measured";
  EXPECT_EQ(n.for_plans(), 0.0);
}

TEST(LoadNoise, MovedIrqsWhoseLoadChangedRaiseTheNoiseForPlans) {
  LoadNoise n = update_load_noise(LoadNoise{}, window(ten()));
  n = update_load_noise(n, window(ten()));
  // Eight IRQs moved and now read 1.25 ms/s: each changed by 0.25 / 1.25.
  n = update_load_noise(n, window(ten(8, 1'250'000)));
  EXPECT_NEAR(n.moved_share, 0.2, 1e-9);
  EXPECT_EQ(n.share, 0.0) << "the two that stayed did not change";
  EXPECT_NEAR(n.for_plans(), 0.2, 1e-9);
  // Nothing moves for many windows: the share learned from the move stays.
  for (int i = 0; i < 50; ++i) n = update_load_noise(n, window(ten(8, 1'250'000)));
  EXPECT_NEAR(n.moved_share, 0.2, 1e-9);
  // The next move is measured and averaged in: back home they read 1 ms/s
  // again, a change of 0.2 once more.
  n = update_load_noise(n, window(ten(0, 1'000'000)));
  EXPECT_NEAR(n.moved_share, 0.5 * 0.2 + 0.5 * 0.2, 1e-9);
}

TEST(LoadNoise, TooFewMovedIrqsSayNothing) {
  LoadNoise n = update_load_noise(LoadNoise{}, window(ten()));
  n = update_load_noise(n, window(ten(kMovedSample - 1, 2'000'000)));
  EXPECT_LT(n.moved_share, 0);
  n = update_load_noise(n, window(ten(0)));  // they move back: as few again
  EXPECT_LT(n.moved_share, 0);
}

}  // namespace
}  // namespace irqbpfd::model
