// CPU state from /sys/devices/system/cpu: possible, present, online,
// isolated (isolcpus=) and nohz_full. Missing isolated/nohz_full files mean
// empty sets. Also the kernel's nr_cpu_ids, the width of its CPU masks.
#pragma once

#include <cstdint>

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

// The kernel's nr_cpu_ids: the highest possible CPU + 1 ("0-39" gives 40).
// It sets the width of every mask the kernel prints and parses
// (smp_affinity on a 40-CPU machine reads "ff,ffffffff"), so writers format
// masks to it. From `possible`, as read_cpu_state() finds it.
core::Result<std::uint32_t> read_nr_cpu_ids(const SysRoot& root);

}  // namespace irqbpfd::sys
