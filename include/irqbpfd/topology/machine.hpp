// The machine's topology as a plain tree: NUMA node -> package -> cache
// domain -> core -> CPU, each with its CpuSet. Loaded through hwloc (live, a
// fake root via HWLOC_FSROOT, XML, or a synthetic description); no hwloc type
// leaks out of this header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"

namespace irqbpfd::topology {

struct Core {
  unsigned index = 0;     // machine-wide, 0.. in tree order
  unsigned os_index = 0;  // hwloc's core P# (unique only within a package)
  core::CpuSet cpus;      // its hardware threads (SMT siblings)
};

struct CacheDomain {
  unsigned index = 0;     // machine-wide, 0.. in tree order
  unsigned level = 0;     // 3 for L3, 2 for L2; 0 when the machine shows no shared cache
  std::uint64_t size_bytes = 0;
  core::CpuSet cpus;
  std::vector<Core> cores;
};

// A package as seen from one NUMA node: when a package spans several nodes it
// appears once under each, holding the CPUs of that node only.
struct Package {
  unsigned index = 0;     // machine-wide, 0.. in tree order
  unsigned os_index = 0;  // physical package id
  core::CpuSet cpus;
  std::vector<CacheDomain> caches;
};

struct NumaNode {
  int os_index = 0;       // node id as the kernel numbers it (0 when the machine has no NUMA)
  core::CpuSet cpus;
  std::vector<Package> packages;
};

// Where one CPU sits in the tree.
struct CpuPlace {
  int node = 0;               // NumaNode::os_index
  unsigned package = 0;       // Package::os_index
  unsigned package_index = 0; // Package::index
  unsigned cache_index = 0;   // CacheDomain::index
  unsigned core_index = 0;    // Core::index
};

struct Machine {
  core::CpuSet cpus;                // every CPU in the tree (the online ones hwloc saw)
  std::vector<NumaNode> nodes;      // sorted by os_index
  std::string source;               // "live", "root /tmp/x", "synthetic pack:2 ...", "xml F"

  [[nodiscard]] std::optional<CpuPlace> place(core::CpuId cpu) const;
  [[nodiscard]] const NumaNode* node(int os_index) const;
  [[nodiscard]] std::size_t package_count() const;  // distinct physical packages
  [[nodiscard]] std::size_t cache_count() const;
  [[nodiscard]] std::size_t core_count() const;
};

// The running machine.
core::Result<Machine> load_live();
// A captured /sys+/proc tree (hwloc's linux component with HWLOC_FSROOT).
core::Result<Machine> load_from_root(const std::filesystem::path& root);
// hwloc synthetic: "pack:2 [numa] l3:4 core:16 pu:2".
core::Result<Machine> load_synthetic(std::string_view description);
// hwloc XML export.
core::Result<Machine> load_xml(const std::filesystem::path& file);

}  // namespace irqbpfd::topology
