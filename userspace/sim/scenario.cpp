// Scenario files: TOML -> Scenario, with every key checked (unknown keys are
// errors, so a typo does not silently fall back to a default) and every error
// naming the file and the key ("burst.toml: event[1].irq: IRQ 99 is not declared").
#include "irqbpfd/sim/scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include "irqbpfd/core/toml_keys.hpp"
#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::sim {
namespace {

using core::Error;
using core::Result;

using Keys = core::TomlKeys;
#define SIM_TRY IRQBPFD_TRY

Result<std::uint32_t> non_negative_u32(Keys& keys, std::string_view key, std::optional<std::int64_t> v,
                                       std::uint32_t fallback) {
  if (!v) return fallback;
  if (*v < 0 || *v > 0xffffffffLL) return keys.error(key, fmt::format("{} is out of range", *v));
  return static_cast<std::uint32_t>(*v);
}

Result<void> parse_policy(const toml::table& t, std::string_view source, balance::Policy& p) {
  Keys k(t, "policy.", source);
  SIM_TRY(numa, k.string("numa"));
  if (numa) {
    if (*numa == "strict") {
      p.numa = balance::NumaPolicy::kStrict;
    } else if (*numa == "prefer") {
      p.numa = balance::NumaPolicy::kPrefer;
    } else {
      return k.error("numa", fmt::format("expected \"strict\" or \"prefer\", found \"{}\"", *numa));
    }
  }
  SIM_TRY(banned, k.cpus("banned_cpus"));
  if (banned) p.banned_cpus = *banned;
  if (const toml::node* n = k.get("banned_irqs")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) return k.error("banned_irqs", "expected an array of IRQ numbers");
    for (const toml::node& e : *a) {
      if (!e.is_integer() || *e.value<std::int64_t>() < 0) return k.error("banned_irqs", "expected IRQ numbers");
      p.banned_irqs.insert(core::irq_number(static_cast<std::uint32_t>(*e.value<std::int64_t>())));
    }
  }
  SIM_TRY(gain_pct, k.number("min_gain_pct"));
  if (gain_pct) p.min_gain_pct = *gain_pct;
  SIM_TRY(gain_ns, k.integer("min_gain_ns"));
  if (gain_ns) {
    if (*gain_ns < 0) return k.error("min_gain_ns", "must be >= 0");
    p.min_gain_ns = static_cast<std::uint64_t>(*gain_ns);
  }
  SIM_TRY(floor_pct, k.number("min_gain_floor_pct"));
  if (floor_pct) {
    if (*floor_pct < 0 || *floor_pct > 100) return k.error("min_gain_floor_pct", "must be within 0..100");
    p.min_gain_floor_pct = *floor_pct;
  }
  SIM_TRY(write_cost, k.integer("write_cost_ns"));
  if (write_cost) {
    if (*write_cost < 0) return k.error("write_cost_ns", "must be >= 0");
    p.write_cost_ns = static_cast<std::uint64_t>(*write_cost);
  }
  SIM_TRY(cooldown, k.integer("cooldown_cycles"));
  SIM_TRY(cooldown_v, non_negative_u32(k, "cooldown_cycles", cooldown, p.cooldown_cycles));
  p.cooldown_cycles = cooldown_v;
  SIM_TRY(max_moves, k.integer("max_moves_per_cycle"));
  SIM_TRY(max_moves_v, non_negative_u32(k, "max_moves_per_cycle", max_moves, p.max_moves_per_cycle));
  p.max_moves_per_cycle = max_moves_v;
  SIM_TRY(smt, k.number("smt_sibling_weight"));
  if (smt) p.smt_sibling_weight = *smt;
  SIM_TRY(power, k.integer("power_threshold"));
  if (power) {
    SIM_TRY(power_v, non_negative_u32(k, "power_threshold", power, 0));
    p.power_threshold = power_v;
  }
  SIM_TRY(saturation, k.number("saturation"));
  if (saturation) p.saturation = *saturation;
  return k.no_unknown_keys();
}

