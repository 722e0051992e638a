// The join: every numbered row of /proc/interrupts with its /proc/irq files,
// its PCI device (class, node, local CPUs, driver) and its class and level.
#pragma once

#include <vector>

#include "irqbpfd/core/irq_desc.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/sys/proc_interrupts.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::sys {

struct IrqInventory {
  std::vector<core::IrqDesc> irqs;             // sorted by IRQ number
  std::vector<core::IrqNumber> vanished;       // listed but /proc/irq/N gone: dropped
};

// Classification: a PCI-owned IRQ gets class_from_pci() (refined by link
// speed for ethernet) and default_level(); a PCI class irqbalance does not
// know gives "other". An IRQ with no device is "legacy", except Xen event
// channels ("xen-dyn-event"/"xen-percpu" chips), which are "virt-event".
// Node: the device's numa_node when >= 0, else /proc/irq/N/node, else -1.
core::Result<IrqInventory> read_irq_inventory(const SysRoot& root, const ProcInterrupts& interrupts);

}  // namespace irqbpfd::sys
