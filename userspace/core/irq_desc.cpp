// IRQ classes and balance levels: names, and irqbalance's PCI class mapping.
#include "irqbpfd/core/irq_desc.hpp"

#include <array>

namespace irqbpfd::core {
namespace {

constexpr std::array<std::string_view, 8> kClassNames = {
    "other", "legacy", "storage", "video", "ethernet", "gbit-ethernet", "10gbit-ethernet", "virt-event"};
constexpr std::array<std::string_view, 4> kLevelNames = {"none", "package", "cache", "core"};

}  // namespace

std::string_view to_string(IrqClass irq_class) { return kClassNames.at(static_cast<std::size_t>(irq_class)); }
std::string_view to_string(BalanceLevel level) { return kLevelNames.at(static_cast<std::size_t>(level)); }

std::optional<IrqClass> parse_irq_class(std::string_view text) {
  for (std::size_t i = 0; i < kClassNames.size(); ++i) {
    if (kClassNames[i] == text) return static_cast<IrqClass>(i);
  }
  return std::nullopt;
}

std::optional<BalanceLevel> parse_balance_level(std::string_view text) {
  for (std::size_t i = 0; i < kLevelNames.size(); ++i) {
    if (kLevelNames[i] == text) return static_cast<BalanceLevel>(i);
  }
  return std::nullopt;
}

std::optional<IrqClass> class_from_pci(std::uint32_t pci_class_code) {
  const std::uint32_t major = (pci_class_code >> 16) & 0xff;
  const std::uint32_t sub = (pci_class_code >> 8) & 0xff;
  using C = IrqClass;
  if (major == 0x0c) {  // serial bus controllers, by subclass
    switch (sub) {
      case 0x04:  // fibre channel
      case 0x06:  // InfiniBand
        return C::kStorage;
      case 0x00: case 0x01: case 0x02: case 0x03: case 0x05:
      case 0x07: case 0x08: case 0x09: case 0x80:
        return C::kLegacy;
      default:
        return std::nullopt;
    }
  }
  switch (major) {
    case 0x00: return C::kOther;
    case 0x01: return C::kStorage;
    case 0x02: return C::kEthernet;
    case 0x03: return C::kVideo;
    case 0x04: case 0x05: return C::kOther;
    case 0x06: return C::kLegacy;
    case 0x07: case 0x08: return C::kOther;
    case 0x09: return C::kLegacy;
    case 0x0a: case 0x0b: return C::kOther;
    case 0x0d: return C::kEthernet;  // wireless
    case 0x0e: return C::kStorage;   // intelligent I/O
    case 0x0f: case 0x10: case 0x11: return C::kOther;
    case 0x12: case 0x13: return C::kLegacy;
    default: return std::nullopt;
  }
}

IrqClass refine_ethernet(IrqClass irq_class, std::optional<std::int64_t> link_speed_mbps) {
  if (irq_class != IrqClass::kEthernet || !link_speed_mbps) return irq_class;
  if (*link_speed_mbps >= 10000) return IrqClass::k10GbitEthernet;
  if (*link_speed_mbps >= 1000) return IrqClass::kGbitEthernet;
  return irq_class;
}

BalanceLevel default_level(IrqClass irq_class) {
  switch (irq_class) {
    case IrqClass::kOther: return BalanceLevel::kPackage;
    case IrqClass::kLegacy: return BalanceLevel::kCache;
    default: return BalanceLevel::kCore;
  }
}

}  // namespace irqbpfd::core
