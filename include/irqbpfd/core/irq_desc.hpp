// IrqDesc: what is known about one IRQ apart from its counts: its name and
// chip from /proc/interrupts, its PCI device, class and balance level, NUMA
// node and affinities. Plus the irqbalance-compatible classification.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/types.hpp"

namespace irqbpfd::core {

// irqbalance's eight IRQ classes, in its order.
enum class IrqClass : std::uint8_t {
  kOther,
  kLegacy,
  kStorage,
  kVideo,
  kEthernet,
  kGbitEthernet,
  k10GbitEthernet,
  kVirtEvent,
};

// The topology level an IRQ may be balanced at: none (leave it), across
// packages, across cache domains, or down to single cores.
enum class BalanceLevel : std::uint8_t { kNone, kPackage, kCache, kCore };

std::string_view to_string(IrqClass irq_class);    // "other", "10gbit-ethernet", ...
std::string_view to_string(BalanceLevel level);    // "none", "package", "cache", "core"
std::optional<IrqClass> parse_irq_class(std::string_view text);
std::optional<BalanceLevel> parse_balance_level(std::string_view text);

// irqbalance's map from the PCI class code (the 24-bit value of
// /sys/bus/pci/devices/D/class, e.g. 0x020000 ethernet) to an IRQ class:
// major class 0x01/0x0e storage, 0x02/0x0d network, 0x03 video, 0x06/0x09/
// 0x12/0x13 legacy, serial-bus (0x0c) by subclass (0x04 fibre channel and
// 0x06 InfiniBand count as storage). Codes irqbalance does not know
// (e.g. 0xffff00, virtio's "unassigned") give nullopt.
std::optional<IrqClass> class_from_pci(std::uint32_t pci_class_code);

// Ethernet refined by link speed (from /sys/class/net/IF/speed, in Mb/s):
// >= 10000 is 10gbit-ethernet, >= 1000 gbit-ethernet.
IrqClass refine_ethernet(IrqClass irq_class, std::optional<std::int64_t> link_speed_mbps);

// irqbalance's map_class_to_level: other -> package, legacy -> cache,
// everything else -> core.
BalanceLevel default_level(IrqClass irq_class);

struct IrqDesc {
  IrqNumber irq{};
  std::string name;                  // actions joined as printed: "ahci[0000:00:17.0], uhci_hcd:usb5"
  std::vector<std::string> actions;  // each action name
  std::string chip;                  // "IR-PCI-MSI", "PCI-MSIX-0000:00:04.0", "GICv3"
  std::string hwirq;                 // "524288", "1"
  std::string trigger;               // "edge", "fasteoi", "Level" (what follows the hwirq)

  std::optional<std::string> device;  // PCI address "0000:00:04.0", when one owns it
  std::string driver;                 // "virtio-pci", "mlx5_core"; "" when unknown
  std::optional<std::uint32_t> pci_class_code;
  IrqClass irq_class = IrqClass::kOther;
  BalanceLevel level = BalanceLevel::kPackage;
  int node = -1;  // NUMA node: the device's, else /proc/irq/N/node, -1 unknown

  std::optional<CpuSet> smp_affinity;        // /proc/irq/N/smp_affinity
  std::optional<CpuSet> effective_affinity;  // /proc/irq/N/effective_affinity, where it exists
  std::optional<CpuSet> affinity_hint;       // /proc/irq/N/affinity_hint, when not empty
  std::optional<CpuSet> local_cpus;          // the device's local_cpulist
  // Kernel-managed (or otherwise not settable from user space): true when
  // the kernel says so (debugfs flags) or smp_affinity is read-only (mode
  // 0444); false when writable; nullopt when /proc/irq/N is missing.
  std::optional<bool> managed;
};

}  // namespace irqbpfd::core
