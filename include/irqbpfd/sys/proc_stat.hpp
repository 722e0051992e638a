// /proc/stat (per-CPU time in USER_HZ ticks, the intr and softirq lines) and
// /proc/softirqs (per-vector, per-CPU counts).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::sys {

// One "cpuN" line; times in USER_HZ ticks (sysconf(_SC_CLK_TCK), 100 on
// Linux), in the kernel's column order. Older kernels print fewer columns;
// the missing ones read 0.
struct CpuTimes {
  core::CpuId cpu{};
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0;
  std::uint64_t irq = 0, softirq = 0, steal = 0, guest = 0, guest_nice = 0;
};

struct ProcStat {
  CpuTimes total;                     // the aggregate "cpu" line (cpu field unused)
  std::vector<CpuTimes> cpus;         // "cpuN" lines, in file order (online CPUs only)
  std::uint64_t intr_total = 0;       // first number of "intr"
  std::vector<std::uint64_t> intr_per_irq;  // the rest of "intr": index = IRQ number
  std::uint64_t softirq_total = 0;    // first number of "softirq"
  std::vector<std::uint64_t> softirq_per_vector;  // HI, TIMER, NET_TX, ... in kernel order
  std::uint64_t boot_time_s = 0;      // "btime"
};

core::Result<ProcStat> parse_proc_stat(std::string_view text, std::string_view source = "/proc/stat");
core::Result<ProcStat> read_proc_stat(const SysRoot& root);

struct SoftirqRow {
  std::string vector;                 // "NET_RX"
  std::vector<std::uint64_t> counts;  // per ProcSoftirqs::cpus
};

struct ProcSoftirqs {
  std::vector<core::CpuId> cpus;
  std::vector<SoftirqRow> rows;
};

core::Result<ProcSoftirqs> parse_proc_softirqs(std::string_view text,
                                               std::string_view source = "/proc/softirqs");
core::Result<ProcSoftirqs> read_proc_softirqs(const SysRoot& root);

}  // namespace irqbpfd::sys
