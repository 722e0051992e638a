// Per-IRQ kernel files: /proc/irq/N/* (affinities, hint, node, whether
// smp_affinity is writable), /proc/irq/default_smp_affinity, and
// /sys/kernel/irq/N/* where the kernel has it.
#pragma once

#include <optional>
#include <string>

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::sys {

struct ProcIrqFiles {
  core::CpuSet smp_affinity;                       // required
  std::optional<core::CpuSet> smp_affinity_list;   // same set, from the list file, when present
  std::optional<core::CpuSet> effective_affinity;  // absent on kernels/chips without it
  std::optional<core::CpuSet> affinity_hint;       // nullopt when absent or all-zero
  std::optional<int> node;                         // /proc/irq/N/node
  bool affinity_writable = true;                   // smp_affinity has an owner-write bit
  // From debugfs (/sys/kernel/debug/irq/irqs/N) when mounted: the
  // IRQD_AFFINITY_MANAGED flag. nullopt when debugfs is not there.
  std::optional<bool> debugfs_managed;
};

// Errors carry errno; ENOENT means the IRQ vanished (callers drop it).
core::Result<ProcIrqFiles> read_proc_irq(const SysRoot& root, core::IrqNumber irq);
core::Result<core::CpuSet> read_default_smp_affinity(const SysRoot& root);

// Only the two masks a running balancer re-checks (someone else may write
// them): smp_affinity and effective_affinity (or its _list form), read as
// read_proc_irq() reads them. Two or three files instead of seven, for the
// daemon's periodic refresh of 2000 IRQs.
struct IrqAffinity {
  core::CpuSet smp_affinity;
  std::optional<core::CpuSet> effective_affinity;
};
core::Result<IrqAffinity> read_irq_affinity(const SysRoot& root, core::IrqNumber irq);

// /sys/kernel/irq/N (Linux >= 4.17 with SPARSE_IRQ).
struct SysKernelIrq {
  std::string actions;    // "virtio3-rx"
  std::string chip_name;  // "PCI-MSIX-0000:00:04.0"
  std::string hwirq;
  std::string name;       // flow handler: "edge"
  std::string type;       // "edge" / "level"
  std::string wakeup;     // "disabled"
};

// nullopt when the directory does not exist.
core::Result<std::optional<SysKernelIrq>> read_sys_kernel_irq(const SysRoot& root, core::IrqNumber irq);

}  // namespace irqbpfd::sys
