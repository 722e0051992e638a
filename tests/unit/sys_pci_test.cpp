// Tests of the PCI device reader (class, ids, node, local CPUs, MSI and
// legacy IRQs, driver, interfaces and link speed) and of the IRQ -> device
// map, against roots built in code and the vm2 capture.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_root.hpp"
#include "irqbpfd/sys/pci.hpp"

namespace irqbpfd::sys {
namespace {

using core::CpuSet;
using core::irq_number;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::string_view kDevices = "/sys/bus/pci/devices/";

void write_device(const testing::FakeRoot& root, const std::string& address, std::string_view class_code) {
  const std::string dir = std::string(kDevices) + address;
  root.write(dir + "/class", std::string(class_code) + "\n");
  root.write(dir + "/vendor", "0x15b3\n");
  root.write(dir + "/device", "0x1017\n");
}

TEST(Pci, ReadsAFullyDescribedNic) {
  testing::FakeRoot root;
  const std::string dir = std::string(kDevices) + "0000:81:00.0";
  write_device(root, "0000:81:00.0", "0x020000");
  root.write(dir + "/numa_node", "1\n");
  root.write(dir + "/local_cpulist", "8-15,24-31\n");
  root.write(dir + "/local_cpus", "00000000,ff00ff00\n");
  root.write(dir + "/irq", "0\n");
  for (const char* irq : {"120", "99", "121"}) root.write(dir + "/msi_irqs/" + irq, "msix\n");
  root.symlink("../../../bus/pci/drivers/mlx5_core", dir + "/driver");
  root.write(dir + "/net/ens1f0/speed", "25000\n");  // no /sys/class/net in this root
  root.write(dir + "/net/ens1f1/speed", "-1\n");
  root.write("/sys/class/net/ens1f1/speed", "100000\n");  // preferred over the device copy

  auto devices = read_pci_devices(SysRoot(root.path()));
  ASSERT_TRUE(devices.has_value()) << devices.error().message;
  ASSERT_EQ(devices->size(), 1U);
  const PciDevice& d = devices->front();
  EXPECT_EQ(d.address, "0000:81:00.0");
  EXPECT_EQ(d.class_code, 0x020000U);
  EXPECT_EQ(d.vendor, 0x15b3);
  EXPECT_EQ(d.device, 0x1017);
  EXPECT_EQ(d.numa_node, 1);
  ASSERT_TRUE(d.local_cpus.has_value());
  EXPECT_EQ(d.local_cpus->to_list(), "8-15,24-31");
  EXPECT_THAT(d.msi_irqs, ElementsAre(irq_number(99), irq_number(120), irq_number(121)));
  EXPECT_FALSE(d.legacy_irq.has_value());  // "0" means none
  EXPECT_EQ(d.driver, "mlx5_core");
  EXPECT_THAT(d.net_interfaces, ElementsAre("ens1f0", "ens1f1"));
  EXPECT_EQ(d.link_speed_mbps, 100000);
}

TEST(Pci, MinimalDeviceAndMaskFallback) {
  testing::FakeRoot root;
  const std::string dir = std::string(kDevices) + "0000:00:1f.2";
  root.write(dir + "/class", "0x010601\n");
  root.write(dir + "/local_cpus", "f\n");
  root.write(dir + "/irq", "19\n");
  auto devices = read_pci_devices(SysRoot(root.path()));
  ASSERT_TRUE(devices.has_value()) << devices.error().message;
  const PciDevice& d = devices->at(0);
  EXPECT_EQ(d.class_code, 0x010601U);
  EXPECT_EQ(d.vendor, 0);
  EXPECT_EQ(d.numa_node, -1);
  EXPECT_EQ(d.local_cpus, (CpuSet{0, 1, 2, 3}));
  EXPECT_THAT(d.msi_irqs, IsEmpty());
  EXPECT_EQ(d.legacy_irq, irq_number(19));
  EXPECT_EQ(d.driver, "");
  EXPECT_THAT(d.net_interfaces, IsEmpty());
  EXPECT_FALSE(d.link_speed_mbps.has_value());
}

TEST(Pci, VirtioNetInterfaceHangsOffTheVirtioChild) {
  testing::FakeRoot root;
  const std::string dir = std::string(kDevices) + "0000:00:03.0";
  write_device(root, "0000:00:03.0", "0x020000");
  root.write(dir + "/virtio2/net/eth0/speed", "-1\n");
  auto devices = read_pci_devices(SysRoot(root.path()));
  ASSERT_TRUE(devices.has_value()) << devices.error().message;
  EXPECT_THAT(devices->at(0).net_interfaces, ElementsAre("eth0"));
  EXPECT_FALSE(devices->at(0).link_speed_mbps.has_value());  // -1: unknown
}

TEST(Pci, SortedByAddressAndNoPciIsEmpty) {
  testing::FakeRoot root;
  write_device(root, "0000:81:00.0", "0x020000");
  write_device(root, "0000:00:1f.2", "0x010601");
  write_device(root, "0000:03:00.0", "0x030000");
  auto devices = read_pci_devices(SysRoot(root.path()));
  ASSERT_TRUE(devices.has_value()) << devices.error().message;
  ASSERT_EQ(devices->size(), 3U);
  EXPECT_EQ(devices->at(0).address, "0000:00:1f.2");
  EXPECT_EQ(devices->at(1).address, "0000:03:00.0");
  EXPECT_EQ(devices->at(2).address, "0000:81:00.0");

  testing::FakeRoot bare;
  auto none = read_pci_devices(SysRoot(bare.path()));
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_THAT(*none, IsEmpty());
}

TEST(PciErrors, UnparsableOrMissingClassNamesTheFile) {
  testing::FakeRoot root;
  write_device(root, "0000:00:02.0", "0xnotahex");
  auto bad = read_pci_devices(SysRoot(root.path()));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "/sys/bus/pci/devices/0000:00:02.0/class: bad class '0xnotahex'");

