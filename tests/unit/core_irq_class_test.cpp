// IRQ classes: irqbalance's PCI class table and class-to-level map.
#include <gtest/gtest.h>

#include "irqbpfd/core/irq_desc.hpp"

namespace irqbpfd::core {
namespace {

TEST(IrqClass, MapsPciClassCodesLikeIrqbalance) {
  EXPECT_EQ(class_from_pci(0x020000), IrqClass::kEthernet);  // ethernet controller
  EXPECT_EQ(class_from_pci(0x028000), IrqClass::kEthernet);  // other network
  EXPECT_EQ(class_from_pci(0x010802), IrqClass::kStorage);   // NVMe
  EXPECT_EQ(class_from_pci(0x010601), IrqClass::kStorage);   // AHCI
  EXPECT_EQ(class_from_pci(0x030000), IrqClass::kVideo);
  EXPECT_EQ(class_from_pci(0x060400), IrqClass::kLegacy);    // PCI bridge
  EXPECT_EQ(class_from_pci(0x0c0330), IrqClass::kLegacy);    // xHCI (serial bus, USB)
  EXPECT_EQ(class_from_pci(0x0c0400), IrqClass::kStorage);   // fibre channel
  EXPECT_EQ(class_from_pci(0x0c0600), IrqClass::kStorage);   // InfiniBand
  EXPECT_EQ(class_from_pci(0x0d8000), IrqClass::kEthernet);  // wireless
  EXPECT_EQ(class_from_pci(0x040300), IrqClass::kOther);     // audio
  EXPECT_FALSE(class_from_pci(0xffff00).has_value());        // virtio "unassigned"
  EXPECT_FALSE(class_from_pci(0x0c2000).has_value());        // serial subclass irqbalance leaves undefined
}

TEST(IrqClass, LevelsFollowIrqbalance) {
  EXPECT_EQ(default_level(IrqClass::kOther), BalanceLevel::kPackage);
  EXPECT_EQ(default_level(IrqClass::kLegacy), BalanceLevel::kCache);
  for (IrqClass c : {IrqClass::kStorage, IrqClass::kVideo, IrqClass::kEthernet, IrqClass::kGbitEthernet,
                     IrqClass::k10GbitEthernet, IrqClass::kVirtEvent}) {
    EXPECT_EQ(default_level(c), BalanceLevel::kCore) << to_string(c);
  }
}

TEST(IrqClass, EthernetRefinedByLinkSpeed) {
  EXPECT_EQ(refine_ethernet(IrqClass::kEthernet, 25000), IrqClass::k10GbitEthernet);
  EXPECT_EQ(refine_ethernet(IrqClass::kEthernet, 1000), IrqClass::kGbitEthernet);
  EXPECT_EQ(refine_ethernet(IrqClass::kEthernet, 100), IrqClass::kEthernet);
  EXPECT_EQ(refine_ethernet(IrqClass::kEthernet, std::nullopt), IrqClass::kEthernet);
  EXPECT_EQ(refine_ethernet(IrqClass::kStorage, 100000), IrqClass::kStorage);
}

TEST(IrqClass, NamesRoundTrip) {
  for (int i = 0; i < 8; ++i) {
    const auto c = static_cast<IrqClass>(i);
    EXPECT_EQ(parse_irq_class(to_string(c)), c);
  }
  EXPECT_EQ(to_string(IrqClass::k10GbitEthernet), "10gbit-ethernet");
  EXPECT_EQ(parse_balance_level("cache"), BalanceLevel::kCache);
  EXPECT_FALSE(parse_balance_level("socket").has_value());
  EXPECT_FALSE(parse_irq_class("nic").has_value());
}

}  // namespace
}  // namespace irqbpfd::core
