// ReplayCollector: a Collector for simulated (or recorded) machines. Each
// reading is the fake root's /proc files, as the proc collector reads them,
// plus exact cumulative per-(IRQ, CPU) counts and time from an ExactCounters
// source in the `bpf` field, so build_snapshot yields measured loads.
#pragma once

#include <string_view>

#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/sim/fake_machine.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::sim {

class ReplayCollector final : public collect::Collector {
 public:
  // `exact` and `clock` must outlive the collector. `charge`: softirq time
  // as the BPF programs charge it (name "replay"), or the oracle's exact
  // split (name "oracle").
  ReplayCollector(sys::SysRoot root, const core::Clock& clock, const ExactCounters& exact,
                  SoftirqCharge charge = SoftirqCharge::kFirstRaiser)
      : proc_(std::move(root), clock), exact_(exact), charge_(charge) {}
  [[nodiscard]] std::string_view name() const override {
    return charge_ == SoftirqCharge::kOracle ? "oracle" : "replay";
  }
  [[nodiscard]] bool has_cpu_time() const override { return true; }
  core::Result<collect::RawSample> read() override {
    auto sample = proc_.read();
    if (!sample) return sample;
    sample->bpf = exact_.exact_reading(charge_);
    return sample;
  }

 private:
  collect::ProcCollector proc_;
  const ExactCounters& exact_;
  SoftirqCharge charge_;
};

}  // namespace irqbpfd::sim
