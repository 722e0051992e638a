// CPU state from /sys/devices/system/cpu: possible, present, online,
// isolated (isolcpus=) and nohz_full. Missing isolated/nohz_full files mean
// empty sets.
#pragma once

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::sys {

struct CpuState {
  core::CpuSet possible;
  core::CpuSet present;
  core::CpuSet online;
  core::CpuSet isolated;
  core::CpuSet nohz_full;
};

// `online` is required (falls back to the cpuN/online files when the summary
// file is missing); possible/present fall back to online.
core::Result<CpuState> read_cpu_state(const SysRoot& root);

}  // namespace irqbpfd::sys
