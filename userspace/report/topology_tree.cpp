// The topology as an indented tree: node -> package -> cache domain, with the
// cores of each cache domain on one line as SMT sibling groups.
#include <fmt/format.h>

#include "irqbpfd/report/report.hpp"

namespace irqbpfd::report {
namespace {

std::string size_text(std::uint64_t bytes) {
  if (bytes == 0) return "";
  if (bytes % (1024ULL * 1024) == 0) return fmt::format(" {} MiB", bytes / (1024ULL * 1024));
  return fmt::format(" {} KiB", bytes / 1024);
}

}  // namespace

std::string render_topology(const topology::Machine& machine) {
  std::string out = fmt::format("Topology ({}): {} CPUs\n", machine.source, machine.cpus.count());
  for (const auto& node : machine.nodes) {
    out += fmt::format("  node {}: cpus {}\n", node.os_index, node.cpus.to_list());
    for (const auto& pkg : node.packages) {
      out += fmt::format("    package {}: cpus {}\n", pkg.os_index, pkg.cpus.to_list());
      for (const auto& cache : pkg.caches) {
        const std::string label = cache.level == 0 ? std::string("cache domain") : fmt::format("L{} cache", cache.level);
        out += fmt::format("      {} #{}{}: cpus {}\n", label, cache.index, size_text(cache.size_bytes), cache.cpus.to_list());
        std::string cores;
        for (const auto& core : cache.cores) {
          // A core of one CPU prints bare, an SMT core braced: "0 {1,9}". Braced
          // by fmt, not `"{" + string&&`: g++ 12 -O3 flags that (-Wrestrict,
          // a false positive, GCC PR 105329) and -Werror fails the build.
          if (!cores.empty()) cores += ' ';
          cores += core.cpus.count() == 1 ? core.cpus.to_list() : fmt::format("{{{}}}", core.cpus.to_list());
        }
        out += fmt::format("        cores: {}\n", cores);
      }
    }
  }
  return out;
}

}  // namespace irqbpfd::report