Result<SimIrq> parse_irq(const toml::table& t, std::size_t index, std::string_view source) {
  Keys k(t, fmt::format("irq[{}].", index), source);
  SimIrq irq;
  SIM_TRY(number, k.integer("number"));
  if (!number) return k.error("number", "required");
  if (*number < 0 || *number > 0xffffff) return k.error("number", fmt::format("{} is out of range", *number));
  irq.irq = core::irq_number(static_cast<std::uint32_t>(*number));
  SIM_TRY(name, k.string("name"));
  irq.name = name.value_or(fmt::format("sim{}", *number));
  if (irq.name.empty()) return k.error("name", "must not be empty");
  SIM_TRY(cls, k.string("class"));
  if (cls) {
    auto parsed = core::parse_irq_class(*cls);
    if (!parsed) return k.error("class", fmt::format("unknown IRQ class \"{}\"", *cls));
    irq.irq_class = *parsed;
  }
  SIM_TRY(level, k.string("level"));
  if (level) {
    auto parsed = core::parse_balance_level(*level);
    if (!parsed) return k.error("level", fmt::format("unknown balance level \"{}\"", *level));
    irq.level = *parsed;
  }
  SIM_TRY(node, k.integer("node"));
  if (node) {
    if (*node < -1 || *node > 1023) return k.error("node", fmt::format("{} is out of range", *node));
    irq.node = static_cast<int>(*node);
  }
  SIM_TRY(rate, k.number("rate"));
  if (!rate) return k.error("rate", "required (interrupts per second)");
  if (*rate < 0) return k.error("rate", "must be >= 0");
  irq.interrupts_per_s = *rate;
  SIM_TRY(cost, k.number("cost_ns"));
  if (cost) {
    if (*cost <= 0) return k.error("cost_ns", "must be > 0");
    irq.cost_ns = *cost;
  }
  SIM_TRY(softirq, k.number("softirq_pct"));
  if (softirq) {
    if (*softirq < 0 || *softirq > 100) return k.error("softirq_pct", "must be within 0..100");
    irq.softirq_share = *softirq / 100.0;
  }
  SIM_TRY(cpu, k.cpus("cpu"));
  SIM_TRY(affinity, k.cpus("affinity"));
  if (cpu && affinity) return k.error("affinity", "give either cpu or affinity, not both");
  if (cpu && cpu->count() != 1) return k.error("cpu", "expected one CPU");
  if (cpu) irq.affinity = *cpu;
  if (affinity) {
    if (affinity->empty()) return k.error("affinity", "must not be empty");
    irq.affinity = *affinity;
  }
  SIM_TRY(managed, k.boolean("managed"));
  irq.managed = managed.value_or(false);
  SIM_TRY(device, k.string("device"));
  if (device) irq.device = *device;
  SIM_TRY(driver, k.string("driver"));
  if (driver) irq.driver = *driver;
  if (auto r = k.no_unknown_keys(); !r) return r.error();
  return irq;
}

