// FakeMachine: the simulated kernel. Owns the fake root's /proc and /sys
// files (complete enough for hwloc and irqbalance: CPU topology, caches,
// NUMA nodes, PCI devices), the per-IRQ state (rate, cost, affinity,
// effective CPU) and the exact cumulative counters; one step() is one tick.
#include "irqbpfd/sim/fake_machine.hpp"
#include "irqbpfd/sim/softirq_charge.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <system_error>

#include "irqbpfd/sys/cpus.hpp"

namespace irqbpfd::sim {
namespace fs = std::filesystem;
using core::CpuId;
using core::CpuSet;
using core::raw;

namespace {

constexpr std::uint64_t kNsPerUserTick = 10'000'000;  // USER_HZ = 100
constexpr std::uint64_t kTimerHz = 250;               // LOC: local timer interrupts per second
constexpr std::int64_t kBootUptimeNs = 1000'000'000'000;  // the machine has been up 1000 s at tick 0

// PCI class code and default driver of a class; nullopt for classes that
// have no device here (legacy IO-APIC lines, Xen event channels).
struct DeviceKind {
  std::uint32_t class_code;
  const char* driver;
  std::optional<std::int64_t> speed_mbps;
};
std::optional<DeviceKind> device_kind(core::IrqClass c) {
  switch (c) {
    case core::IrqClass::kEthernet: return DeviceKind{0x020000, "e1000", std::nullopt};
    case core::IrqClass::kGbitEthernet: return DeviceKind{0x020000, "igb", 1000};
    case core::IrqClass::k10GbitEthernet: return DeviceKind{0x020000, "ixgbe", 10000};
    case core::IrqClass::kStorage: return DeviceKind{0x010802, "nvme", std::nullopt};
    case core::IrqClass::kVideo: return DeviceKind{0x030000, "i915", std::nullopt};
    // A co-processor (PCI class 0x0b40, what accelerators such as QAT
    // report): a class irqbalance knows (IRQ_OTHER), unlike 0xff.
    case core::IrqClass::kOther: return DeviceKind{0x0b4000, "simdev", std::nullopt};
    case core::IrqClass::kLegacy:
    case core::IrqClass::kVirtEvent: return std::nullopt;
  }
  return std::nullopt;
}

// The softirq vector an IRQ of this class raises (for the BPF-style per-CPU
// vector time): NET_RX for network, BLOCK for storage, TASKLET otherwise.
std::size_t softirq_vector(core::IrqClass c) {
  switch (c) {
    case core::IrqClass::kEthernet:
    case core::IrqClass::kGbitEthernet:
    case core::IrqClass::k10GbitEthernet: return 3;
    case core::IrqClass::kStorage: return 4;
    default: return 6;
  }
}

core::Result<void> write_file(const fs::path& path, std::string_view content, unsigned mode = 0644) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return core::errno_error(path.parent_path().string(), ec.value());
  if (::access(path.c_str(), F_OK) == 0) ::chmod(path.c_str(), 0644);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return core::errno_error(path.string(), errno != 0 ? errno : EACCES);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) return core::errno_error(path.string(), errno != 0 ? errno : EIO);
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) return core::errno_error(path.string(), errno);
  return {};
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

struct FakeMachine::IrqState {
  SimIrq spec;
  bool present = true;
  bool shut_down = false;  // managed, and no CPU of its mask online
  double rate = 0;
  double cost_ns = 0;
  double hot = 1;
  double burst = 1;
  std::uint32_t burst_until = 0;
  CpuSet affinity;
  std::optional<CpuId> effective;
  std::string written_mask;  // what smp_affinity holds as last written by the kernel side
  bool files_dirty = true;
  std::map<CpuId, std::uint64_t> proc_counts;  // since allocation (/proc/interrupts)
  struct Cell {
    std::uint64_t count = 0, hardirq_ns = 0, softirq_ns = 0;
    std::uint64_t softirq_charged_ns = 0;  // as the programs charge it (first raiser)
  };
  std::map<CpuId, Cell> exact;  // since the start (BPF maps outlive a re-allocated IRQ)
  std::array<std::uint64_t, collect::kHistBuckets> histogram{};
  std::string chip, hwirq, trigger;
  std::string device;  // PCI address, "" when none
};

struct FakeMachine::Raised {
  CpuId cpu{};
  std::size_t vector = 0;
  IrqState* irq = nullptr;
  std::uint64_t count = 0, hardirq_ns = 0, softirq_ns = 0;  // this tick
};

FakeMachine::FakeMachine(Scenario scenario, topology::Machine machine, fs::path root, bool owned)
    : scenario_(std::move(scenario)),
      machine_(std::move(machine)),
      root_(root),
      sys_root_(root),
      owned_root_(owned),
      clock_(kBootUptimeNs),
      boot_ns_(0),
      rng_(scenario_.seed) {}

FakeMachine::~FakeMachine() {
  if (!owned_root_) return;
  std::error_code ec;
  fs::remove_all(root_, ec);
}

