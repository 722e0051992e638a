// PCI devices from /sys/bus/pci/devices/D: class, NUMA node, local CPUs, the
// IRQs the device owns (msi_irqs/ and the legacy irq), driver and network
// interfaces, so each IRQ can be mapped to its device.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::sys {

struct PciDevice {
  std::string address;                 // "0000:00:04.0"
  std::uint32_t class_code = 0;        // 0x020000
  std::uint16_t vendor = 0, device = 0;
  int numa_node = -1;                  // -1 when the file says so or is absent
  std::optional<core::CpuSet> local_cpus;  // local_cpulist (or local_cpus mask)
  std::vector<core::IrqNumber> msi_irqs;   // sorted
  std::optional<core::IrqNumber> legacy_irq;  // "irq" when non-zero
  std::string driver;                  // basename of the driver link, "" when unbound
  std::vector<std::string> net_interfaces;  // net/ entries ("eth0")
  std::optional<std::int64_t> link_speed_mbps;  // max speed over its interfaces, when known
};

// All devices, sorted by address. A device whose class cannot be parsed is an
// error naming the file; a missing optional file is not.
core::Result<std::vector<PciDevice>> read_pci_devices(const SysRoot& root);

// IRQ -> index into `devices`. An IRQ claimed by MSI wins over a legacy line;
// the first device by address wins among equals.
std::map<core::IrqNumber, std::size_t> map_irqs_to_devices(const std::vector<PciDevice>& devices);

}  // namespace irqbpfd::sys
