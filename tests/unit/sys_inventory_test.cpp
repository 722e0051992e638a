// Tests of the IRQ inventory join: rows + /proc/irq files + PCI devices,
// classification and levels, node choice, managed flag, vanished IRQs; on a
// root built in code and on the vm2 capture of the dev VM.
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_root.hpp"
#include "irqbpfd/sys/irq_inventory.hpp"

namespace irqbpfd::sys {
namespace {

using core::BalanceLevel;
using core::CpuSet;
using core::IrqClass;
using core::IrqDesc;
using core::irq_number;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const IrqDesc* find(const IrqInventory& inventory, std::uint32_t irq) {
  for (const IrqDesc& d : inventory.irqs) {
    if (d.irq == irq_number(irq)) return &d;
  }
  return nullptr;
}

void write_irq(const testing::FakeRoot& root, int irq, std::string_view node = "-1", unsigned mode = 0644) {
  const std::string dir = "/proc/irq/" + std::to_string(irq);
  root.write(dir + "/smp_affinity", "f\n", mode);
  root.write(dir + "/effective_affinity", "2\n", 0444);
  root.write(dir + "/affinity_hint", "0\n", 0444);
  root.write(dir + "/node", std::string(node) + "\n", 0444);
}

void write_pci(const testing::FakeRoot& root, const std::string& address, std::string_view class_code, int node,
               std::vector<int> msi, int legacy, std::string_view driver) {
  const std::string dir = "/sys/bus/pci/devices/" + address;
  root.write(dir + "/class", std::string(class_code) + "\n");
  root.write(dir + "/numa_node", std::to_string(node) + "\n");
  root.write(dir + "/local_cpulist", node == 1 ? "2-3\n" : "0-1\n");
  root.write(dir + "/irq", std::to_string(legacy) + "\n");
  for (const int irq : msi) root.write(dir + "/msi_irqs/" + std::to_string(irq), "msix\n");
  if (!driver.empty()) root.symlink("../../../bus/pci/drivers/" + std::string(driver), dir + "/driver");
}

// Rows deliberately out of IRQ order; 77 is listed but has no /proc/irq/77.
constexpr std::string_view kTable =
    "            CPU0       CPU1       CPU2       CPU3\n"
    "  60:       100          0          0          0  IR-PCI-MSI 1-edge      nvme0q1\n"
    "   9:         1          0          0          0   IO-APIC   9-fasteoi   acpi\n"
    "  50:         7          0          0          0  IR-PCI-MSI 2-edge      eth0-rx-0\n"
    "  51:         7          0          0          0  IR-PCI-MSI 3-edge      virtio0-req.0\n"
    "  77:         0          0          0          0  IR-PCI-MSI 4-edge      gone\n"
    "  80:         3          0          0          0  xen-dyn-event 5-edge   evtchn:xenbus\n"
    "  16:         2          0          0          0   IO-APIC  16-fasteoi   uhci_hcd:usb5, ahci[0000:00:1f.2]\n"
    "NMI:          0          0          0          0   Non-maskable interrupts\n";

class InventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_pci(root_, "0000:01:00.0", "0x010802", 1, {60}, 0, "nvme");         // NVMe: storage
    write_pci(root_, "0000:81:00.0", "0x020000", 0, {50}, 0, "ixgbe");        // ethernet, 10G link
    root_.write("/sys/class/net/eth0/speed", "10000\n");
    root_.write("/sys/bus/pci/devices/0000:81:00.0/net/eth0/speed", "10000\n");
    write_pci(root_, "0000:00:04.0", "0xffff00", -1, {51}, 0, "virtio-pci");  // unknown to irqbalance
    write_pci(root_, "0000:00:1f.2", "0x010601", -1, {}, 16, "ahci");         // legacy INTx 16
    write_irq(root_, 60, "1");
    write_irq(root_, 9, "0");
    write_irq(root_, 50, "0");
    write_irq(root_, 51, "0", 0444);  // managed: read-only smp_affinity
    write_irq(root_, 80);
    write_irq(root_, 16);
  }

  IrqInventory inventory() {
    auto parsed = parse_proc_interrupts(kTable);
    EXPECT_TRUE(parsed.has_value()) << parsed.error().message;
    auto inv = read_irq_inventory(SysRoot(root_.path()), *parsed);
    EXPECT_TRUE(inv.has_value()) << (inv ? "" : inv.error().message);
    return inv ? *inv : IrqInventory{};
  }

  testing::FakeRoot root_;
};

TEST_F(InventoryTest, SortedByIrqWithVanishedSetApart) {
  const IrqInventory inv = inventory();
  std::vector<std::uint32_t> numbers;
  for (const IrqDesc& d : inv.irqs) numbers.push_back(core::raw(d.irq));
  EXPECT_THAT(numbers, ElementsAre(9U, 16U, 50U, 51U, 60U, 80U));
  EXPECT_THAT(inv.vanished, ElementsAre(irq_number(77)));
}

