// PCI devices from /sys/bus/pci/devices/D (class, ids, NUMA node, local CPUs,
// MSI and legacy IRQs, driver, network interfaces and their link speed) and
// the map from IRQ number to owning device.
#include "irqbpfd/sys/pci.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <numeric>

#include "parse_util.hpp"

namespace irqbpfd::sys {
namespace {

using detail::parse_decimal;
using detail::parse_hex;
using detail::value_of;


// Directory entries, or none when the directory is absent.
core::Result<std::vector<std::string>> list_optional(const SysRoot& root, const std::string& path) {
  auto names = root.list(path);
  if (names) return names;
  if (names.error().errno_value == ENOENT) return std::vector<std::string>();
  return names.error();
}

core::Error bad_value(const std::string& path, std::string_view text, std::string_view what) {
  return core::Error{fmt::format("{}: {} '{}'", path, what, text)};
}

// "/sys/class/net/eth0/speed" reads "10000" (Mb/s), "-1" when the link is
// down or the driver does not say (virtio_net), and fails with EINVAL on
// some drivers while down. Only a positive number counts.
std::optional<std::int64_t> read_speed(const SysRoot& root, const std::string& path) {
  auto text = root.read(path);
  if (!text) return std::nullopt;
  const auto speed = parse_decimal<std::int64_t>(value_of(*text));
  if (!speed || *speed <= 0) return std::nullopt;
  return speed;
}

// Network interfaces live in D/net/IF, or one level down for virtio-pci,
// whose netdev hangs off the virtio bus device: D/virtio2/net/eth0.
core::Result<void> read_net(const SysRoot& root, const std::string& dir, PciDevice& device) {
  std::vector<std::string> net_dirs = {dir + "/net"};
  auto children = list_optional(root, dir);
  if (!children) return children.error();
  for (const std::string& child : *children) {
    if (child.rfind("virtio", 0) == 0) net_dirs.push_back(dir + "/" + child + "/net");
  }
  for (const std::string& net_dir : net_dirs) {
    auto names = list_optional(root, net_dir);
    if (!names) return names.error();
    for (const std::string& name : *names) {
      device.net_interfaces.push_back(name);
      auto speed = read_speed(root, "/sys/class/net/" + name + "/speed");
      if (!speed) speed = read_speed(root, net_dir + "/" + name + "/speed");
      if (speed && (!device.link_speed_mbps || *speed > *device.link_speed_mbps)) device.link_speed_mbps = speed;
    }
  }
  std::sort(device.net_interfaces.begin(), device.net_interfaces.end());
  return {};
}

// One device directory. Returns nullopt when the device disappeared while
// being read (hot-unplug): its class file and its directory are both gone.
core::Result<std::optional<PciDevice>> read_device(const SysRoot& root, const std::string& address) {
  const std::string dir = "/sys/bus/pci/devices/" + address;
  PciDevice device;
  device.address = address;

  // class: "0x020000" (base class, subclass, prog-if).
  const std::string class_path = dir + "/class";
  auto class_text = root.read(class_path);
  if (!class_text) {
    if (class_text.error().errno_value == ENOENT && !root.exists(dir)) return std::optional<PciDevice>();
    return class_text.error();
  }
  const auto class_code = parse_hex<std::uint32_t>(value_of(*class_text));
  if (!class_code) return bad_value(class_path, value_of(*class_text), "bad class");
  device.class_code = *class_code;

  // vendor, device: "0x1af4", "0x1041".
  for (const auto& [file, field] : {std::pair{"vendor", &device.vendor}, std::pair{"device", &device.device}}) {
    const std::string path = dir + "/" + file;
    auto text = root.read_if_exists(path);
    if (!text) return text.error();
    if (!*text) continue;
    const auto value = parse_hex<std::uint16_t>(value_of(**text));
    if (!value) return bad_value(path, value_of(**text), fmt::format("bad {} id", file));
    *field = *value;
  }

  // numa_node: "-1" on non-NUMA machines and in most VMs.
  const std::string node_path = dir + "/numa_node";
  auto node_text = root.read_if_exists(node_path);
  if (!node_text) return node_text.error();
  if (*node_text) {
    const auto node = parse_decimal<int>(value_of(**node_text));
    if (!node) return bad_value(node_path, value_of(**node_text), "bad numa_node");
    device.numa_node = *node;
  }

  // local_cpulist "0-1", or the mask form local_cpus "3".
  const std::string list_path = dir + "/local_cpulist";
  auto list_text = root.read_if_exists(list_path);
  if (!list_text) return list_text.error();
  if (*list_text) {
    auto set = core::CpuSet::parse_list(**list_text);
    if (!set) return set.error().with_context(list_path);
    device.local_cpus = std::move(*set);
  } else {
    const std::string mask_path = dir + "/local_cpus";
    auto mask_text = root.read_if_exists(mask_path);
    if (!mask_text) return mask_text.error();
    if (*mask_text) {
      auto set = core::CpuSet::parse_mask(**mask_text);
      if (!set) return set.error().with_context(mask_path);
      device.local_cpus = std::move(*set);
    }
  }

  // msi_irqs/: one entry per vector, named by IRQ number ("40", "41", ...),
  // each holding "msi" or "msix".
  const std::string msi_path = dir + "/msi_irqs";
  auto msi = list_optional(root, msi_path);
  if (!msi) return msi.error();
  for (const std::string& name : *msi) {
    const auto irq = parse_decimal<std::uint32_t>(name);
    if (!irq) return bad_value(msi_path, name, "non-numeric entry");
    device.msi_irqs.push_back(core::irq_number(*irq));
  }
  std::sort(device.msi_irqs.begin(), device.msi_irqs.end());

  // irq: the legacy INTx line, "0" when the device has none.
  const std::string irq_path = dir + "/irq";
  auto irq_text = root.read_if_exists(irq_path);
  if (!irq_text) return irq_text.error();
  if (*irq_text) {
    const auto irq = parse_decimal<std::uint32_t>(value_of(**irq_text));
    if (!irq) return bad_value(irq_path, value_of(**irq_text), "bad irq");
    if (*irq != 0) device.legacy_irq = core::irq_number(*irq);
  }

  // driver -> "../../../bus/pci/drivers/virtio-pci"; absent when unbound.
  auto link = root.read_link(dir + "/driver");
  if (link) {
    const std::string_view target = *link;
    const std::size_t slash = target.find_last_of('/');
    device.driver = std::string(slash == std::string_view::npos ? target : target.substr(slash + 1));
  } else if (link.error().errno_value != ENOENT) {
    return link.error();
  }

  if (auto net = read_net(root, dir, device); !net) return net.error();
  return std::optional<PciDevice>(std::move(device));
}

}  // namespace

core::Result<std::vector<PciDevice>> read_pci_devices(const SysRoot& root) {
  // A machine without PCI (many ARM boards) has no such directory.
  auto addresses = list_optional(root, "/sys/bus/pci/devices");
  if (!addresses) return addresses.error();
  std::vector<PciDevice> devices;
  devices.reserve(addresses->size());
  for (const std::string& address : *addresses) {
    auto device = read_device(root, address);
    if (!device) return device.error();
    if (*device) devices.push_back(std::move(**device));
  }
  std::sort(devices.begin(), devices.end(),
            [](const PciDevice& a, const PciDevice& b) { return a.address < b.address; });
  return devices;
}

std::map<core::IrqNumber, std::size_t> map_irqs_to_devices(const std::vector<PciDevice>& devices) {
  // Visit devices by address so the first by address claims a shared IRQ,
  // whatever order the caller's vector is in; MSI claims go before legacy.
  std::vector<std::size_t> order(devices.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return devices[a].address < devices[b].address; });
  std::map<core::IrqNumber, std::size_t> owner;
  for (const std::size_t i : order) {
    for (const core::IrqNumber irq : devices[i].msi_irqs) owner.emplace(irq, i);
  }
  for (const std::size_t i : order) {
    if (devices[i].legacy_irq) owner.emplace(*devices[i].legacy_irq, i);
  }
  return owner;
}

}  // namespace irqbpfd::sys
