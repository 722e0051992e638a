// Readers of the per-IRQ kernel files: /proc/irq/N/* (affinities, hint, node,
// writability), /proc/irq/default_smp_affinity, the debugfs managed flag and
// /sys/kernel/irq/N/*.
#include "irqbpfd/sys/irq_files.hpp"

#include <fmt/format.h>

#include <cerrno>

#include "parse_util.hpp"

namespace irqbpfd::sys {
namespace {

using detail::value_of;


// "3", "ff,ffffffff", "00000000,00000001" -> set, or an error naming the file.
core::Result<core::CpuSet> parse_mask_file(const std::string& text, const std::string& path) {
  auto set = core::CpuSet::parse_mask(text);
  if (!set) return set.error().with_context(path);
  return set;
}

core::Result<core::CpuSet> parse_list_file(const std::string& text, const std::string& path) {
  auto set = core::CpuSet::parse_list(text);
  if (!set) return set.error().with_context(path);
  return set;
}

// Reads an optional file and parses it with `parse`; nullopt when absent.
template <class Parse>
core::Result<std::optional<core::CpuSet>> read_optional_set(const SysRoot& root, const std::string& path,
                                                            Parse parse) {
  auto text = root.read_if_exists(path);
  if (!text) return text.error();
  if (!*text) return std::optional<core::CpuSet>();
  auto set = parse(**text, path);
  if (!set) return set.error();
  return std::optional<core::CpuSet>(std::move(*set));
}

}  // namespace

core::Result<ProcIrqFiles> read_proc_irq(const SysRoot& root, core::IrqNumber irq) {
  const std::string dir = fmt::format("/proc/irq/{}", core::raw(irq));
  ProcIrqFiles out;

  // smp_affinity is the one required file: its ENOENT is how a vanished IRQ
  // shows, and it travels up with errno intact.
  const std::string affinity_path = dir + "/smp_affinity";
  auto affinity_text = root.read(affinity_path);
  if (!affinity_text) return affinity_text.error();
  auto affinity = parse_mask_file(*affinity_text, affinity_path);
  if (!affinity) return affinity.error();
  out.smp_affinity = std::move(*affinity);

  // Recent kernels create smp_affinity 0444 for kernel-managed IRQs
  // (PCI_IRQ_AFFINITY spreading: virtio, NVMe queues) and 0644 otherwise.
  // Root bypasses the permission, so the owner-write bit is the signal.
  auto mode = root.mode(affinity_path);
  if (!mode) return mode.error();
  out.affinity_writable = (*mode & 0200U) != 0;

  auto list = read_optional_set(root, dir + "/smp_affinity_list", parse_list_file);
  if (!list) return list.error();
  out.smp_affinity_list = std::move(*list);

  // effective_affinity exists with CONFIG_GENERIC_IRQ_EFFECTIVE_AFF_MASK; some
  // trees carry only the _list form.
  auto effective = read_optional_set(root, dir + "/effective_affinity", parse_mask_file);
  if (!effective) return effective.error();
  if (!*effective) effective = read_optional_set(root, dir + "/effective_affinity_list", parse_list_file);
  if (!effective) return effective.error();
  out.effective_affinity = std::move(*effective);

  // affinity_hint reads "0" (all words zero) when the driver set none.
  auto hint = read_optional_set(root, dir + "/affinity_hint", parse_mask_file);
  if (!hint) return hint.error();
  if (*hint && !(*hint)->empty()) out.affinity_hint = std::move(*hint);

  // node: "-1" or "0"; only on NUMA-aware kernels.
  const std::string node_path = dir + "/node";
  auto node_text = root.read_if_exists(node_path);
  if (!node_text) return node_text.error();
  if (*node_text) {
    const auto node = detail::parse_decimal<int>(value_of(**node_text));
    if (!node) return core::Error{fmt::format("{}: bad node '{}'", node_path, value_of(**node_text))};
    out.node = *node;
  }

  // With debugfs and CONFIG_GENERIC_IRQ_DEBUGFS, irqs/N lists the flags:
  //   handler:  handle_edge_irq
  //   ...
  //   istate:   0x00000000
  //   ddstate:  0x10403200
  //             IRQD_IRQ_STARTED
  //             IRQD_AFFINITY_MANAGED
  // An unreadable file leaves the question open rather than failing the IRQ.
  const std::string debug_path = fmt::format("/sys/kernel/debug/irq/irqs/{}", core::raw(irq));
  if (root.exists(debug_path)) {
    if (auto text = root.read(debug_path); text) {
      out.debugfs_managed = text->find("IRQD_AFFINITY_MANAGED") != std::string::npos;
    }
  }
  return out;
}

core::Result<IrqAffinity> read_irq_affinity(const SysRoot& root, core::IrqNumber irq) {
  const std::string dir = fmt::format("/proc/irq/{}", core::raw(irq));
  IrqAffinity out;
  const std::string affinity_path = dir + "/smp_affinity";
  auto affinity_text = root.read(affinity_path);
  if (!affinity_text) return affinity_text.error();  // ENOENT: vanished
  auto affinity = parse_mask_file(*affinity_text, affinity_path);
  if (!affinity) return affinity.error();
  out.smp_affinity = std::move(*affinity);
  auto effective = read_optional_set(root, dir + "/effective_affinity", parse_mask_file);
  if (!effective) return effective.error();
  if (!*effective) effective = read_optional_set(root, dir + "/effective_affinity_list", parse_list_file);
  if (!effective) return effective.error();
  out.effective_affinity = std::move(*effective);
  return out;
}

core::Result<core::CpuSet> read_default_smp_affinity(const SysRoot& root) {
  const std::string path = "/proc/irq/default_smp_affinity";
  auto text = root.read(path);
  if (!text) return text.error();
  return parse_mask_file(*text, path);
}

// /sys/kernel/irq/41/{actions,chip_name,hwirq,name,type,wakeup}, one value
// each ("virtio3-rx", "PCI-MSIX-0000:00:04.0", "1", "edge", "edge",
// "disabled"). A file absent on an older kernel reads "".
core::Result<std::optional<SysKernelIrq>> read_sys_kernel_irq(const SysRoot& root, core::IrqNumber irq) {
  const std::string dir = fmt::format("/sys/kernel/irq/{}", core::raw(irq));
  if (!root.exists(dir)) return std::optional<SysKernelIrq>();
  SysKernelIrq out;
  const std::pair<const char*, std::string*> files[] = {
      {"actions", &out.actions}, {"chip_name", &out.chip_name}, {"hwirq", &out.hwirq},
      {"name", &out.name},       {"type", &out.type},           {"wakeup", &out.wakeup},
  };
  for (const auto& [file, field] : files) {
    auto text = root.read_if_exists(dir + "/" + file);
    if (!text) return text.error();
    if (*text) *field = std::string(value_of(**text));
  }
  return std::optional<SysKernelIrq>(std::move(out));
}

}  // namespace irqbpfd::sys