TEST_F(InventoryTest, PciOwnedIrqsTakeTheDevicesFacts) {
  const IrqInventory inv = inventory();
  const IrqDesc* nvme = find(inv, 60);
  ASSERT_NE(nvme, nullptr);
  EXPECT_EQ(nvme->name, "nvme0q1");
  EXPECT_THAT(nvme->actions, ElementsAre("nvme0q1"));
  EXPECT_EQ(nvme->chip, "IR-PCI-MSI");
  EXPECT_EQ(nvme->hwirq, "1");
  EXPECT_EQ(nvme->trigger, "edge");
  EXPECT_EQ(nvme->device, "0000:01:00.0");
  EXPECT_EQ(nvme->driver, "nvme");
  EXPECT_EQ(nvme->pci_class_code, 0x010802U);
  EXPECT_EQ(nvme->irq_class, IrqClass::kStorage);
  EXPECT_EQ(nvme->level, BalanceLevel::kCore);
  EXPECT_EQ(nvme->node, 1);
  EXPECT_EQ(nvme->local_cpus, (CpuSet{2, 3}));
  EXPECT_EQ(nvme->smp_affinity, (CpuSet{0, 1, 2, 3}));
  EXPECT_EQ(nvme->effective_affinity, (CpuSet{1}));
  EXPECT_FALSE(nvme->affinity_hint.has_value());
  EXPECT_EQ(nvme->managed, false);

  const IrqDesc* eth = find(inv, 50);
  ASSERT_NE(eth, nullptr);
  EXPECT_EQ(eth->irq_class, IrqClass::k10GbitEthernet);
  EXPECT_EQ(eth->level, BalanceLevel::kCore);
  EXPECT_EQ(eth->node, 0);
}

TEST_F(InventoryTest, UnknownPciClassIsOtherAtPackageLevel) {
  const IrqInventory inv = inventory();
  const IrqDesc* virtio = find(inv, 51);
  ASSERT_NE(virtio, nullptr);
  EXPECT_EQ(virtio->pci_class_code, 0xffff00U);
  EXPECT_EQ(virtio->irq_class, IrqClass::kOther);
  EXPECT_EQ(virtio->level, BalanceLevel::kPackage);
  EXPECT_EQ(virtio->node, 0);  // device says -1: /proc/irq/51/node
  EXPECT_EQ(virtio->managed, true);  // smp_affinity is 0444
}

TEST_F(InventoryTest, DevicelessIrqsAreLegacyExceptXenEvents) {
  const IrqInventory inv = inventory();
  const IrqDesc* acpi = find(inv, 9);
  ASSERT_NE(acpi, nullptr);
  EXPECT_FALSE(acpi->device.has_value());
  EXPECT_EQ(acpi->driver, "");
  EXPECT_FALSE(acpi->pci_class_code.has_value());
  EXPECT_EQ(acpi->irq_class, IrqClass::kLegacy);
  EXPECT_EQ(acpi->level, BalanceLevel::kCache);
  EXPECT_EQ(acpi->node, 0);

  const IrqDesc* xen = find(inv, 80);
  ASSERT_NE(xen, nullptr);
  EXPECT_EQ(xen->irq_class, IrqClass::kVirtEvent);
  EXPECT_EQ(xen->node, -1);
}

TEST_F(InventoryTest, LegacyLineMapsToItsDevice) {
  const IrqInventory inv = inventory();
  const IrqDesc* shared = find(inv, 16);
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared->device, "0000:00:1f.2");
  EXPECT_EQ(shared->driver, "ahci");
  EXPECT_EQ(shared->irq_class, IrqClass::kStorage);
  EXPECT_THAT(shared->actions, ElementsAre("uhci_hcd:usb5", "ahci[0000:00:1f.2]"));
}

TEST_F(InventoryTest, DebugfsOverridesTheFileMode) {
  // debugfs knows better than the mode in both directions.
  root_.write("/sys/kernel/debug/irq/irqs/60", "ddstate:  0x10403200\n          IRQD_AFFINITY_MANAGED\n");
  root_.write("/sys/kernel/debug/irq/irqs/51", "ddstate:  0x00401200\n          IRQD_IRQ_STARTED\n");
  const IrqInventory inv = inventory();
  EXPECT_EQ(find(inv, 60)->managed, true);
  EXPECT_EQ(find(inv, 51)->managed, false);
}

TEST_F(InventoryTest, ReadErrorsOtherThanVanishingAreErrors) {
  root_.write("/proc/irq/50/smp_affinity", "not-a-mask\n");
  auto parsed = parse_proc_interrupts(kTable);
  ASSERT_TRUE(parsed.has_value());
  auto inv = read_irq_inventory(SysRoot(root_.path()), *parsed);
  ASSERT_FALSE(inv.has_value());
  EXPECT_THAT(inv.error().message, HasSubstr("/proc/irq/50/smp_affinity: bad CPU mask"));
}

