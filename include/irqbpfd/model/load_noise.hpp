// How much IRQ loads move from one window to the next: each IRQ's load in ns
// per second of window and where it ran, and the smoothed, load-weighted
// share by which loads changed, kept apart for IRQs that stayed and IRQs
// that moved. The balancer sets its gain floor from them (noisy loads must
// not look like imbalance, and a load that changes when its IRQ moves makes
// every predicted gain uncertain); it is pure data kept between cycles.
#pragma once

#include <cstdint>
#include <vector>

#include "irqbpfd/core/types.hpp"
#include "irqbpfd/model/snapshot.hpp"

namespace irqbpfd::model {

// An IRQ's load in ns per second of window: its measured or estimated time,
// or 1 us per interrupt when the source has no time at all (a capture).
double irq_load_ns_per_s(const IrqSnapshot& irq, double window_s);

// Where an IRQ's interrupts mostly landed in a window (the CPU with the most,
// lowest id on ties); kNowhere when it had none.
inline constexpr std::uint32_t kNowhere = UINT32_MAX;
std::uint32_t main_cpu(const IrqSnapshot& irq);

struct LoadNoise {
  struct Seen {
    core::IrqNumber irq{};
    double load_ns_per_s = 0;
    std::uint32_t cpu = kNowhere;  // main_cpu()
  };
  // Each IRQ last window, ascending IRQ.
  std::vector<Seen> seen;
  // This window's observation over the IRQs that ran on the same CPU in
  // both windows: the load-weighted mean of |change| / max(load now, load
  // before); negative until two windows were seen.
  double observed = -1;
  // The noise: the smaller of the last two observations (a load that steps
  // up and stays shows in one window only; noise shows in every one),
  // smoothed as the mean of that and the previous value; negative until two
  // windows were seen.
  double share = -1;
  // The same over the IRQs whose main CPU changed, smoothed as the mean of
  // the new observation and the previous value. Where a load depends on
  // the IRQ's neighbours (the /proc estimate splits a CPU's time by
  // interrupt counts; a softirq run is charged to its first raiser) a moved
  // IRQ's load is not what the plan assumed, and this says by how much. It
  // changes only in windows after a move (at least kMovedSample IRQs), so it
  // does not decay while nothing moves; negative until measured.
  double moved_share = -1;
  // The noise a plan's predicted gain must clear: the larger of the two.
  [[nodiscard]] double for_plans() const { return std::max(share, moved_share); }
};

inline constexpr std::size_t kMovedSample = 8;

// The noise after `snapshot`, from the noise before it. IRQs that appear or
// vanish do not count; a window where nothing had load leaves share as it was.
LoadNoise update_load_noise(const LoadNoise& before, const Snapshot& snapshot);

}  // namespace irqbpfd::model
