// Out-of-line parts of the sys parsing helpers: error text with file:line and
// the "CPUn" column header shared by /proc/interrupts and /proc/softirqs.
#include "parse_util.hpp"

#include <fmt/format.h>


namespace irqbpfd::sys::detail {
namespace {
// Well above any kernel's NR_CPUS (8192 on x86 distro kernels); keeps a
// corrupt header from sizing a huge table.
constexpr std::uint32_t kMaxCpuId = 1U << 16;
}  // namespace

core::Error line_error(std::string_view source, std::size_t line, std::string_view what) {
  return core::Error{fmt::format("{}:{}: {}", source, line, what)};
}

core::Result<std::vector<core::CpuId>> parse_cpu_header(std::string_view line, std::string_view source,
                                                        std::size_t line_number) {
  std::vector<core::CpuId> cpus;
  std::vector<bool> seen;
  std::string_view rest = line;
  for (std::string_view token = next_token(rest); !token.empty(); token = next_token(rest)) {
    std::optional<std::uint32_t> id;
    if (token.size() > 3 && token.substr(0, 3) == "CPU") id = parse_decimal<std::uint32_t>(token.substr(3));
    if (!id) return line_error(source, line_number, fmt::format("bad header token '{}', expected CPU<n>", token));
    if (*id >= kMaxCpuId) return line_error(source, line_number, fmt::format("CPU id in '{}' is too large", token));
    if (*id < seen.size() && seen[*id]) {
      return line_error(source, line_number, fmt::format("CPU{} appears twice in the header", *id));
    }
    if (*id >= seen.size()) seen.resize(static_cast<std::size_t>(*id) + 1, false);
    seen[*id] = true;
    cpus.push_back(core::cpu_id(*id));
  }
  if (cpus.empty()) return line_error(source, line_number, "missing CPU header");
  return cpus;
}

}  // namespace irqbpfd::sys::detail
