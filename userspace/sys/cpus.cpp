// CPU state from /sys/devices/system/cpu: the possible/present/online lists,
// isolcpus= and nohz_full= sets, the per-CPU online files as a fallback, and
// nr_cpu_ids from the possible list.
#include "irqbpfd/sys/cpus.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <optional>

#include "parse_util.hpp"

namespace irqbpfd::sys {
namespace {

constexpr std::string_view kCpuDir = "/sys/devices/system/cpu";

// A list file ("0-3,8\n", "\n" for none); nullopt when absent. nohz_full
// reads "(null)" on kernels built with NO_HZ_FULL but booted without it.
core::Result<std::optional<core::CpuSet>> read_list(const SysRoot& root, std::string_view name) {
  const std::string path = fmt::format("{}/{}", kCpuDir, name);
  auto text = root.read(path);
  if (!text) {
    if (text.error().errno_value == ENOENT) return std::optional<core::CpuSet>();
    return text.error();
  }
  const std::string_view value = detail::value_of(*text);
  if (value == "(null)") return std::optional<core::CpuSet>(core::CpuSet{});
  auto set = core::CpuSet::parse_list(value);
  if (!set) return set.error().with_context(path);
  return std::optional<core::CpuSet>(std::move(*set));
}

// Without the summary "online" file: every cpuN directory, online unless its
// cpuN/online says "0". CPUs that cannot be unplugged (often cpu0, or all
// of them without HOTPLUG_CPU) have no such file and are online.
core::Result<core::CpuSet> online_from_cpu_dirs(const SysRoot& root) {
  auto names = root.list(kCpuDir);
  if (!names) return names.error().with_context(fmt::format("{}/online is missing", kCpuDir));
  core::CpuSet online;
  bool any = false;
  for (const std::string& name : *names) {
    if (name.size() <= 3 || name.compare(0, 3, "cpu") != 0) continue;
    const auto id = detail::parse_decimal<std::uint32_t>(std::string_view(name).substr(3));
    if (!id) continue;  // cpufreq, cpuidle
    any = true;
    const std::string path = fmt::format("{}/{}/online", kCpuDir, name);
    auto text = root.read(path);
    if (!text) {
      if (text.error().errno_value == ENOENT) {
        online.insert(core::cpu_id(*id));
        continue;
      }
      return text.error();
    }
    const std::string_view value = detail::value_of(*text);
    if (value == "1") {
      online.insert(core::cpu_id(*id));
    } else if (value != "0") {
      return core::Error{fmt::format("{}: expected 0 or 1, found '{}'", path, value)};
    }
  }
  if (!any) return core::Error{fmt::format("{}: no online file and no cpuN directories", kCpuDir)};
  return online;
}

}  // namespace

core::Result<CpuState> read_cpu_state(const SysRoot& root) {
  CpuState state;

  auto online = read_list(root, "online");
  if (!online) return online.error();
  if (*online) {
    state.online = std::move(**online);
  } else {
    auto derived = online_from_cpu_dirs(root);
    if (!derived) return derived.error();
    state.online = std::move(*derived);
  }

  for (const auto& [name, field] : {std::pair{"possible", &state.possible}, std::pair{"present", &state.present}}) {
    auto set = read_list(root, name);
    if (!set) return set.error();
    *field = *set ? std::move(**set) : state.online;
  }
  for (const auto& [name, field] : {std::pair{"isolated", &state.isolated}, std::pair{"nohz_full", &state.nohz_full}}) {
    auto set = read_list(root, name);
    if (!set) return set.error();
    if (*set) *field = std::move(**set);
  }
  return state;
}

core::Result<std::uint32_t> read_nr_cpu_ids(const SysRoot& root) {
  // possible: "0-1\n" here; with CPU hotplug headroom it can exceed present.
  auto possible = read_list(root, "possible");
  if (!possible) return possible.error();
  std::optional<core::CpuId> last;
  if (*possible) {
    last = (*possible)->last();
  } else {
    auto state = read_cpu_state(root);  // old kernels: possible falls back to online
    if (!state) return state.error();
    last = state->possible.last();
  }
  if (!last) return core::Error{fmt::format("{}/possible: no CPUs", kCpuDir)};
  return core::raw(*last) + 1;
}

}  // namespace irqbpfd::sys