// [[queues]]: one device's N queue IRQs in one table, for machines with
// hundreds of IRQs. Rates follow a Zipf law over the queues (queue of rank k
// gets a share proportional to 1/(k+1)^zipf of the total), optionally
// shuffled so the hottest queue is not always queue 0; the cost per
// interrupt varies by up to +-cost_spread_pct around cost_ns. Both draws come
// from the raw mt19937_64 stream (seeded by the scenario's seed and the
// group's index), so every standard library expands a file the same way.
//   [[queues]]
//   first = 100                 count = 64           name = "eth0-TxRx-{}"
//   class = "10gbit-ethernet"   node = 0             rate = 400000
//   zipf = 1.1  shuffle = true  cost_ns = 2500       cost_spread_pct = 40
//   initial = "spread"          # or "all" (the default mask: the first CPU)
Result<std::vector<SimIrq>> parse_queues(const toml::table& t, std::size_t index, std::string_view source,
                                         std::uint64_t seed, const topology::Machine& machine) {
  Keys k(t, fmt::format("queues[{}].", index), source);
  SIM_TRY(first, k.integer("first"));
  if (!first) return k.error("first", "required (IRQ number of queue 0)");
  SIM_TRY(count, k.integer("count"));
  if (!count) return k.error("count", "required (number of queues)");
  if (*count < 1 || *count > 65536) return k.error("count", "must be within 1..65536");
  if (*first < 0 || *first + *count > 0xffffff) return k.error("first", fmt::format("{} is out of range", *first));
  SIM_TRY(name, k.string("name"));
  const std::string pattern = name.value_or(fmt::format("q{}-{{}}", index));
  if (pattern.find("{}") == std::string::npos) return k.error("name", "must contain {} (the queue index)");
  SIM_TRY(cls, k.string("class"));
  core::IrqClass irq_class = core::IrqClass::kEthernet;
  if (cls) {
    auto parsed = core::parse_irq_class(*cls);
    if (!parsed) return k.error("class", fmt::format("unknown IRQ class \"{}\"", *cls));
    irq_class = *parsed;
  }
  SIM_TRY(node, k.integer("node"));
  const int node_v = node ? static_cast<int>(*node) : -1;
  if (node && (node_v < -1 || (node_v >= 0 && machine.node(node_v) == nullptr))) {
    return k.error("node", fmt::format("node {} is not in the topology", *node));
  }
  SIM_TRY(rate, k.number("rate"));
  if (!rate || *rate < 0) return k.error("rate", "required (total interrupts per second of the queues), >= 0");
  SIM_TRY(zipf, k.number("zipf"));
  if (zipf && (*zipf < 0 || *zipf > 10)) return k.error("zipf", "must be within 0..10");
  SIM_TRY(shuffle, k.boolean("shuffle"));
  SIM_TRY(cost, k.number("cost_ns"));
  if (cost && *cost <= 0) return k.error("cost_ns", "must be > 0");
  SIM_TRY(spread, k.number("cost_spread_pct"));
  if (spread && (*spread < 0 || *spread >= 100)) return k.error("cost_spread_pct", "must be within 0..100");
  SIM_TRY(softirq, k.number("softirq_pct"));
  if (softirq && (*softirq < 0 || *softirq > 100)) return k.error("softirq_pct", "must be within 0..100");
  SIM_TRY(device, k.string("device"));
  SIM_TRY(driver, k.string("driver"));
  SIM_TRY(managed, k.boolean("managed"));
  SIM_TRY(level, k.string("level"));
  std::optional<core::BalanceLevel> level_v;
  if (level) {
    auto parsed = core::parse_balance_level(*level);
    if (!parsed) return k.error("level", fmt::format("unknown balance level \"{}\"", *level));
    level_v = *parsed;
  }
  SIM_TRY(initial, k.string("initial"));
  const std::string initial_v = initial.value_or("all");
  if (initial_v != "all" && initial_v != "spread") {
    return k.error("initial", fmt::format("expected \"all\" or \"spread\", found \"{}\"", initial_v));
  }
  if (auto r = k.no_unknown_keys(); !r) return r.error();

  const auto n = static_cast<std::size_t>(*count);
  std::mt19937_64 rng(seed * 1000003ULL + index);
  const auto unit = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };  // [0, 1)
  std::vector<std::size_t> rank(n);  // rank[queue]: 0 = hottest
  for (std::size_t q = 0; q < n; ++q) rank[q] = q;
  if (shuffle.value_or(false)) {
    for (std::size_t i = n; i > 1; --i) std::swap(rank[i - 1], rank[static_cast<std::size_t>(unit() * static_cast<double>(i))]);
  }
  std::vector<double> weight(n);
  double total = 0;
  for (std::size_t r = 0; r < n; ++r) total += weight[r] = 1.0 / std::pow(static_cast<double>(r + 1), zipf.value_or(0));
  // Initial masks: "spread" puts queue q on the q-th CPU of the device's
  // node, round robin (what drivers' affinity hints ask for, load-blind).
  const topology::NumaNode* home = node_v >= 0 ? machine.node(node_v) : nullptr;
  const std::vector<core::CpuId> local = (home != nullptr ? home->cpus : machine.cpus).to_vector();
  const std::string dev = device.value_or(fmt::format("0000:{:02x}:00.0", 0xa0 + index));
  std::vector<SimIrq> out;
  for (std::size_t q = 0; q < n; ++q) {
    SimIrq irq;
    irq.irq = core::irq_number(static_cast<std::uint32_t>(*first + static_cast<std::int64_t>(q)));
    irq.name = fmt::format(fmt::runtime(pattern), q);
    irq.irq_class = irq_class;
    irq.level = level_v;
    irq.node = node_v;
    irq.interrupts_per_s = *rate * weight[rank[q]] / total;
    const double s = spread.value_or(0) / 100.0;
    irq.cost_ns = cost.value_or(1000) * (1.0 + s * (2.0 * unit() - 1.0));
    irq.softirq_share = softirq.value_or(0) / 100.0;
    if (initial_v == "spread") irq.affinity = core::CpuSet{core::raw(local[q % local.size()])};
    irq.managed = managed.value_or(false);
    if (core::IrqClass c = irq_class; c != core::IrqClass::kLegacy && c != core::IrqClass::kVirtEvent) irq.device = dev;
    irq.driver = driver.value_or("");
    out.push_back(std::move(irq));
  }
  return out;
}

