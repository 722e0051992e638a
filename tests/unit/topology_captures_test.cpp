// load_from_root against every real machine capture in ../shared/machines:
// the tree must match what `lstopo-no-graphics -v --of console` printed for
// the same root (the NAME.console files), read through our model's rules.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fake_root.hpp"
#include "irqbpfd/topology/machine.hpp"
#include "topology_test_util.hpp"

namespace irqbpfd::topology {
namespace {

namespace fs = std::filesystem;
using core::CpuId;
using core::CpuSet;
using test::list;

// ---------------------------------------------------------------------------
// A reader for lstopo's verbose console output. The tree part looks like
//
//   Machine (P#0 total=16GiB)
//     NUMANode L#0 (P#0 local=16GiB total=16GiB)
//     Package L#1 (P#1 CPUModel="Intel(R) Xeon(TM) CPU 2.60GHz")
//       L3Cache L#1 (size=4096KiB linesize=64 ways=16)
//         Core L#2 (P#0)
//           PU L#4 (P#1)
//
// two spaces of indentation per level; NUMA nodes (and memory-side caches)
// are memory children of the object whose CPUs are local to them. The tree
// ends at the "depth 0:" summary; after it, "N processors not represented in
// topology: 0x00006024" lists offline or cgroup-disallowed CPUs and
// "Topology infos: LinuxCgroup=/prout ..." names the cgroup lstopo ran in.

struct ConsoleObject {
  std::string type;            // "Package", "NUMANode(NVM)", "Group0(Book)", "PU"...
  std::optional<unsigned> os;  // P#, when printed
  unsigned logical = 0;        // L#
  int parent = -1;
  CpuSet pus;                  // PUs in its subtree
};

struct Console {
  std::vector<ConsoleObject> objects;
  CpuSet pus;
  CpuSet not_represented;
  std::string cgroup;  // "" when not printed
};

bool is_type(const ConsoleObject& o, std::string_view prefix) { return o.type.rfind(prefix, 0) == 0; }

bool is_memory_object(const ConsoleObject& o) { return is_type(o, "NUMANode") || is_type(o, "MemCache"); }

Console parse_console(std::istream& in) {
  Console c;
  static const std::regex object_re(R"(^( *)([A-Za-z][A-Za-z0-9]*(\([^)]*\))?) (L#(\d+))? ?(\(P#(\d+))?.*)");
  std::vector<std::pair<int, int>> stack;  // (indent, object index)
  std::string line;
  bool in_tree = true;
  while (std::getline(in, line)) {
    if (line.find("depth 0:") != std::string::npos) in_tree = false;
    if (!in_tree) {
      if (const auto at = line.find("processors not represented in topology: "); at != std::string::npos) {
        std::string mask = line.substr(at + std::strlen("processors not represented in topology: "));
        for (std::size_t x; (x = mask.find("0x")) != std::string::npos;) mask.erase(x, 2);
        auto parsed = CpuSet::parse_mask(mask);
        if (parsed) c.not_represented = *parsed;
      }
      if (const auto at = line.find("LinuxCgroup="); at != std::string::npos) {
        const std::string rest = line.substr(at + std::strlen("LinuxCgroup="));
        c.cgroup = rest.substr(0, rest.find(' '));
      }
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, object_re)) continue;
    const int indent = static_cast<int>(m[1].length());
    ConsoleObject o;
    o.type = m[2].str();
    if (m[7].matched) o.os = static_cast<unsigned>(std::stoul(m[7].str()));
    if (m[5].matched) o.logical = static_cast<unsigned>(std::stoul(m[5].str()));
    while (!stack.empty() && stack.back().first >= indent) stack.pop_back();
    o.parent = stack.empty() ? -1 : stack.back().second;
    c.objects.push_back(o);
    stack.emplace_back(indent, static_cast<int>(c.objects.size() - 1));
  }
  // PU sets bottom-up.
  for (std::size_t i = 0; i < c.objects.size(); ++i) {
    if (c.objects[i].type != "PU" || !c.objects[i].os) continue;
    const CpuId cpu = core::cpu_id(*c.objects[i].os);
    c.pus.insert(cpu);
    for (int at = static_cast<int>(i); at >= 0; at = c.objects[static_cast<std::size_t>(at)].parent) {
      c.objects[static_cast<std::size_t>(at)].pus.insert(cpu);
    }
  }
  // A memory object's local CPUs are those of its nearest non-memory ancestor.
  for (ConsoleObject& o : c.objects) {
    if (!is_memory_object(o)) continue;
    int at = o.parent;
    while (at >= 0 && is_memory_object(c.objects[static_cast<std::size_t>(at)])) {
      at = c.objects[static_cast<std::size_t>(at)].parent;
    }
    if (at >= 0) o.pus = c.objects[static_cast<std::size_t>(at)].pus;
  }
  return c;
}

std::vector<std::string> sorted_lists(std::vector<CpuSet> sets) {
  std::vector<std::string> out;
  for (const CpuSet& s : sets) {
    if (!s.empty()) out.push_back(s.to_list());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---------------------------------------------------------------------------

struct Capture {
  fs::path tarball;
  std::string name;
};

// gtest prints the parameter of a failing case: the capture's name.
void PrintTo(const Capture& capture, std::ostream* out) { *out << capture.name; }

std::vector<Capture> all_captures() {
  std::vector<Capture> out;
  const fs::path dir = irqbpfd::testing::machines_dir();
  if (dir.empty()) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    const auto dot = file.find(".tar.bz2");
    if (dot == std::string::npos || dot + 8 != file.size()) continue;
    out.push_back(Capture{entry.path(), file.substr(0, dot)});
  }
  std::sort(out.begin(), out.end(), [](const Capture& a, const Capture& b) { return a.name < b.name; });
  return out;
}

std::string param_name(const ::testing::TestParamInfo<Capture>& info) {
  std::string out;
  for (char ch : info.param.name) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out;
}

class CaptureTest : public ::testing::TestWithParam<Capture> {
 protected:
  // A capture is up to 11k small files; unpacking them on this VM's disk
  // costs ~14 s of system time each, on tmpfs ~0.4 s. Unless the user chose
  // TMPDIR, unpack under /dev/shm for the suite and restore afterwards.
  static void SetUpTestSuite() {
    std::error_code ec;
    if (std::getenv("TMPDIR") == nullptr && fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) {
      ::setenv("TMPDIR", "/dev/shm", 1);
      set_tmpdir_ = true;
    }
  }
  static void TearDownTestSuite() {
    if (set_tmpdir_) ::unsetenv("TMPDIR");
    set_tmpdir_ = false;
  }
  static inline bool set_tmpdir_ = false;

  void SetUp() override {
    if (GetParam().tarball.empty()) GTEST_SKIP() << "no machine captures at ../shared/machines (set IRQBPFD_MACHINES_DIR)";
    root_ = std::make_unique<irqbpfd::testing::FakeRoot>();
    machine_root_ = root_->unpack_capture(GetParam().tarball);
  }

  std::unique_ptr<irqbpfd::testing::FakeRoot> root_;
  fs::path machine_root_;
};

// The kernel's own cpu -> node map from node/nodeN/cpulist, for CPUs listed
// by exactly one node.
std::map<std::uint32_t, int> sysfs_cpu_nodes(const fs::path& machine_root) {
  std::map<std::uint32_t, int> out;
  std::map<std::uint32_t, int> listed;
  const fs::path dir = machine_root / "sys/devices/system/node";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("node", 0) != 0 || name.size() == 4 || !std::isdigit(static_cast<unsigned char>(name[4]))) continue;
    // cpulist ("0-3,8") where the kernel has it, else cpumap ("0000,0000000f").
    const auto read = [&](const char* file) -> std::optional<std::string> {
      std::ifstream in(entry.path() / file);
      if (!in) return std::nullopt;
      std::stringstream text;
      text << in.rdbuf();
      return text.str();
    };
    core::Result<CpuSet> cpus = core::Error{"no cpulist or cpumap"};
    if (const auto text = read("cpulist")) {
      cpus = CpuSet::parse_list(*text);
    } else if (const auto mask = read("cpumap")) {
      cpus = CpuSet::parse_mask(*mask);
    }
    if (!cpus) continue;
    const int node = std::stoi(name.substr(4));
    cpus->for_each([&](CpuId cpu) {
      ++listed[raw(cpu)];
      out[raw(cpu)] = node;
    });
  }
  // A real kernel lists each CPU under one node at most. fakeheterocpunuma
  // lists CPU 20 under nodes 3, 4 and 5 (and hwloc ignores nodes 4 and 5):
  // such a map is no reference, so no check.
  for (const auto& [cpu, times] : listed) {
    if (times != 1) return {};
  }
  return out;
}