TEST(Inventory, NoPciNoProblem) {
  testing::FakeRoot root;
  write_irq(root, 1);
  auto parsed = parse_proc_interrupts("  CPU0\n  1:  9  IO-APIC   1-edge      i8042\n");
  ASSERT_TRUE(parsed.has_value());
  auto inv = read_irq_inventory(SysRoot(root.path()), *parsed);
  ASSERT_TRUE(inv.has_value()) << inv.error().message;
  ASSERT_EQ(inv->irqs.size(), 1U);
  EXPECT_EQ(inv->irqs[0].irq_class, IrqClass::kLegacy);
  EXPECT_THAT(inv->vanished, IsEmpty());
}

// --- the vm2 capture of the dev VM (Linux 6.18, 2 CPUs, virtio-pci)

class Vm2InventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.copy_fixture("vm2");  // vm2.modes restores the 0444 of the managed IRQ 36
    auto parsed = read_proc_interrupts(SysRoot(root_.path()));
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    auto inv = read_irq_inventory(SysRoot(root_.path()), *parsed);
    ASSERT_TRUE(inv.has_value()) << inv.error().message;
    inventory_ = std::move(*inv);
  }

  testing::FakeRoot root_;
  IrqInventory inventory_;
};

TEST_F(Vm2InventoryTest, EveryNumberedRowIsPresent) {
  EXPECT_EQ(inventory_.irqs.size(), 19U);
  EXPECT_THAT(inventory_.vanished, IsEmpty());
}

TEST_F(Vm2InventoryTest, VirtioRxQueueBelongsToItsDevice) {
  const IrqDesc* rx = find(inventory_, 41);
  ASSERT_NE(rx, nullptr);
  EXPECT_EQ(rx->name, "virtio3-rx");
  EXPECT_EQ(rx->chip, "PCI-MSIX-0000:00:04.0");
  EXPECT_EQ(rx->hwirq, "1");
  EXPECT_EQ(rx->trigger, "edge");
  EXPECT_EQ(rx->device, "0000:00:04.0");
  EXPECT_EQ(rx->driver, "virtio-pci");
  EXPECT_EQ(rx->pci_class_code, 0xffff00U);
  EXPECT_EQ(rx->irq_class, IrqClass::kOther);  // virtio's 0xffff00 is unknown to irqbalance
  EXPECT_EQ(rx->level, BalanceLevel::kPackage);
  EXPECT_EQ(rx->local_cpus, (CpuSet{0, 1}));
  EXPECT_EQ(rx->smp_affinity, (CpuSet{0, 1}));
  EXPECT_EQ(rx->managed, false);
  EXPECT_EQ(rx->node, -1);
}

TEST_F(Vm2InventoryTest, VirtioNetIsEthernetAtCoreLevel) {
  for (const std::uint32_t irq : {37U, 38U, 39U}) {
    const IrqDesc* d = find(inventory_, irq);
    ASSERT_NE(d, nullptr) << irq;
    EXPECT_EQ(d->device, "0000:00:03.0");
    EXPECT_EQ(d->pci_class_code, 0x020000U);
    EXPECT_EQ(d->irq_class, IrqClass::kEthernet);  // speed -1: not refined
    EXPECT_EQ(d->level, BalanceLevel::kCore);
  }
  EXPECT_EQ(find(inventory_, 38)->name, "virtio2-input.0");
}

TEST_F(Vm2InventoryTest, OtherVirtioDevicesAreOther) {
  for (const std::uint32_t irq : {28U, 32U, 33U, 34U, 40U, 43U}) {
    const IrqDesc* d = find(inventory_, irq);
    ASSERT_NE(d, nullptr) << irq;
    EXPECT_EQ(d->pci_class_code, 0xffff00U) << irq;
    EXPECT_EQ(d->irq_class, IrqClass::kOther) << irq;
  }
  const IrqDesc* blk = find(inventory_, 36);  // virtio-blk: class 0x018000, storage
  ASSERT_NE(blk, nullptr);
  EXPECT_EQ(blk->device, "0000:00:02.0");
  EXPECT_EQ(blk->irq_class, IrqClass::kStorage);
}

TEST_F(Vm2InventoryTest, ManagedQueueIsReadOnly) {
  const IrqDesc* req = find(inventory_, 36);
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->name, "virtio1-req.0");
  EXPECT_EQ(req->managed, true);
  EXPECT_EQ(req->node, 0);  // the device says -1, /proc/irq/36/node says 0
  EXPECT_EQ(req->effective_affinity, (CpuSet{1}));
}

TEST_F(Vm2InventoryTest, IoApicLinesAreLegacy) {
  const IrqDesc* serial = find(inventory_, 26);
  ASSERT_NE(serial, nullptr);
  EXPECT_EQ(serial->name, "ttyS0");
  EXPECT_EQ(serial->chip, "IO-APIC");
  EXPECT_FALSE(serial->device.has_value());
  EXPECT_EQ(serial->irq_class, IrqClass::kLegacy);
  EXPECT_EQ(serial->level, BalanceLevel::kCache);
}

}  // namespace
}  // namespace irqbpfd::sys
