// RestoreSet: the capture of /proc/irq/*/smp_affinity and its write-back.
#include "irqbpfd/apply/restore_set.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace irqbpfd::apply {
namespace {

// /proc/irq holds one directory per IRQ ("0", "1", "36") beside
// "default_smp_affinity"; only all-digit names are IRQs.
std::optional<core::IrqNumber> irq_of(std::string_view name) {
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (name.empty() || ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return core::irq_number(n);
}

}  // namespace

core::Result<RestoreSet> RestoreSet::capture(const KernelFiles& files) {
  auto names = files.list("/proc/irq");
  if (!names) return names.error();
  RestoreSet set;
  for (const std::string& name : *names) {
    const auto irq = irq_of(name);
    if (!irq) continue;
    const std::string path = fmt::format("/proc/irq/{}/smp_affinity", name);
    auto text = files.read(path);
    if (!text) {
      if (text.error().errno_value != ENOENT) set.unreadable_.emplace(*irq, text.error());
      continue;
    }
    // "00000000,00000003\n"
    auto mask = core::CpuSet::parse_mask(*text);
    if (!mask) {
      set.unreadable_.emplace(*irq, mask.error().with_context(path));
      continue;
    }
    set.masks_.emplace(*irq, std::move(*mask));
  }
  return set;
}

std::vector<WriteResult> RestoreSet::restore(AffinityWriter& writer) const {
  std::vector<WriteResult> out;
  out.reserve(masks_.size());
  for (const auto& [irq, mask] : masks_) out.push_back(writer.write(irq, mask));
  return out;
}

}  // namespace irqbpfd::apply