  testing::FakeRoot no_class;
  no_class.write(std::string(kDevices) + "0000:00:02.0/vendor", "0x8086\n");
  auto missing = read_pci_devices(SysRoot(no_class.path()));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message, "/sys/bus/pci/devices/0000:00:02.0/class: No such file or directory");
}

TEST(PciErrors, BadOptionalValuesNameTheFile) {
  testing::FakeRoot root;
  write_device(root, "0000:00:02.0", "0x020000");
  root.write(std::string(kDevices) + "0000:00:02.0/numa_node", "one\n");
  auto bad = read_pci_devices(SysRoot(root.path()));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "/sys/bus/pci/devices/0000:00:02.0/numa_node: bad numa_node 'one'");

  testing::FakeRoot msi;
  write_device(msi, "0000:00:02.0", "0x020000");
  msi.write(std::string(kDevices) + "0000:00:02.0/msi_irqs/abc", "msi\n");
  auto bad_msi = read_pci_devices(SysRoot(msi.path()));
  ASSERT_FALSE(bad_msi.has_value());
  EXPECT_THAT(bad_msi.error().message, HasSubstr("/sys/bus/pci/devices/0000:00:02.0/msi_irqs: non-numeric entry 'abc'"));
}

PciDevice device(std::string address, std::vector<std::uint32_t> msi, std::optional<std::uint32_t> legacy) {
  PciDevice d;
  d.address = std::move(address);
  for (const std::uint32_t irq : msi) d.msi_irqs.push_back(irq_number(irq));
  if (legacy) d.legacy_irq = irq_number(*legacy);
  return d;
}

TEST(MapIrqsToDevices, MsiWinsOverLegacyAndFirstAddressWinsAmongEquals) {
  // Deliberately not in address order.
  const std::vector<PciDevice> devices = {
      device("0000:05:00.0", {}, 16),         // legacy 16, shared with 00:1f.3
      device("0000:00:1f.3", {}, 16),         // wins legacy 16 by address
      device("0000:03:00.0", {40, 41}, 11),   // MSI 40/41; its legacy 11 ...
      device("0000:02:00.0", {11}, std::nullopt),  // ... loses to this MSI claim
      device("0000:04:00.0", {41}, std::nullopt),  // 41 already MSI-claimed by 03:00.0
  };
  const auto map = map_irqs_to_devices(devices);
  EXPECT_EQ(map.size(), 4U);
  EXPECT_EQ(map.at(irq_number(16)), 1U);
  EXPECT_EQ(map.at(irq_number(40)), 2U);
  EXPECT_EQ(map.at(irq_number(41)), 2U);
  EXPECT_EQ(map.at(irq_number(11)), 3U);
}

TEST(Pci, CapturedVm2Devices) {
  testing::FakeRoot root;
  root.copy_fixture("vm2");
  auto devices = read_pci_devices(SysRoot(root.path()));
  ASSERT_TRUE(devices.has_value()) << devices.error().message;
  ASSERT_EQ(devices->size(), 6U);
  const PciDevice& host_bridge = devices->at(0);
  EXPECT_EQ(host_bridge.address, "0000:00:00.0");
  EXPECT_EQ(host_bridge.class_code, 0x060000U);
  EXPECT_EQ(host_bridge.driver, "");
  EXPECT_THAT(host_bridge.msi_irqs, IsEmpty());
  const PciDevice& net = devices->at(3);
  EXPECT_EQ(net.address, "0000:00:03.0");
  EXPECT_EQ(net.class_code, 0x020000U);
  EXPECT_EQ(net.vendor, 0x1af4);
  EXPECT_EQ(net.device, 0x1041);
  EXPECT_EQ(net.driver, "virtio-pci");
  EXPECT_THAT(net.msi_irqs, ElementsAre(irq_number(37), irq_number(38), irq_number(39)));
  EXPECT_THAT(net.net_interfaces, ElementsAre("eth0"));
  EXPECT_EQ(net.local_cpus, (CpuSet{0, 1}));
  EXPECT_EQ(net.numa_node, -1);

  const auto map = map_irqs_to_devices(*devices);
  EXPECT_EQ(devices->at(map.at(irq_number(41))).address, "0000:00:04.0");
  EXPECT_EQ(devices->at(map.at(irq_number(36))).address, "0000:00:02.0");
  EXPECT_EQ(map.count(irq_number(24)), 0U);
}

}  // namespace
}  // namespace irqbpfd::sys