const std::map<std::string, EventKind, std::less<>>& event_kinds() {
  static const std::map<std::string, EventKind, std::less<>> kinds = {
      {"rate", EventKind::kRate},
      {"cost", EventKind::kCost},
      {"burst", EventKind::kBurst},
      {"hot", EventKind::kHot},
      {"cpu-offline", EventKind::kCpuOffline},
      {"cpu-online", EventKind::kCpuOnline},
      {"irq-appears", EventKind::kIrqAppears},
      {"irq-vanishes", EventKind::kIrqVanishes},
  };
  return kinds;
}

Result<SimEvent> parse_event(const toml::table& t, std::size_t index, std::string_view source,
                             const std::set<std::uint32_t>& declared, const core::CpuSet& cpus,
                             std::uint32_t ticks) {
  Keys k(t, fmt::format("event[{}].", index), source);
  SimEvent e;
  SIM_TRY(at, k.integer("at"));
  if (!at) return k.error("at", "required (tick number)");
  if (*at < 0 || *at >= static_cast<std::int64_t>(ticks)) {
    return k.error("at", fmt::format("tick {} is outside 0..{} (ticks = {})", *at, ticks - 1, ticks));
  }
  e.at_tick = static_cast<std::uint32_t>(*at);
  SIM_TRY(kind, k.string("kind"));
  if (!kind) return k.error("kind", "required");
  auto it = event_kinds().find(*kind);
  if (it == event_kinds().end()) {
    std::string known;
    for (const auto& [name, v] : event_kinds()) known += (known.empty() ? "" : ", ") + name;
    return k.error("kind", fmt::format("unknown event \"{}\" (known: {})", *kind, known));
  }
  e.kind = it->second;
  const bool needs_irq = e.kind != EventKind::kCpuOffline && e.kind != EventKind::kCpuOnline;
  SIM_TRY(irq, k.integer("irq"));
  SIM_TRY(cpu, k.integer("cpu"));
  if (needs_irq) {
    if (!irq) return k.error("irq", fmt::format("required for \"{}\"", *kind));
    if (*irq < 0 || declared.count(static_cast<std::uint32_t>(*irq)) == 0) {
      return k.error("irq", fmt::format("IRQ {} is not declared in [[irq]]", *irq));
    }
    e.irq = core::irq_number(static_cast<std::uint32_t>(*irq));
    if (cpu) return k.error("cpu", fmt::format("not used by \"{}\"", *kind));
  } else {
    if (!cpu) return k.error("cpu", fmt::format("required for \"{}\"", *kind));
    if (*cpu < 0 || !cpus.contains(core::cpu_id(static_cast<std::uint32_t>(*cpu)))) {
      return k.error("cpu", fmt::format("CPU {} is not in the topology ({})", *cpu, cpus.to_list()));
    }
    e.cpu = core::cpu_id(static_cast<std::uint32_t>(*cpu));
    if (irq) return k.error("irq", fmt::format("not used by \"{}\"", *kind));
  }
  SIM_TRY(rate, k.number("rate"));
  SIM_TRY(cost, k.number("cost_ns"));
  SIM_TRY(factor, k.number("factor"));
  SIM_TRY(duration, k.integer("ticks"));
  switch (e.kind) {
    case EventKind::kRate:
      if (!rate || *rate < 0) return k.error("rate", "required, >= 0");
      e.rate = *rate;
      break;
    case EventKind::kCost:
      if (!cost || *cost <= 0) return k.error("cost_ns", "required, > 0");
      e.cost_ns = *cost;
      break;
    case EventKind::kBurst:
      if (!duration || *duration < 1) return k.error("ticks", "required for a burst, >= 1");
      e.duration_ticks = static_cast<std::uint32_t>(std::min<std::int64_t>(*duration, ticks));
      [[fallthrough]];
    case EventKind::kHot:
      if (!factor || *factor < 0) return k.error("factor", "required, >= 0");
      e.factor = *factor;
      break;
    default:
      break;
  }
  const auto unused = [&](bool given, std::string_view key, bool allowed) -> Result<void> {
    if (given && !allowed) return k.error(key, fmt::format("not used by \"{}\"", *kind));
    return {};
  };
  if (auto r = unused(rate.has_value(), "rate", e.kind == EventKind::kRate); !r) return r.error();
  if (auto r = unused(cost.has_value(), "cost_ns", e.kind == EventKind::kCost); !r) return r.error();
  if (auto r = unused(factor.has_value(), "factor", e.kind == EventKind::kBurst || e.kind == EventKind::kHot); !r) {
    return r.error();
  }
  if (auto r = unused(duration.has_value(), "ticks", e.kind == EventKind::kBurst); !r) return r.error();
  if (auto r = k.no_unknown_keys(); !r) return r.error();
  return e;
}

}  // namespace