core::Result<std::unique_ptr<FakeMachine>> FakeMachine::create(const Scenario& scenario,
                                                                std::optional<fs::path> root) {
  auto machine = scenario_machine(scenario);
  if (!machine) return machine.error().with_context(fmt::format("scenario {}: topology", scenario.name));
  bool owned = false;
  fs::path dir;
  if (root) {
    if (sys::SysRoot(*root).is_live()) return core::Error{"the simulator never writes to the live root /"};
    std::error_code ec;
    fs::create_directories(*root, ec);
    if (ec) return core::errno_error(root->string(), ec.value());
    dir = *root;
  } else {
    std::string tmpl = (fs::temp_directory_path() / "irqbpfd-sim-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return core::errno_error("mkdtemp " + tmpl, errno);
    dir = tmpl;
    owned = true;
  }
  std::unique_ptr<FakeMachine> m(new FakeMachine(scenario, std::move(*machine), dir, owned));
  m->nr_cpu_ids_ = m->machine_.cpus.last() ? raw(*m->machine_.cpus.last()) + 1 : 1;
  m->online_ = m->machine_.cpus - scenario.offline;

  // Devices: the given address, or one per IRQ on buses from 0x40 up.
  std::map<std::string, std::uint32_t> vectors;  // per device, for hwirq
  std::uint32_t next_bus = 0x40;
  for (const SimIrq& spec : m->scenario_.irqs) {
    auto st = std::make_unique<IrqState>();
    st->spec = spec;
    st->present = spec.present_at_start;
    st->rate = spec.interrupts_per_s;
    st->cost_ns = spec.cost_ns;
    st->affinity = spec.affinity;
    const auto kind = device_kind(spec.irq_class);
    if (kind) {
      st->device = spec.device.empty() ? fmt::format("0000:{:02x}:00.0", next_bus++) : spec.device;
      unsigned bus = 0, slot = 0;
      std::sscanf(st->device.c_str(), "%*x:%x:%x", &bus, &slot);
      // IR-PCI-MSI hwirq: the device id (bus, devfn) shifted left 11, plus the vector.
      st->chip = "IR-PCI-MSI";
      st->hwirq = fmt::format("{}", (((bus << 8) | (slot << 3)) << 11) + vectors[st->device]++);
      st->trigger = "edge";
    } else if (!spec.device.empty()) {
      return core::Error{fmt::format("scenario {}: irq {}: class {} has no PCI device here", scenario.name,
                                     raw(spec.irq), core::to_string(spec.irq_class))};
    } else if (spec.irq_class == core::IrqClass::kVirtEvent) {
      st->chip = "xen-dyn-event";
      st->trigger = "event";
    } else {
      st->chip = "IR-IO-APIC";
      st->hwirq = fmt::format("{}", raw(spec.irq));
      st->trigger = "fasteoi";
    }
    m->irqs_.push_back(std::move(st));
  }
  for (auto& st : m->irqs_) m->place(*st, /*initial=*/true);
  if (auto r = m->write_static_files(); !r) return r.error();
  if (auto r = m->write_tick_files(); !r) return r.error();
  return m;
}

std::optional<CpuId> FakeMachine::effective_cpu(core::IrqNumber irq) const {
  for (const auto& st : irqs_) {
    if (st->spec.irq == irq) return st->present ? st->effective : std::nullopt;
  }
  return std::nullopt;
}

std::optional<CpuSet> FakeMachine::affinity(core::IrqNumber irq) const {
  for (const auto& st : irqs_) {
    if (st->spec.irq == irq && st->present) return st->affinity;
  }
  return std::nullopt;
}

double FakeMachine::noise() {
  // Uniform in [-1, 1), from the top 53 bits: the same on every libstdc++.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  return 2.0 * u - 1.0;
}

// The x86 vector allocator's rule (arch/x86/kernel/apic/vector.c): one
// effective CPU per mask. A new mask keeps the IRQ where it is when its
// current CPU is online and in the mask (assign_vector_locked: "no point in
// moving"); otherwise the online CPU of the mask with the fewest vectors in
// use takes it (the matrix allocator's best CPU), lowest id on ties. At
// creation (`initial`) the scenario's boot state is taken literally: the
// first online CPU of the initial mask. A mask with no CPU online: a managed
// IRQ is shut down (the kernel stops its queue); any other breaks affinity to
// every online CPU, as the kernel's migrate_one_irq() does.
void FakeMachine::place(IrqState& irq, bool initial) {
  const CpuSet usable = irq.affinity & online_;
  irq.shut_down = false;
  irq.files_dirty = true;
  if (usable.empty()) {
    if (irq.spec.managed) {
      irq.effective.reset();
      irq.shut_down = true;
      return;
    }
    irq.affinity = online_;
  }
  const CpuSet in_mask = irq.affinity & online_;
  if (initial) {
    irq.effective = in_mask.first();
    return;
  }
  if (irq.effective && in_mask.contains(*irq.effective)) return;
  std::vector<std::uint32_t> vectors(nr_cpu_ids_, 0);
  for (const auto& other : irqs_) {
    if (other.get() != &irq && other->present && other->effective) ++vectors[raw(*other->effective)];
  }
  std::optional<CpuId> best;
  in_mask.for_each([&](CpuId c) {
    if (!best || vectors[raw(c)] < vectors[raw(*best)]) best = c;
  });
  irq.effective = best;
}

void FakeMachine::cpu_offline(CpuId cpu, TickFacts& facts) {
  online_.erase(cpu);
  for (auto& st : irqs_) {
    if (!st->present || st->effective != cpu) continue;
    {
      const CpuSet before = st->affinity;
      place(*st);
      if (st->shut_down) {
        facts.notes.push_back(fmt::format("irq {}: managed, mask {} offline: shut down", raw(st->spec.irq),
                                          before.to_list()));
      } else if (!(before == st->affinity)) {
        facts.notes.push_back(fmt::format("irq {}: affinity {} broken: now {} on cpu {}", raw(st->spec.irq),
                                          before.to_list(), st->affinity.to_list(), raw(*st->effective)));
      } else {
        facts.notes.push_back(fmt::format("irq {}: moved to cpu {} (mask {})", raw(st->spec.irq),
                                          raw(*st->effective), st->affinity.to_list()));
      }
    }
  }
}

core::Result<void> FakeMachine::apply_event(const SimEvent& e, TickFacts& facts) {
  IrqState* irq = nullptr;
  if (e.irq) {
    for (auto& st : irqs_) {
      if (st->spec.irq == *e.irq) irq = st.get();
    }
    if (irq == nullptr) return core::Error{fmt::format("event {}: irq {} unknown", to_string(e.kind), raw(*e.irq))};
  }
  switch (e.kind) {
    case EventKind::kRate:
      irq->rate = e.rate;
      facts.notes.push_back(fmt::format("irq {}: rate {}/s", raw(*e.irq), e.rate));
      break;
    case EventKind::kCost:
      irq->cost_ns = e.cost_ns;
      facts.notes.push_back(fmt::format("irq {}: cost {} ns", raw(*e.irq), e.cost_ns));
      break;
    case EventKind::kBurst:
      irq->burst = e.factor;
      irq->burst_until = tick_ + e.duration_ticks;
      facts.notes.push_back(fmt::format("irq {}: burst x{} for {} ticks", raw(*e.irq), e.factor, e.duration_ticks));
      break;
    case EventKind::kHot:
      irq->hot = e.factor;
      facts.notes.push_back(fmt::format("irq {}: hot x{}", raw(*e.irq), e.factor));
      break;
    case EventKind::kCpuOffline:
      if (!online_.contains(*e.cpu)) break;
      if (online_.count() == 1) return core::Error{fmt::format("event cpu-offline: cpu {} is the last one", raw(*e.cpu))};
      facts.notes.push_back(fmt::format("cpu {} offline", raw(*e.cpu)));
      cpu_offline(*e.cpu, facts);
      break;
    case EventKind::kCpuOnline:
      if (online_.contains(*e.cpu)) break;
      online_.insert(*e.cpu);
      facts.notes.push_back(fmt::format("cpu {} online", raw(*e.cpu)));
      for (auto& st : irqs_) {
        if (st->present && st->shut_down && st->affinity.contains(*e.cpu)) place(*st);  // managed queue restarts
      }
      break;
    case EventKind::kIrqAppears:
      if (irq->present) break;
      irq->present = true;
      irq->affinity = irq->spec.affinity;
      irq->effective.reset();  // a new allocation: the allocator picks
      irq->proc_counts.clear();
      place(*irq);
      facts.notes.push_back(fmt::format("irq {} appears ({})", raw(*e.irq), irq->spec.name));
      break;
    case EventKind::kIrqVanishes:
      if (!irq->present) break;
      irq->present = false;
      irq->effective.reset();
      facts.notes.push_back(fmt::format("irq {} vanishes", raw(*e.irq)));
      break;
  }
  return {};
}

// Reads back /proc/irq/N/smp_affinity: a write since the last tick becomes
// the IRQ's affinity, or is refused (the file restored) when the kernel
// would have: an unparsable mask, no online CPU in it, or a managed IRQ.
core::Result<void> FakeMachine::pick_up_affinity(IrqState& irq, TickFacts& facts) {
  const std::string path = fmt::format("/proc/irq/{}/smp_affinity", raw(irq.spec.irq));
  auto text = sys_root_.read(path);
  if (!text) return text.error();
  const std::string now = trim(*text);
  if (now == irq.written_mask) return {};
  auto mask = CpuSet::parse_mask(now);
  std::string refusal;
  if (!mask) {
    refusal = mask.error().message;
  } else if (irq.spec.managed) {
    refusal = "kernel-managed";
  } else if (!mask->intersects(online_)) {
    refusal = fmt::format("no online CPU in {}", mask->to_list());
  }
  if (!refusal.empty()) {
    ++facts.refused_writes;
    facts.refused.push_back(irq.spec.irq);
    facts.notes.push_back(fmt::format("irq {}: write '{}' refused: {}", raw(irq.spec.irq), now, refusal));
    irq.files_dirty = true;  // restore
    return {};
  }
  ++facts.affinity_changes;
  irq.affinity = *mask;
  place(irq);
  return {};
}

core::Result<TickFacts> FakeMachine::step() {
  TickFacts facts;
  facts.tick = tick_;
  // Writes made since the last tick first (they happened before anything
  // this tick), then this tick's events.
  for (auto& st : irqs_) {
    if (!st->present) continue;
    if (auto r = pick_up_affinity(*st, facts); !r) return r.error();
  }
  for (const SimEvent& e : scenario_.events) {
    if (e.at_tick != tick_) continue;
    if (auto r = apply_event(e, facts); !r) return r.error();
  }

  // Count. The noise draw happens for every declared IRQ every tick, so the
  // loads do not depend on where the balancer put anything.
  facts.online = online_;
  online_.for_each([&](CpuId c) { facts.cpu_load_ns[c] = 0; });
  const double tick_s = scenario_.tick_s;
  std::vector<Raised> raised;
  for (auto& st : irqs_) {
    const double u = noise();
    if (!st->present) continue;
    IrqTick t;
    t.irq = st->spec.irq;
    t.affinity = st->affinity;
    t.managed = st->spec.managed;
    t.banned = scenario_.policy.banned_irqs.count(st->spec.irq) != 0;
    t.cpu = st->effective;
    if (st->effective) {
      const double factor = st->hot * (tick_ < st->burst_until ? st->burst : 1.0);
      const double expected = st->rate * factor * tick_s * (1.0 + scenario_.noise_pct / 100.0 * u);
      t.count = static_cast<std::uint64_t>(std::llround(std::max(0.0, expected)));
      t.load_ns = static_cast<std::uint64_t>(std::llround(static_cast<double>(t.count) * st->cost_ns));
      const auto soft = static_cast<std::uint64_t>(std::llround(static_cast<double>(t.load_ns) * st->spec.softirq_share));
      const std::uint64_t hard = t.load_ns - soft;
      const CpuId c = *st->effective;
      st->proc_counts[c] += t.count;
      auto& cell = st->exact[c];
      cell.count += t.count;
      cell.hardirq_ns += hard;
      cell.softirq_ns += soft;
      if (t.count > 0) {
        const double per = std::max(1.0, static_cast<double>(hard) / static_cast<double>(t.count));
        const auto bucket = std::min<std::size_t>(static_cast<std::size_t>(std::log2(per)), collect::kHistBuckets - 1);
        st->histogram[bucket] += t.count;
      }
      hardirq_ns_[c] += hard;
      softirq_ns_[c] += soft;
      facts.cpu_load_ns[c] += t.load_ns;
      if (soft > 0) raised.push_back({c, softirq_vector(st->spec.irq_class), st.get(), t.count, hard, soft});
    }
    facts.irqs.push_back(t);
  }
  charge_softirq(raised);
  online_.for_each([&](CpuId c) { loc_[c] += static_cast<std::uint64_t>(std::llround(kTimerHz * tick_s)); });

  clock_.sleep_ns(static_cast<std::int64_t>(std::llround(tick_s * 1e9)));
  ++tick_;
  if (auto r = write_tick_files(); !r) return r.error();
  return facts;
}

core::Result<void> FakeMachine::write_static_files() {
  const auto put = [&](std::string_view kernel_path, const std::string& text) {
    return write_file(sys_root_.path(kernel_path), text);
  };
  const std::string all = machine_.cpus.to_list() + "\n";
  if (auto r = put("/sys/devices/system/cpu/possible", all); !r) return r;
  if (auto r = put("/sys/devices/system/cpu/present", all); !r) return r;
  if (auto r = put("/sys/devices/system/cpu/isolated", scenario_.isolated.to_list() + "\n"); !r) return r;
  if (auto r = put("/sys/devices/system/cpu/nohz_full",
                   scenario_.nohz_full.empty() ? std::string("(null)\n") : scenario_.nohz_full.to_list() + "\n");
      !r) {
    return r;
  }
  if (auto r = put("/sys/devices/system/cpu/kernel_max", fmt::format("{}\n", std::max(nr_cpu_ids_, 8192U) - 1)); !r) {
    return r;
  }
  if (auto r = put("/proc/irq/default_smp_affinity", machine_.cpus.to_mask(nr_cpu_ids_) + "\n"); !r) return r;
  if (auto r = write_cpu_topology_files(); !r) return r;
  if (auto r = write_node_files(); !r) return r;

  // PCI devices: class, node, local CPUs, driver link, MSI vectors, and a
  // network interface with its link speed for ethernet.
  std::set<std::string> done;
  std::uint32_t eth = 0;
  for (const auto& st : irqs_) {
    if (st->device.empty() || !done.insert(st->device).second) continue;
    const auto kind = *device_kind(st->spec.irq_class);
    const std::string dir = "/sys/bus/pci/devices/" + st->device;
    if (auto r = put(dir + "/class", fmt::format("0x{:06x}\n", kind.class_code)); !r) return r;
    if (auto r = put(dir + "/vendor", "0x8086\n"); !r) return r;
    if (auto r = put(dir + "/device", "0x1234\n"); !r) return r;
    if (auto r = put(dir + "/numa_node", fmt::format("{}\n", st->spec.node)); !r) return r;
    CpuSet local = machine_.cpus;
    if (const topology::NumaNode* n = st->spec.node >= 0 ? machine_.node(st->spec.node) : nullptr) local = n->cpus;
    if (auto r = put(dir + "/local_cpulist", local.to_list() + "\n"); !r) return r;
    if (auto r = put(dir + "/local_cpus", local.to_mask(nr_cpu_ids_) + "\n"); !r) return r;
    if (auto r = put(dir + "/subsystem_vendor", "0x8086\n"); !r) return r;
    if (auto r = put(dir + "/subsystem_device", "0x0001\n"); !r) return r;
    if (auto r = put(dir + "/enable", "1\n"); !r) return r;
    if (auto r = put(dir + "/irq", "0\n"); !r) return r;
    const std::string driver = st->spec.driver.empty() ? std::string(kind.driver) : st->spec.driver;
    const fs::path link = sys_root_.path(dir + "/driver");
    std::error_code ec;
    fs::remove(link, ec);
    fs::create_symlink("../../../bus/pci/drivers/" + driver, link, ec);
    if (ec) return core::errno_error(link.string(), ec.value());
    if (kind.class_code >> 16 == 0x02) {
      const std::string net = fmt::format("{}/net/eth{}", dir, eth++);
      if (auto r = put(net + "/speed", fmt::format("{}\n", kind.speed_mbps.value_or(-1))); !r) return r;
    }
  }
  for (const auto& st : irqs_) {
    if (st->device.empty() || !st->present) continue;
    if (auto r = put(fmt::format("/sys/bus/pci/devices/{}/msi_irqs/{}", st->device, raw(st->spec.irq)), "msix\n"); !r) {
      return r;
    }
  }
  return {};
}

// /sys/devices/system/cpu/cpuN/{topology,cache,nodeM}: the scenario's tree as
// the x86 kernel shows it (drivers/base/topology.c, cacheinfo.c), masks in
// the width of nr_cpu_ids. For cpu3 of "pack:1 l3:1 core:4 pu:2":
//   topology/physical_package_id  0
//   topology/core_id              1
//   topology/thread_siblings      0c   (= core_cpus: its SMT siblings)
//   topology/core_siblings        ff   (= package_cpus)
//   cache/index3/{level,type,shared_cpu_map}  3, Unified, ff
//   node0 -> ../../node/node0
// The synthetic string names the shared cache (l3, or l2); below it every
// core gets the private caches x86 has: index0 L1d, index1 L1i, index2 L2
// (then index3 the shared L3). irqbalance's cache domains come from index2
// (its --deepestcache=2), hwloc reads them all.
core::Result<void> FakeMachine::write_cpu_topology_files() {
  const auto put = [&](const std::string& kernel_path, const std::string& text) {
    return write_file(sys_root_.path(kernel_path), text);
  };
  std::map<unsigned, CpuSet> package_cpus;  // by physical id, across nodes
  for (const topology::NumaNode& n : machine_.nodes) {
    for (const topology::Package& p : n.packages) package_cpus[p.os_index] |= p.cpus;
  }
  struct CacheFile {
    unsigned level;
    const char* type;
    std::uint64_t size_kb;
    unsigned ways;
    unsigned id;
    CpuSet cpus;
  };
  for (const topology::NumaNode& n : machine_.nodes) {
    for (const topology::Package& p : n.packages) {
      for (const topology::CacheDomain& cache : p.caches) {
        for (const topology::Core& core : cache.cores) {
          std::vector<CacheFile> caches = {{1, "Data", 48, 12, core.index, core.cpus},
                                           {1, "Instruction", 32, 8, core.index, core.cpus}};
          const std::uint64_t shared_kb = cache.size_bytes > 0 ? cache.size_bytes / 1024 : 32768;
          if (cache.level == 2) {
            caches.push_back({2, "Unified", shared_kb, 16, cache.index, cache.cpus});
          } else {
            caches.push_back({2, "Unified", 2048, 16, core.index, core.cpus});
            if (cache.level >= 3) caches.push_back({cache.level, "Unified", shared_kb, 16, cache.index, cache.cpus});
          }
          for (CpuId c : core.cpus.to_vector()) {
            const std::string dir = fmt::format("/sys/devices/system/cpu/cpu{}", raw(c));
            const CpuSet& pkg = package_cpus[p.os_index];
            const std::string thread_mask = core.cpus.to_mask(nr_cpu_ids_) + "\n";
            const std::string thread_list = core.cpus.to_list() + "\n";
            const std::string pkg_mask = pkg.to_mask(nr_cpu_ids_) + "\n";
            const std::string pkg_list = pkg.to_list() + "\n";
            const std::pair<const char*, std::string> topo[] = {
                {"physical_package_id", fmt::format("{}\n", p.os_index)},
                {"die_id", "0\n"},
                {"core_id", fmt::format("{}\n", core.os_index)},
                {"thread_siblings", thread_mask},
                {"thread_siblings_list", thread_list},
                {"core_cpus", thread_mask},
                {"core_cpus_list", thread_list},
                {"core_siblings", pkg_mask},
                {"core_siblings_list", pkg_list},
                {"package_cpus", pkg_mask},
                {"package_cpus_list", pkg_list},
                {"die_cpus", pkg_mask},
                {"die_cpus_list", pkg_list},
            };
            for (const auto& [name, text] : topo) {
              if (auto r = put(dir + "/topology/" + name, text); !r) return r;
            }
            for (std::size_t k = 0; k < caches.size(); ++k) {
              const CacheFile& cf = caches[k];
              const std::string idx = fmt::format("{}/cache/index{}/", dir, k);
              constexpr unsigned kLine = 64;
              const std::pair<const char*, std::string> files[] = {
                  {"level", fmt::format("{}\n", cf.level)},
                  {"type", fmt::format("{}\n", cf.type)},
                  {"size", fmt::format("{}K\n", cf.size_kb)},
                  {"id", fmt::format("{}\n", cf.id)},
                  {"coherency_line_size", fmt::format("{}\n", kLine)},
                  {"ways_of_associativity", fmt::format("{}\n", cf.ways)},
                  {"number_of_sets", fmt::format("{}\n", cf.size_kb * 1024 / (kLine * cf.ways))},
                  {"physical_line_partition", "1\n"},
                  {"shared_cpu_map", cf.cpus.to_mask(nr_cpu_ids_) + "\n"},
                  {"shared_cpu_list", cf.cpus.to_list() + "\n"},
              };
              for (const auto& [name, text] : files) {
                if (auto r = put(idx + name, text); !r) return r;
              }
            }
            const fs::path link = sys_root_.path(fmt::format("{}/node{}", dir, n.os_index));
            std::error_code ec;
            fs::remove(link, ec);
            fs::create_symlink(fmt::format("../../node/node{}", n.os_index), link, ec);
            if (ec) return core::errno_error(link.string(), ec.value());
          }
        }
      }
    }
  }
  return {};
}

// /sys/devices/system/node: one nodeM per NUMA node (node0 on a machine
// without NUMA, as a CONFIG_NUMA kernel shows it) with its cpumap, cpulist
// and meminfo, and the node lists ("0-1").
core::Result<void> FakeMachine::write_node_files() {
  std::set<int> ids;
  for (const topology::NumaNode& n : machine_.nodes) {
    ids.insert(n.os_index);
    const std::string dir = fmt::format("/sys/devices/system/node/node{}", n.os_index);
    if (auto r = write_file(sys_root_.path(dir + "/cpumap"), n.cpus.to_mask(nr_cpu_ids_) + "\n"); !r) return r;
    if (auto r = write_file(sys_root_.path(dir + "/cpulist"), n.cpus.to_list() + "\n"); !r) return r;
    // drivers/base/node.c: "Node %d MemTotal:       %8lu kB"
    constexpr std::uint64_t kTotalKb = 16 * 1024 * 1024, kUsedKb = 1024 * 1024;
    const std::string meminfo = fmt::format(
        "Node {0} MemTotal:       {1:>8} kB\nNode {0} MemFree:        {2:>8} kB\nNode {0} MemUsed:        {3:>8} kB\n",
        n.os_index, kTotalKb, kTotalKb - kUsedKb, kUsedKb);
    if (auto r = write_file(sys_root_.path(dir + "/meminfo"), meminfo); !r) return r;
  }
  CpuSet nodes;
  for (int id : ids) nodes.insert(core::cpu_id(static_cast<std::uint32_t>(id)));  // a node list parses like a CPU list
  const std::string list = nodes.to_list() + "\n";
  for (const char* name : {"online", "possible", "has_cpu", "has_memory", "has_normal_memory"}) {
    if (auto r = write_file(sys_root_.path(fmt::format("/sys/devices/system/node/{}", name)), list); !r) return r;
  }
  return {};
}

// cpuN/online ("1" or "0") and the offline list, rewritten when a hotplug
// event changed the online set (the online list is written every tick).
core::Result<void> FakeMachine::write_cpu_online_files() {
  if (online_written_ && *online_written_ == online_) return {};
  for (CpuId c : machine_.cpus.to_vector()) {
    const std::string path = fmt::format("/sys/devices/system/cpu/cpu{}/online", raw(c));
    if (auto r = write_file(sys_root_.path(path), online_.contains(c) ? "1\n" : "0\n"); !r) return r;
  }
  if (auto r = write_file(sys_root_.path("/sys/devices/system/cpu/offline"), (machine_.cpus - online_).to_list() + "\n");
      !r) {
    return r;
  }
  online_written_ = online_;
  return {};
}

core::Result<void> FakeMachine::write_irq_files(IrqState& irq) {
  const std::string dir = fmt::format("/proc/irq/{}", raw(irq.spec.irq));
  const std::string msi = irq.device.empty()
                              ? std::string()
                              : fmt::format("/sys/bus/pci/devices/{}/msi_irqs/{}", irq.device, raw(irq.spec.irq));
  if (!irq.present) {
    std::error_code ec;
    fs::remove_all(sys_root_.path(dir), ec);
    if (!msi.empty()) fs::remove(sys_root_.path(msi), ec);
    irq.written_mask.clear();
    return {};
  }
  if (!irq.files_dirty) return {};
  const auto put = [&](const std::string& name, const std::string& text, unsigned mode = 0444) {
    return write_file(sys_root_.path(dir + "/" + name), text, mode);
  };
  irq.written_mask = irq.affinity.to_mask(nr_cpu_ids_);
  // Kernel-managed IRQs get a read-only smp_affinity (the signal the real
  // inventory reads); the others are root-writable.
  if (auto r = put("smp_affinity", irq.written_mask + "\n", irq.spec.managed ? 0444 : 0644); !r) return r;
  if (auto r = put("smp_affinity_list", irq.affinity.to_list() + "\n", irq.spec.managed ? 0444 : 0644); !r) return r;
  const CpuSet eff = irq.effective ? CpuSet{raw(*irq.effective)} : CpuSet{};
  if (auto r = put("effective_affinity", eff.to_mask(nr_cpu_ids_) + "\n"); !r) return r;
  if (auto r = put("effective_affinity_list", eff.to_list() + "\n"); !r) return r;
  if (auto r = put("node", fmt::format("{}\n", irq.spec.node)); !r) return r;
  if (!msi.empty()) {
    if (auto r = write_file(sys_root_.path(msi), "msix\n"); !r) return r;
  }
  irq.files_dirty = false;
  return {};
}

// /proc/interrupts, /proc/stat, /proc/uptime, the online CPU list and the
// per-IRQ files, as they read at the end of the tick.
core::Result<void> FakeMachine::write_tick_files() {
  for (auto& st : irqs_) {
    if (auto r = write_irq_files(*st); !r) return r;
  }
  const std::vector<CpuId> cpus = online_.to_vector();

  // The x86 layout (arch/x86/kernel/irq.c, kernel/irq/proc.c):
  //              CPU0       CPU1
  //    40:       1200          0  IR-PCI-MSI 524288-edge      eth0-TxRx-0
  //   LOC:       2500       2500   Local timer interrupts
  std::uint32_t top = 0;
  for (const auto& st : irqs_) top = std::max(top, raw(st->spec.irq));
  const int prec = std::max<int>(3, static_cast<int>(fmt::format("{}", top).size()));
  std::string text = fmt::format("{:{}}", "", prec + 8);
  for (CpuId c : cpus) text += fmt::format("CPU{:<8}", raw(c));
  text += "\n";
  std::uint64_t intr_total = 0;
  std::vector<std::uint64_t> intr(top + 1, 0);
  for (const auto& st : irqs_) {
    if (!st->present) continue;
    text += fmt::format("{:>{}}: ", raw(st->spec.irq), prec);
    for (CpuId c : cpus) {
      // The kernel's per-CPU count is an unsigned int: it wraps.
      auto it = st->proc_counts.find(c);
      text += fmt::format("{:>10} ", it == st->proc_counts.end() ? 0U : static_cast<std::uint32_t>(it->second));
    }
    text += fmt::format(" {:>8}", st->chip);
    text += st->hwirq.empty() ? fmt::format(" {:{}}", "", prec) : fmt::format(" {:>{}}", st->hwirq, prec);
    text += fmt::format("-{:<8}  {}\n", st->trigger, st->spec.name);
    for (const auto& [c, n] : st->proc_counts) {
      intr_total += n;
      intr[raw(st->spec.irq)] += n;
    }
  }
  text += fmt::format("{:>{}}: ", "NMI", prec);
  for (std::size_t i = 0; i < cpus.size(); ++i) text += fmt::format("{:>10} ", 0);
  text += "  Non-maskable interrupts\n";
  text += fmt::format("{:>{}}: ", "LOC", prec);
  for (CpuId c : cpus) text += fmt::format("{:>10} ", static_cast<std::uint32_t>(loc_[c]));
  text += "  Local timer interrupts\n";
  text += fmt::format("{:>{}}: {:>10}\n", "ERR", prec, 0);
  text += fmt::format("{:>{}}: {:>10}\n", "MIS", prec, 0);
  if (auto r = write_file(sys_root_.path("/proc/interrupts"), text, 0444); !r) return r;

  // /proc/stat: kernel-style whole USER_HZ ticks of the exact cumulative
  // nanoseconds (IRQ_TIME_ACCOUNTING), so the remainder carries over.
  const double uptime_s = static_cast<double>(clock_.monotonic_ns() - boot_ns_) / 1e9;
  const auto uptime_ticks = static_cast<std::uint64_t>(uptime_s * 100.0);
  std::string stat;
  std::string lines;
  std::uint64_t t_irq = 0, t_soft = 0, t_idle = 0;
  for (CpuId c : cpus) {
    const std::uint64_t irq = hardirq_ns_[c] / kNsPerUserTick;
    const std::uint64_t soft = softirq_ns_[c] / kNsPerUserTick;
    const std::uint64_t idle = uptime_ticks > irq + soft ? uptime_ticks - irq - soft : 0;
    lines += fmt::format("cpu{} 0 0 0 {} 0 {} {} 0 0 0\n", raw(c), idle, irq, soft);
    t_irq += irq;
    t_soft += soft;
    t_idle += idle;
  }
  stat = fmt::format("cpu  0 0 0 {} 0 {} {} 0 0 0\n", t_idle, t_irq, t_soft) + lines;
  stat += fmt::format("intr {}", intr_total);
  for (std::uint64_t n : intr) stat += fmt::format(" {}", n);
  stat += "\nctxt 0\nbtime 1700000000\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n";
  stat += "softirq 0 0 0 0 0 0 0 0 0 0 0\n";
  if (auto r = write_file(sys_root_.path("/proc/stat"), stat, 0444); !r) return r;
  if (auto r = write_file(sys_root_.path("/proc/uptime"), fmt::format("{:.2f} {:.2f}\n", uptime_s, uptime_s), 0444);
      !r) {
    return r;
  }
  if (auto r = write_cpu_online_files(); !r) return r;
  return write_file(sys_root_.path("/sys/devices/system/cpu/online"), online_.to_list() + "\n", 0444);
}

// The programs' charge of this tick's softirq time: per (CPU, vector), the
// first-raiser shares of the IRQs raising it there, from a replay seeded by
// (scenario seed, tick, CPU, vector), so it does not draw from the noise
// stream. A lone raiser is charged exactly its own time.
void FakeMachine::charge_softirq(const std::vector<Raised>& raised) {
  std::map<std::pair<CpuId, std::size_t>, std::vector<const Raised*>> groups;
  for (const Raised& r : raised) groups[{r.cpu, r.vector}].push_back(&r);
  const double tick_s = scenario_.tick_s;
  for (const auto& [key, group] : groups) {
    if (group.size() == 1) {
      group[0]->irq->exact[key.first].softirq_charged_ns += group[0]->softirq_ns;
      continue;
    }
    std::vector<Raiser> in;
    for (const Raised* r : group) {
      const auto n = static_cast<double>(std::max<std::uint64_t>(r->count, 1));
      in.push_back({static_cast<double>(r->count) / tick_s, static_cast<double>(r->hardirq_ns) / n,
                    static_cast<double>(r->softirq_ns) / n});
    }
    std::uint64_t seed = scenario_.seed ^ 0x9e3779b97f4a7c15ULL;
    for (std::uint64_t part : {std::uint64_t{tick_}, std::uint64_t{raw(key.first)}, std::uint64_t{key.second}}) {
      seed = (seed ^ part) * 0xbf58476d1ce4e5b9ULL;
      seed ^= seed >> 31;
    }
    const auto shares = first_raiser_shares(in, seed);
    std::vector<double> charged(group.size(), 0.0);
    for (std::size_t j = 0; j < group.size(); ++j) {
      for (std::size_t o = 0; o < group.size(); ++o) charged[o] += shares[j][o] * static_cast<double>(group[j]->softirq_ns);
    }
    // Whole nanoseconds that add up to the time raised: the remainder of
    // the rounding goes to the largest share.
    std::uint64_t total = 0, given = 0;
    std::size_t largest = 0;
    for (std::size_t o = 0; o < group.size(); ++o) {
      total += group[o]->softirq_ns;
      if (charged[o] > charged[largest]) largest = o;
    }
    std::vector<std::uint64_t> whole(group.size());
    for (std::size_t o = 0; o < group.size(); ++o) {
      whole[o] = static_cast<std::uint64_t>(std::floor(charged[o]));
      given += whole[o];
    }
    whole[largest] += total - std::min(total, given);
    for (std::size_t o = 0; o < group.size(); ++o) group[o]->irq->exact[key.first].softirq_charged_ns += whole[o];
  }
}

collect::BpfReading FakeMachine::exact_reading(SoftirqCharge charge) const {
  collect::BpfReading out;
  std::uint32_t top = 0;
  for (const auto& st : irqs_) top = std::max(top, raw(st->spec.irq));
  std::uint32_t max_irqs = 64;
  while (max_irqs < top + 1 + 64) max_irqs *= 2;
  out.sizing = {max_irqs, nr_cpu_ids_};
  out.mode = collect::AttachMode::kRawTp;
  out.cpus.resize(nr_cpu_ids_);
  for (std::uint32_t c = 0; c < nr_cpu_ids_; ++c) out.cpus[c].cpu = core::cpu_id(c);
  for (const auto& st : irqs_) {
    const std::size_t vec = softirq_vector(st->spec.irq_class);
    bool any = false;
    for (const auto& [c, cell] : st->exact) {
      const std::uint64_t soft = charge == SoftirqCharge::kOracle ? cell.softirq_ns : cell.softirq_charged_ns;
      out.cells.push_back({st->spec.irq, c, cell.count, cell.hardirq_ns, soft});
      any = any || cell.count > 0;
      collect::BpfCpu& bc = out.cpus[raw(c)];
      bc.softirq_ns[vec] += cell.softirq_ns;
      if (cell.softirq_ns > 0) {
        bc.softirq_runs[vec] += cell.count;
        bc.attributed_runs[vec] += cell.count;
        bc.raises[vec] += cell.count;
        bc.raises_in_hardirq[vec] += cell.count;
      }
    }
    if (any) out.histograms.push_back({st->spec.irq, st->histogram});
  }
  // irqs_ is ascending by IRQ and each exact map by CPU: cells are sorted.
  return out;
}

core::Result<void> write_affinity(const sys::SysRoot& root, core::IrqNumber irq, const CpuSet& mask,
                                  std::uint32_t nr_cpu_ids) {
  const std::string kernel_path = fmt::format("/proc/irq/{}/smp_affinity", raw(irq));
  const std::string what = fmt::format("irq {}: smp_affinity", raw(irq));
  if (mask.empty()) return core::Error{what + ": empty mask (EINVAL)", EINVAL};
  auto mode = root.mode(kernel_path);
  if (!mode) return core::Error{fmt::format("{}: {}", what, mode.error().message), mode.error().errno_value};
  // Root ignores the mode bits on a plain file system; the kernel does not.
  if ((*mode & 0200U) == 0) return core::Error{what + ": kernel-managed (EIO)", EIO};
  return write_file(root.path(kernel_path), mask.to_mask(nr_cpu_ids) + "\n", *mode);
}

}  // namespace irqbpfd::sim
