// Loading a Machine through hwloc (live, a fake root via HWLOC_FSROOT, XML,
// synthetic). hwloc is confined to this file: its objects are flattened into
// plain CpuSet facts first, then a pure builder turns the facts into the tree.
#include <hwloc.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::topology {
namespace {

namespace fs = std::filesystem;
using core::CpuId;
using core::CpuSet;
using core::Error;
using core::Result;

// ---------------------------------------------------------------------------
// RAII around hwloc and the process environment.

struct TopologyDeleter {
  void operator()(hwloc_topology* topology) const { hwloc_topology_destroy(topology); }
};
using TopologyPtr = std::unique_ptr<hwloc_topology, TopologyDeleter>;

// Sets an environment variable (or unsets it when `value` is nullopt) for the
// guard's lifetime and restores the previous state afterwards. setenv is not
// thread-safe: loading from a root is a start-up/rescan step, not something
// to run concurrently with other threads reading the environment.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str()); old != nullptr) previous_ = old;
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~ScopedEnv() {
    if (previous_) {
      ::setenv(name_.c_str(), previous_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> previous_;
};

// An initialised topology with our flags set, not yet loaded.
Result<TopologyPtr> new_topology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return core::errno_error("hwloc_topology_init", errno);
  TopologyPtr topology(raw);
  // A cgroup cpuset must not hide CPUs: the balancer places IRQs machine-wide.
  if (hwloc_topology_set_flags(raw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) != 0) {
    return core::errno_error("hwloc_topology_set_flags", errno);
  }
  return topology;
}

CpuSet to_cpu_set(hwloc_const_bitmap_t bitmap) {
  CpuSet out;
  if (bitmap == nullptr) return out;
  // cpusets of objects are finite; hwloc_bitmap_next returns -1 at the end.
  for (int id = hwloc_bitmap_next(bitmap, -1); id >= 0; id = hwloc_bitmap_next(bitmap, id)) {
    out.insert(core::cpu_id(static_cast<std::uint32_t>(id)));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Flat facts read out of hwloc, then the pure tree builder.

struct NodeFact {
  int os_index = 0;
  CpuSet cpus;
};
struct PackageFact {
  unsigned os_index = 0;
  CpuSet cpus;
};
struct CacheFact {
  unsigned level = 0;
  std::uint64_t size_bytes = 0;
  CpuSet cpus;
};
struct CoreFact {
  unsigned os_index = 0;
  CpuSet cpus;
};
struct Facts {
  CpuSet cpus;  // the CPUs that make the tree
  std::vector<NodeFact> nodes;
  std::vector<PackageFact> packages;
  std::vector<CacheFact> caches;
  std::vector<CoreFact> cores;
};

// hwloc leaves os_index unknown for some objects (a package without
// physical_package_id, a synthetic core): the logical index stands in, which
// is deterministic for a given input.
unsigned os_or_logical(hwloc_obj_t obj) {
  return obj->os_index == HWLOC_UNKNOWN_INDEX ? obj->logical_index : obj->os_index;
}

Facts read_facts(hwloc_topology_t topology) {
  Facts facts;
  // PU objects exist only for online CPUs (hwloc 2.x keeps offline ones in the
  // complete cpuset only); intersecting with the topology cpuset keeps exactly
  // the PUs described in the tree, allowed by the cgroup or not (we load with
  // INCLUDE_DISALLOWED).
  const CpuSet topology_cpus = to_cpu_set(hwloc_topology_get_topology_cpuset(topology));
  const int pu_count = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_PU);
  for (int i = 0; i < pu_count; ++i) {
    const hwloc_obj_t pu = hwloc_get_obj_by_type(topology, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    if (pu == nullptr || pu->os_index == HWLOC_UNKNOWN_INDEX) continue;
    const CpuId cpu = core::cpu_id(pu->os_index);
    if (topology_cpus.contains(cpu)) facts.cpus.insert(cpu);
  }

  const auto objects = [&](hwloc_obj_type_t type, auto&& visit) {
    const int count = hwloc_get_nbobjs_by_type(topology, type);
    for (int i = 0; i < count; ++i) {
      const hwloc_obj_t obj = hwloc_get_obj_by_type(topology, type, static_cast<unsigned>(i));
      if (obj == nullptr) continue;
      CpuSet cpus = to_cpu_set(obj->cpuset) & facts.cpus;
      if (!cpus.empty()) visit(obj, std::move(cpus));
    }
  };
  // NUMA nodes are memory children in hwloc 2.x; their cpuset says which CPUs
  // are local to them. Nodes without CPUs (memory-only, empty cpuset) drop out.
  objects(HWLOC_OBJ_NUMANODE, [&](hwloc_obj_t obj, CpuSet cpus) {
    facts.nodes.push_back(NodeFact{static_cast<int>(os_or_logical(obj)), std::move(cpus)});
  });
  objects(HWLOC_OBJ_PACKAGE, [&](hwloc_obj_t obj, CpuSet cpus) {
    facts.packages.push_back(PackageFact{os_or_logical(obj), std::move(cpus)});
  });
  for (hwloc_obj_type_t type : {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE,
                                HWLOC_OBJ_L5CACHE}) {
    // Data and unified caches only; instruction caches do not hold the data
    // an IRQ handler and its consumer share.
    if (!hwloc_obj_type_is_dcache(type)) continue;
    objects(type, [&](hwloc_obj_t obj, CpuSet cpus) {
      facts.caches.push_back(CacheFact{obj->attr->cache.depth, obj->attr->cache.size, std::move(cpus)});
    });
  }
  objects(HWLOC_OBJ_CORE, [&](hwloc_obj_t obj, CpuSet cpus) {
    facts.cores.push_back(CoreFact{os_or_logical(obj), std::move(cpus)});
  });
  return facts;
}

CpuId first_cpu(const CpuSet& set) { return set.first().value_or(core::cpu_id(0)); }

template <class T>
void sort_by_first_cpu(std::vector<T>& items) {
  std::sort(items.begin(), items.end(),
            [](const T& a, const T& b) { return raw(first_cpu(a.cpus)) < raw(first_cpu(b.cpus)); });
}

// Which node each CPU belongs to. A CPU can lie in several nodes' cpusets
// (DRAM plus NVM/HBM/GPU memory local to the same CPUs, or a package-wide NVM
// node over per-cluster DRAM nodes): it goes to the node with the smallest
// cpuset (the most local one), ties to the lowest os_index, which matches the
// kernel's own node/nodeN/cpulist on every capture we have. CPUs that no node
// covers (no NUMA at all, or a buggy firmware table) go to the lowest
// numbered node; with no node holding CPUs the machine is one node 0.
std::vector<NumaNode> assign_nodes(const Facts& facts) {
  std::vector<const NodeFact*> order;
  for (const NodeFact& n : facts.nodes) order.push_back(&n);
  std::sort(order.begin(), order.end(), [](const NodeFact* a, const NodeFact* b) {
    if (a->cpus.count() != b->cpus.count()) return a->cpus.count() < b->cpus.count();
    return a->os_index < b->os_index;
  });
  std::map<int, CpuSet> by_node;
  CpuSet unassigned = facts.cpus;
  for (const NodeFact* n : order) {
    const CpuSet mine = n->cpus & unassigned;
    if (mine.empty()) continue;
    by_node[n->os_index] |= mine;
    unassigned -= mine;
  }
  if (!unassigned.empty()) {
    const int first = by_node.empty() ? 0 : by_node.begin()->first;
    by_node[first] |= unassigned;
  }
  std::vector<NumaNode> nodes;
  for (auto& [os_index, cpus] : by_node) nodes.push_back(NumaNode{os_index, std::move(cpus), {}});
  return nodes;  // std::map iteration: sorted by os_index
}

// The cores of one cache domain: hwloc cores clipped to it, and one core per
// CPU for CPUs no Core object covers.
std::vector<Core> build_cores(const Facts& facts, const CpuSet& domain) {
  std::vector<Core> cores;
  CpuSet left = domain;
  for (const CoreFact& c : facts.cores) {
    const CpuSet mine = c.cpus & left;
    if (mine.empty()) continue;
    cores.push_back(Core{0, c.os_index, mine});
    left -= mine;
  }
  left.for_each([&](CpuId cpu) { cores.push_back(Core{0, raw(cpu), CpuSet{raw(cpu)}}); });
  sort_by_first_cpu(cores);
  return cores;
}

// The cache domains of one package-within-a-node: the highest-level data or
// unified caches inside it, clipped to it; CPUs the highest level does not
// reach (asymmetric caches) fall to the next level down, and CPUs without any
// cache share one level-0 domain.
std::vector<CacheDomain> build_caches(const Facts& facts, const CpuSet& package_cpus) {
  std::vector<const CacheFact*> order;
  for (const CacheFact& c : facts.caches) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(), [](const CacheFact* a, const CacheFact* b) {
    if (a->level != b->level) return a->level > b->level;
    return raw(first_cpu(a->cpus)) < raw(first_cpu(b->cpus));
  });
  std::vector<CacheDomain> caches;
  CpuSet left = package_cpus;
  for (const CacheFact* c : order) {
    const CpuSet mine = c->cpus & left;
    if (mine.empty()) continue;
    caches.push_back(CacheDomain{0, c->level, c->size_bytes, mine, {}});
    left -= mine;
  }
  if (!left.empty()) caches.push_back(CacheDomain{0, 0, 0, left, {}});
  sort_by_first_cpu(caches);
  for (CacheDomain& c : caches) c.cores = build_cores(facts, c.cpus);
  return caches;
}

Machine build_machine(const Facts& facts, std::string source) {
  Machine machine;
  machine.cpus = facts.cpus;
  machine.source = std::move(source);
  machine.nodes = assign_nodes(facts);
  // CPUs outside every Package object share one pseudo-package: os_index 0
  // on a machine that shows no packages at all, else one above the largest
  // real id (hwloc can drop a package whose sysfs data conflicts with another
  // object), so that it never merges with a real package in package_count().
  unsigned pseudo_package = 0;
  for (const PackageFact& p : facts.packages) pseudo_package = std::max(pseudo_package, p.os_index + 1);
  for (NumaNode& node : machine.nodes) {
    CpuSet left = node.cpus;
    for (const PackageFact& p : facts.packages) {
      const CpuSet mine = p.cpus & left;
      if (mine.empty()) continue;
      node.packages.push_back(Package{0, p.os_index, mine, {}});
      left -= mine;
    }
    if (!left.empty()) node.packages.push_back(Package{0, pseudo_package, left, {}});
    sort_by_first_cpu(node.packages);
    for (Package& p : node.packages) p.caches = build_caches(facts, p.cpus);
  }
  // Machine-wide indices in tree order.
  unsigned package_index = 0, cache_index = 0, core_index = 0;
  for (NumaNode& node : machine.nodes) {
    for (Package& p : node.packages) {
      p.index = package_index++;
      for (CacheDomain& c : p.caches) {
        c.index = cache_index++;
        for (Core& k : c.cores) k.index = core_index++;
      }
    }
  }
  return machine;
}

// Loads a prepared topology and builds the tree; `what` names the source in
// errors ("root /tmp/x").
Result<Machine> load_and_build(TopologyPtr topology, const std::string& what) {
  if (hwloc_topology_load(topology.get()) != 0) {
    const int err = errno;
    return Error{what + ": hwloc could not load the topology: " + std::strerror(err), err};
  }
  Facts facts = read_facts(topology.get());
  if (facts.cpus.empty()) return Error{what + ": hwloc found no CPUs"};
  return build_machine(facts, what);
}

}  // namespace

Result<Machine> load_live() {
  auto topology = new_topology();
  if (!topology) return topology.error().with_context("live");
  return load_and_build(std::move(*topology), "live");
}

Result<Machine> load_from_root(const fs::path& root) {
  const std::string what = "root " + root.string();
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return Error{what + ": not a directory", ENOENT};
  if (!fs::is_directory(root / "sys" / "devices" / "system" / "cpu", ec)) {
    return Error{what + ": no sys/devices/system/cpu under it", ENOENT};
  }
  const std::string absolute = fs::absolute(root, ec).string();
  // hwloc 2.9 has no API for a filesystem root: the linux component reads
  // HWLOC_FSROOT. "linux,stop" keeps every other component (x86 cpuid, which
  // would describe the host instead) out, and THISSYSTEM=0 stops hwloc from
  // treating the fake root's objects as binding targets on this host.
  const ScopedEnv fsroot("HWLOC_FSROOT", absolute);
  const ScopedEnv components("HWLOC_COMPONENTS", std::string("linux,stop"));
  const ScopedEnv thissystem("HWLOC_THISSYSTEM", std::string("0"));
  auto topology = new_topology();
  if (!topology) return topology.error().with_context(what);
  return load_and_build(std::move(*topology), what);
}

Result<Machine> load_synthetic(std::string_view description) {
  const std::string text(description);
  const std::string what = "synthetic " + text;
  auto topology = new_topology();
  if (!topology) return topology.error().with_context(what);
  if (hwloc_topology_set_synthetic(topology->get(), text.c_str()) != 0) {
    const int err = errno;
    return Error{"invalid hwloc synthetic description '" + text + "'", err};
  }
  return load_and_build(std::move(*topology), what);
}

Result<Machine> load_xml(const fs::path& file) {
  const std::string what = "xml " + file.string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return Error{what + ": not a readable file", ENOENT};
  auto topology = new_topology();
  if (!topology) return topology.error().with_context(what);
  if (hwloc_topology_set_xml(topology->get(), file.c_str()) != 0) {
    const int err = errno;
    return Error{what + ": hwloc rejected the XML: " + std::strerror(err), err};
  }
  return load_and_build(std::move(*topology), what);
}

}  // namespace irqbpfd::topology