TEST_P(CaptureTest, LoadsAndMatchesLstopo) {
  const auto loaded = load_from_root(machine_root_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  const Machine& m = *loaded;
  EXPECT_EQ(m.source, "root " + machine_root_.string());
  ASSERT_FALSE(m.cpus.empty());
  test::expect_consistent(m);

  // Where the capture has node/nodeN/cpulist, our node choice must be the
  // kernel's (we pick the smallest, then lowest numbered node hwloc shows for
  // a CPU; this checks the rule against the kernel's own answer).
  const auto kernel_nodes = sysfs_cpu_nodes(machine_root_);
  for (const auto& [cpu, node] : kernel_nodes) {
    const auto place = m.place(core::cpu_id(cpu));
    if (!place) continue;  // offline CPUs are listed by their node too
    EXPECT_EQ(place->node, node) << "cpu " << cpu << " per sysfs node" << node << "/cpulist";
  }

  const fs::path console_file = GetParam().tarball.parent_path() / (GetParam().name + ".console");
  std::ifstream in(console_file);
  if (!in) return;  // no lstopo output to compare with: load + places only
  const Console c = parse_console(in);
  ASSERT_FALSE(c.pus.empty()) << "no PU lines in " << console_file;
  const CpuSet& v = c.pus;

  // PUs. lstopo hides CPUs outside its cgroup; we load with
  // INCLUDE_DISALLOWED and keep them, so with a cgroup other than "/" our
  // CPUs are lstopo's plus some of those it reports as not represented.
  EXPECT_TRUE(v.is_subset_of(m.cpus)) << "lstopo " << list(v) << " ours " << list(m.cpus);
  const CpuSet extra = m.cpus - v;
  const bool restricted = !c.cgroup.empty() && c.cgroup != "/";
  if (restricted) {
    EXPECT_TRUE(extra.is_subset_of(c.not_represented))
        << "extra " << list(extra) << " not in lstopo's hidden " << list(c.not_represented);
  } else {
    EXPECT_EQ(m.cpus, v);
  }
  // Offline CPUs are never ours.
  const std::ifstream online_file(machine_root_ / "sys/devices/system/cpu/online");
  if (online_file) {
    std::stringstream text;
    text << online_file.rdbuf();
    const auto online = CpuSet::parse_list(text.str());
    ASSERT_TRUE(online) << online.error().message;
    EXPECT_TRUE(m.cpus.is_subset_of(*online)) << "ours " << list(m.cpus) << " online " << list(*online);
  }

  // Everything below compares on lstopo's CPUs only (the same as all of ours
  // unless a cgroup hid some from lstopo).

  // NUMA nodes. We keep only nodes holding CPUs, and a CPU local to several
  // (DRAM and NVM/HBM/GPU memory over the same CPUs, a package-wide NVM node
  // over per-cluster DRAM nodes) belongs to the smallest, then lowest
  // numbered, one; CPUs under no node go to the lowest numbered node. Where
  // the capture has node/nodeN/cpulist the kernel's answer wins: lstopo hides
  // memoryless CPU nodes (hwloc marks them disallowed) that we keep, e.g.
  // fakememinitiators, whose CPUs sit in memoryless nodes 0-3 while lstopo
  // shows them under the DRAM nodes 5, 6, 8, 9. Where lstopo does show the
  // kernel's node, both must agree.
  std::vector<const ConsoleObject*> lstopo_nodes;
  std::set<int> lstopo_node_ids;
  for (const ConsoleObject& o : c.objects) {
    if (!is_type(o, "NUMANode") || !o.os) continue;
    lstopo_nodes.push_back(&o);
    lstopo_node_ids.insert(static_cast<int>(*o.os));
  }
  std::map<int, CpuSet> expected_nodes, hidden_node_cpus;
  if (lstopo_nodes.empty()) {
    expected_nodes[0] = v;
  } else {
    CpuSet uncovered;
    v.for_each([&](CpuId cpu) {
      const ConsoleObject* best = nullptr;
      for (const ConsoleObject* n : lstopo_nodes) {
        if (!n->pus.contains(cpu)) continue;
        if (best == nullptr || n->pus.count() < best->pus.count() ||
            (n->pus.count() == best->pus.count() && *n->os < *best->os)) {
          best = n;
        }
      }
      std::optional<int> node;
      if (best != nullptr) node = static_cast<int>(*best->os);
      if (const auto k = kernel_nodes.find(raw(cpu)); k != kernel_nodes.end()) {
        if (lstopo_node_ids.count(k->second) != 0) {
          EXPECT_EQ(node, k->second) << "cpu " << raw(cpu) << ": lstopo and sysfs disagree";
        }
        node = k->second;
      }
      if (node) {
        expected_nodes[*node].insert(cpu);
      } else {
        uncovered.insert(cpu);
      }
    });
    if (!uncovered.empty() && !restricted) {
      expected_nodes[expected_nodes.empty() ? 0 : expected_nodes.begin()->first] |= uncovered;
    }
    // In lstopo's cgroup view a CPU's node may be hidden (and no sysfs map
    // says it): those CPUs are left out of the node comparison, and grouped
    // by our node for the package comparison below.
    uncovered.for_each([&](CpuId cpu) {
      if (restricted && m.place(cpu)) hidden_node_cpus[m.place(cpu)->node].insert(cpu);
    });
  }
  if (!restricted) {
    EXPECT_EQ(m.nodes.size(), expected_nodes.size());
  }
  for (const auto& [os, cpus] : expected_nodes) {
    const NumaNode* ours = m.node(os);
    ASSERT_NE(ours, nullptr) << "node " << os;
    EXPECT_EQ(list(ours->cpus & v), list(cpus)) << "node " << os;
  }

  // Packages. Under each node we hold each package's CPUs of that node; by
  // physical id, the union over nodes is lstopo's package. Physical ids need
  // not be unique (16ia64-8n2s: two packages per node share one id), and
  // package_count() counts distinct ids. CPUs outside every Package (a
  // machine without packages, or 40intel64-4n10c+pci-conflicts where hwloc
  // drops package 3 for conflicting with a PCI locality group) share one
  // pseudo-package whose id is 0, or one above the largest real id.
  std::map<unsigned, CpuSet> lstopo_by_id;
  std::vector<CpuSet> lstopo_entries;
  CpuSet in_packages;
  std::set<unsigned> lstopo_ids;
  std::map<int, CpuSet> node_groups = expected_nodes;
  for (const auto& [os, cpus] : hidden_node_cpus) node_groups[os] |= cpus;
  for (const ConsoleObject& o : c.objects) {
    if (o.type != "Package" || o.pus.empty()) continue;  // empty: memory only, in a cgroup view
    // Without a physical id (s390, some ppc) hwloc's logical index stands in,
    // in lstopo's output and in ours.
    const unsigned id = o.os ? *o.os : o.logical;
    lstopo_by_id[id] |= o.pus;
    lstopo_ids.insert(id);
    in_packages |= o.pus;
    for (const auto& [os, cpus] : node_groups) lstopo_entries.push_back(o.pus & cpus);
  }
  const CpuSet orphans = v - in_packages;
  for (const auto& [os, cpus] : node_groups) lstopo_entries.push_back(orphans & cpus);
  const unsigned pseudo_id = lstopo_ids.empty() ? 0 : *lstopo_ids.rbegin() + 1;

  std::vector<CpuSet> our_entries;
  std::map<unsigned, CpuSet> our_by_id;
  for (const NumaNode& n : m.nodes) {
    for (const Package& p : n.packages) {
      our_entries.push_back(p.cpus & v);
      our_by_id[p.os_index] |= p.cpus & v;
      if (lstopo_ids.empty()) {
        EXPECT_EQ(p.cpus, n.cpus) << "the pseudo-package is its whole node";
      }
    }
  }
  std::erase_if(our_by_id, [](const auto& kv) { return kv.second.empty(); });
  EXPECT_EQ(sorted_lists(our_entries), sorted_lists(lstopo_entries)) << "packages under nodes";
  if (!orphans.empty()) {
    // In a cgroup view lstopo may not show the largest package id; then find
    // our pseudo-package by its CPUs.
    unsigned id = pseudo_id;
    if (restricted) {
      for (const auto& [our_id, cpus] : our_by_id) {
        if (cpus == orphans && lstopo_ids.count(our_id) == 0) id = our_id;
      }
    }
    lstopo_by_id[id] = orphans;
  }
  EXPECT_EQ(our_by_id.size(), lstopo_by_id.size());
  for (const auto& [id, cpus] : lstopo_by_id) {
    EXPECT_EQ(list(our_by_id[id]), list(cpus)) << "package P#" << id;
  }
  if (!restricted) {
    EXPECT_EQ(m.package_count(), lstopo_by_id.size());
  }

  // Cores: lstopo's Core objects, and one core per PU that has no Core above
  // it (what we build too).
  std::vector<CpuSet> lstopo_cores, our_cores;
  CpuSet in_cores;
  for (const ConsoleObject& o : c.objects) {
    if (o.type != "Core" || o.pus.empty()) continue;
    lstopo_cores.push_back(o.pus);
    in_cores |= o.pus;
  }
  (v - in_cores).for_each([&](CpuId cpu) { lstopo_cores.push_back(CpuSet{raw(cpu)}); });
  for (const NumaNode& n : m.nodes) {
    for (const Package& p : n.packages) {
      for (const CacheDomain& cd : p.caches) {
        for (const Core& k : cd.cores) our_cores.push_back(k.cpus & v);
      }
    }
  }
  EXPECT_EQ(sorted_lists(our_cores), sorted_lists(lstopo_cores)) << "core CPU sets";
  if (!restricted) {
    EXPECT_EQ(m.core_count(), lstopo_cores.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Machines, CaptureTest, ::testing::ValuesIn([] {
                           auto captures = all_captures();
                           if (captures.empty()) captures.push_back(Capture{});  // one case that skips, saying why
                           return captures;
                         }()),
                         [](const ::testing::TestParamInfo<Capture>& info) {
                           return info.param.name.empty() ? std::string("none") : param_name(info);
                         });

}  // namespace
}  // namespace irqbpfd::topology
