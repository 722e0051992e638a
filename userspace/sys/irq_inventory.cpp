// The IRQ inventory: joins each numbered /proc/interrupts row with its
// /proc/irq/N files and owning PCI device, and classifies it the way
// irqbalance does (class, balance level, NUMA node, managed or not).
#include "irqbpfd/sys/irq_inventory.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "irqbpfd/sys/irq_files.hpp"
#include "irqbpfd/sys/pci.hpp"

namespace irqbpfd::sys {
namespace {

// Per-device MSI domains (Linux 6.2+) name the device in the chip:
//   "PCI-MSIX-0000:00:04.0", "PCI-MSI-0000:81:00.0"
// Used only when no msi_irqs/ entry claims the IRQ.
std::optional<std::size_t> device_from_chip(std::string_view chip, const std::vector<PciDevice>& devices) {
  if (chip.rfind("PCI-MSI", 0) != 0) return std::nullopt;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const std::string& address = devices[i].address;
    if (chip.size() > address.size() && chip.substr(chip.size() - address.size()) == address &&
        chip[chip.size() - address.size() - 1] == '-') {
      return i;
    }
  }
  return std::nullopt;
}

bool is_xen_event_chip(std::string_view chip) { return chip == "xen-dyn-event" || chip == "xen-percpu"; }

}  // namespace

core::Result<IrqInventory> read_irq_inventory(const SysRoot& root, const ProcInterrupts& interrupts) {
  auto devices = read_pci_devices(root);
  if (!devices) return devices.error();
  const std::map<core::IrqNumber, std::size_t> owners = map_irqs_to_devices(*devices);

  IrqInventory inventory;
  for (const InterruptRow& row : interrupts.rows) {
    if (!row.irq) continue;  // NMI, LOC, ...: not balanceable
    const core::IrqNumber irq = *row.irq;

    auto files = read_proc_irq(root, irq);
    if (!files) {
      // Freed between reading /proc/interrupts and now (driver unbound,
      // device unplugged): dropped, not an error.
      if (files.error().errno_value == ENOENT && !root.exists(fmt::format("/proc/irq/{}", core::raw(irq)))) {
        inventory.vanished.push_back(irq);
        continue;
      }
      return files.error();
    }

    core::IrqDesc desc;
    desc.irq = irq;
    desc.name = row.name;
    desc.actions = row.actions;
    desc.chip = row.chip;
    desc.hwirq = row.hwirq;
    desc.trigger = row.trigger;

    std::optional<std::size_t> owner;
    if (const auto it = owners.find(irq); it != owners.end()) {
      owner = it->second;
    } else {
      owner = device_from_chip(row.chip, *devices);
    }

    if (owner) {
      const PciDevice& device = (*devices)[*owner];
      desc.device = device.address;
      desc.driver = device.driver;
      desc.pci_class_code = device.class_code;
      desc.local_cpus = device.local_cpus;
      const std::optional<core::IrqClass> known = core::class_from_pci(device.class_code);
      desc.irq_class = known ? core::refine_ethernet(*known, device.link_speed_mbps) : core::IrqClass::kOther;
      if (device.numa_node >= 0) desc.node = device.numa_node;
    } else {
      desc.irq_class = is_xen_event_chip(row.chip) ? core::IrqClass::kVirtEvent : core::IrqClass::kLegacy;
    }
    desc.level = core::default_level(desc.irq_class);
    if (desc.node < 0 && files->node) desc.node = *files->node;

    desc.smp_affinity = files->smp_affinity;
    desc.effective_affinity = files->effective_affinity;
    desc.affinity_hint = files->affinity_hint;
    desc.managed = files->debugfs_managed ? *files->debugfs_managed : !files->affinity_writable;

    inventory.irqs.push_back(std::move(desc));
  }

  std::sort(inventory.irqs.begin(), inventory.irqs.end(),
            [](const core::IrqDesc& a, const core::IrqDesc& b) { return a.irq < b.irq; });
  std::sort(inventory.vanished.begin(), inventory.vanished.end());
  return inventory;
}

}  // namespace irqbpfd::sys