std::string_view to_string(EventKind kind) {
  for (const auto& [name, v] : event_kinds()) {
    if (v == kind) return name;
  }
  return "?";
}

Result<topology::Machine> scenario_machine(const Scenario& s) {
  if (s.capture) return topology::load_from_root(*s.capture);
  return topology::load_synthetic(s.topology);
}

Result<Scenario> parse_scenario(std::string_view text, std::string_view source, std::string_view base_dir) {
  SIM_TRY(root, core::parse_toml(text, source));
  Keys k(root, "", source);
  Scenario s;
  SIM_TRY(name, k.string("name"));
  s.name = name.value_or("");
  SIM_TRY(description, k.string("description"));
  s.description = description.value_or("");
  SIM_TRY(topo, k.string("topology"));
  SIM_TRY(capture, k.string("capture"));
  if (topo && capture) return k.error("capture", "give either topology or capture, not both");
  if (!topo && !capture) {
    return k.error("topology", "required (hwloc synthetic string, e.g. \"pack:1 l3:1 core:4 pu:2\"), or capture");
  }
  if (topo) s.topology = *topo;
  if (capture) {
    std::filesystem::path dir(*capture);
    if (dir.is_relative() && !base_dir.empty()) dir = std::filesystem::path(base_dir) / dir;
    s.capture = dir;
    s.topology = "capture " + dir.string();
  }
  auto machine = scenario_machine(s);
  if (!machine) return k.error(capture ? "capture" : "topology", machine.error().message);
  const core::CpuSet& all = machine->cpus;

  SIM_TRY(ticks, k.integer("ticks"));
  if (ticks) {
    if (*ticks < 1 || *ticks > 1'000'000) return k.error("ticks", "must be within 1..1000000");
    s.ticks = static_cast<std::uint32_t>(*ticks);
  }
  SIM_TRY(tick_s, k.number("tick_s"));
  if (tick_s) {
    if (*tick_s <= 0 || *tick_s > 3600) return k.error("tick_s", "must be within (0, 3600] seconds");
    s.tick_s = *tick_s;
  }
  SIM_TRY(noise, k.number("noise_pct"));
  if (noise) {
    if (*noise < 0 || *noise >= 100) return k.error("noise_pct", "must be within 0..100");
    s.noise_pct = *noise;
  }
  SIM_TRY(seed, k.integer("seed"));
  if (seed) s.seed = static_cast<std::uint64_t>(*seed);
  for (const auto& [key, field] : {std::pair{"offline", &s.offline}, std::pair{"isolated", &s.isolated},
                                   std::pair{"nohz_full", &s.nohz_full}}) {
    SIM_TRY(set, k.cpus(key));
    if (!set) continue;
    if (!set->is_subset_of(all)) {
      return k.error(key, fmt::format("CPUs {} are not in the topology ({})", (*set - all).to_list(), all.to_list()));
    }
    *field = *set;
  }
  if (s.offline.contains(core::cpu_id(0))) return k.error("offline", "CPU 0 cannot go offline (as on x86)");
  if (all.is_subset_of(s.offline)) return k.error("offline", "leaves no CPU online");

  if (const toml::node* n = k.get("policy")) {
    const toml::table* t = n->as_table();
    if (t == nullptr) return k.error("policy", "expected a [policy] table");
    if (auto r = parse_policy(*t, source, s.policy); !r) return r.error();
  }

  SIM_TRY(irq_tables, k.tables("irq"));
  std::set<std::uint32_t> declared;
  for (std::size_t i = 0; i < irq_tables.size(); ++i) {
    SIM_TRY(irq, parse_irq(*irq_tables[i], i, source));
    Keys ik(*irq_tables[i], fmt::format("irq[{}].", i), source);
    if (!declared.insert(core::raw(irq.irq)).second) {
      return ik.error("number", fmt::format("IRQ {} is declared twice", core::raw(irq.irq)));
    }
    if (irq.affinity.empty()) irq.affinity = all;  // the kernel's default_smp_affinity
    if (!irq.affinity.is_subset_of(all)) {
      return ik.error("affinity", fmt::format("CPUs {} are not in the topology ({})", (irq.affinity - all).to_list(),
                                              all.to_list()));
    }
    if (irq.node >= 0 && machine->node(irq.node) == nullptr) {
      return ik.error("node", fmt::format("node {} is not in the topology", irq.node));
    }
    s.irqs.push_back(std::move(irq));
  }
  SIM_TRY(queue_tables, k.tables("queues"));
  for (std::size_t i = 0; i < queue_tables.size(); ++i) {
    SIM_TRY(group, parse_queues(*queue_tables[i], i, source, s.seed, *machine));
    for (SimIrq& irq : group) {
      if (!declared.insert(core::raw(irq.irq)).second) {
        return Error{fmt::format("{}: queues[{}]: IRQ {} is declared twice", source, i, core::raw(irq.irq))};
      }
      if (irq.affinity.empty()) irq.affinity = all;
      s.irqs.push_back(std::move(irq));
    }
  }
  std::sort(s.irqs.begin(), s.irqs.end(), [](const SimIrq& a, const SimIrq& b) { return a.irq < b.irq; });

  SIM_TRY(event_tables, k.tables("event"));
  for (std::size_t i = 0; i < event_tables.size(); ++i) {
    SIM_TRY(e, parse_event(*event_tables[i], i, source, declared, all, s.ticks));
    s.events.push_back(e);
  }
  std::stable_sort(s.events.begin(), s.events.end(),
                   [](const SimEvent& a, const SimEvent& b) { return a.at_tick < b.at_tick; });
  // An IRQ whose first lifecycle event is "irq-appears" is absent until then.
  for (SimIrq& irq : s.irqs) {
    for (const SimEvent& e : s.events) {
      if (e.irq != irq.irq) continue;
      if (e.kind == EventKind::kIrqAppears) irq.present_at_start = false;
      if (e.kind == EventKind::kIrqAppears || e.kind == EventKind::kIrqVanishes) break;
    }
  }
  if (auto r = k.no_unknown_keys(); !r) return r.error();
  return s;
}

Result<Scenario> load_scenario(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return core::errno_error(file.string(), errno != 0 ? errno : ENOENT);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string source = file.string();
  auto s = parse_scenario(text.str(), source, file.parent_path().string());
  if (!s) return s.error();
  if (s->name.empty()) s->name = file.stem().string();
  return s;
}

}  // namespace irqbpfd::sim
