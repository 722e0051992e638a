// How much IRQ loads move from one window to the next: each IRQ's load in ns
// per second of window, and the smoothed, load-weighted share by which loads
// changed. The balancer sets its gain floor from it (noisy loads must not
// look like imbalance); it is pure data kept between cycles.
#pragma once

#include <utility>
#include <vector>

#include "irqbpfd/core/types.hpp"
#include "irqbpfd/model/snapshot.hpp"

namespace irqbpfd::model {

// An IRQ's load in ns per second of window: its measured or estimated time,
// or 1 us per interrupt when the source has no time at all (a capture).
double irq_load_ns_per_s(const IrqSnapshot& irq, double window_s);

struct LoadNoise {
  // Each IRQ's load last window, ascending IRQ.
  std::vector<std::pair<core::IrqNumber, double>> loads_ns_per_s;
  // This window's observation: the load-weighted mean of |change| /
  // max(load now, load before) over the IRQs seen in both windows;
  // negative until two windows were seen.
  double observed = -1;
  // The noise: the smaller of the last two observations (a load that steps
  // up and stays shows in one window only; noise shows in every one),
  // smoothed as the mean of that and the previous value; negative until two
  // windows were seen.
  double share = -1;
};

// The noise after `snapshot`, from the noise before it. IRQs that appear or
// vanish do not count; a window where nothing had load leaves share as it was.
LoadNoise update_load_noise(const LoadNoise& before, const Snapshot& snapshot);

}  // namespace irqbpfd::model
