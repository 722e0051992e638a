// The report as JSON. Field names are a contract (README "JSON fields"):
// collector, window_s, cpus[], irqs[] with per_cpu[], topology.
#include <nlohmann/json.hpp>

#include <map>

#include "irqbpfd/report/report.hpp"

namespace irqbpfd::report {
namespace {

using core::raw;
using nlohmann::ordered_json;

ordered_json optional_set(const std::optional<core::CpuSet>& s) {
  return s ? ordered_json(s->to_list()) : ordered_json(nullptr);
}

template <class T>
ordered_json optional_value(const std::optional<T>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

// {"HI": ns, "TIMER": ns, ...} or null.
ordered_json vectors(const std::optional<std::array<std::uint64_t, collect::kSoftirqVectors>>& v) {
  if (!v) return nullptr;
  ordered_json out = ordered_json::object();
  for (std::size_t i = 0; i < collect::kSoftirqVectors; ++i) out[collect::kSoftirqNames[i]] = (*v)[i];
  return out;
}

// The IRQ counted on this CPU, or cost it time, in the window.
bool active(const model::IrqCpuCount& pc) {
  const auto nonzero = [](const std::optional<std::uint64_t>& v) { return v.value_or(0) != 0; };
  return pc.count != 0 || nonzero(pc.load_ns) || nonzero(pc.hardirq_ns) || nonzero(pc.softirq_ns) ||
         nonzero(pc.estimate_load_ns);
}

ordered_json topology_json(const topology::Machine& machine) {
  ordered_json nodes = ordered_json::array();
  for (const auto& node : machine.nodes) {
    ordered_json packages = ordered_json::array();
    for (const auto& pkg : node.packages) {
      ordered_json caches = ordered_json::array();
      for (const auto& cache : pkg.caches) {
        ordered_json cores = ordered_json::array();
        for (const auto& core : cache.cores) {
          cores.push_back({{"core", core.index}, {"cpus", core.cpus.to_list()}});
        }
        caches.push_back({{"cache", cache.index}, {"level", cache.level}, {"size_bytes", cache.size_bytes},
                          {"cpus", cache.cpus.to_list()}, {"cores", std::move(cores)}});
      }
      packages.push_back({{"package", pkg.os_index}, {"cpus", pkg.cpus.to_list()}, {"caches", std::move(caches)}});
    }
    nodes.push_back({{"node", node.os_index}, {"cpus", node.cpus.to_list()}, {"packages", std::move(packages)}});
  }
  return {{"source", machine.source}, {"cpus", machine.cpus.to_list()}, {"nodes", std::move(nodes)}};
}

}  // namespace

std::string render_json(const model::Snapshot& snap, const ReportOptions& options, const balance::Plan* plan) {
  std::map<std::uint32_t, const balance::Move*> planned;
  if (plan != nullptr) {
    for (const auto& m : plan->moves) planned[raw(m.irq)] = &m;
  }
  const core::CpuSet cpus = selected_cpus(snap, options);
  ordered_json doc;
  doc["version"] = options.version;
  doc["collector"] = snap.collector;
  doc["collector_fallback_reason"] = optional_value(snap.collector_fallback_reason);
  doc["window_s"] = snap.window_s;
  doc["cumulative"] = snap.cumulative;
  doc["threshold_pct"] = options.threshold_pct;
  doc["online"] = snap.online.to_list();
  doc["selected_cpus"] = cpus.to_list();

  ordered_json cpu_list = ordered_json::array();
  for (const auto& c : snap.cpus) {
    if (options.cpus && !options.cpus->contains(c.cpu)) continue;
    cpu_list.push_back({{"cpu", raw(c.cpu)},
                        {"node", c.node},
                        {"package", optional_value(c.package)},
                        {"core", optional_value(c.core)},
                        {"online", c.online},
                        {"isolated", c.isolated},
                        {"nohz_full", c.nohz_full},
                        {"interrupts", c.interrupts},
                        {"system_interrupts", c.system_interrupts},
                        {"irq_ns", optional_value(c.irq_ns)},
                        {"softirq_ns", optional_value(c.softirq_ns)},
                        {"softirq_vector_ns", vectors(c.softirq_vector_ns)},
                        {"softirq_unattributed_ns", vectors(c.softirq_unattributed_ns)}});
  }
  doc["cpus"] = std::move(cpu_list);

  ordered_json irq_list = ordered_json::array();
  const std::vector<core::CpuId> columns = snap.column_cpus();
  for (const auto& irq : snap.irqs) {
    ordered_json per_cpu = ordered_json::array();
    const auto add = [&](const model::IrqCpuCount& pc) {
      if (!cpus.contains(pc.cpu)) return;
      if (options.active_per_cpu_only && !active(pc)) return;
      ordered_json entry = {{"cpu", raw(pc.cpu)},
                            {"count", pc.count},
                            {"share_pct", pc.share_pct},
                            {"load_ns", optional_value(pc.load_ns)},
                            {"hardirq_ns", optional_value(pc.hardirq_ns)},
                            {"softirq_ns", optional_value(pc.softirq_ns)}};
      if (pc.estimate_load_ns) entry["estimate_load_ns"] = *pc.estimate_load_ns;
      per_cpu.push_back(std::move(entry));
    };
    // Active only: the CPUs per_cpu lists (an idle cell is never active);
    // all: every column, idle ones filled in.
    if (options.active_per_cpu_only) {
      for (const auto& pc : irq.per_cpu) add(pc);
    } else {
      irq.for_each_column(columns, add);
    }
    const core::IrqDesc& d = *irq.desc;
    irq_list.push_back({{"irq", raw(d.irq)},
                        {"name", d.name},
                        {"actions", d.actions},
                        {"chip", d.chip},
                        {"hwirq", d.hwirq},
                        {"device", optional_value(d.device)},
                        {"driver", d.driver.empty() ? ordered_json(nullptr) : ordered_json(d.driver)},
                        {"class", core::to_string(d.irq_class)},
                        {"level", core::to_string(d.level)},
                        {"node", d.node},
                        {"managed", optional_value(d.managed)},
                        {"count", irq.count},
                        {"per_cpu", std::move(per_cpu)},
                        {"load_ns", optional_value(irq.load_ns)},
                        {"load_estimated", irq.load_estimated},
                        {"hardirq_ns", optional_value(irq.hardirq_ns)},
                        {"softirq_ns", optional_value(irq.softirq_ns)},
                        {"p50_ns", optional_value(irq.p50_ns)},
                        {"p99_ns", optional_value(irq.p99_ns)},
                        {"estimate_load_ns", optional_value(irq.estimate_load_ns)},
                        {"smp_affinity", optional_set(d.smp_affinity)},
                        {"effective_affinity", optional_set(d.effective_affinity)},
                        {"affinity_hint", optional_set(d.affinity_hint)},
                        {"appeared", irq.appeared},
                        {"counter_reset", irq.counter_reset},
                        {"verdict", verdict_text(irq, cpus, options.threshold_pct)}});
    if (plan != nullptr) {
      auto it = planned.find(raw(d.irq));
      irq_list.back()["planned_affinity"] =
          it != planned.end() ? ordered_json(it->second->to.to_list()) : optional_set(d.smp_affinity);
    }
  }
  doc["irqs"] = std::move(irq_list);
  ordered_json vanished = ordered_json::array();
  for (auto v : snap.vanished) vanished.push_back(raw(v));
  doc["vanished"] = std::move(vanished);
  if (snap.bpf) {
    doc["bpf"] = {{"attach", snap.bpf->attach},
                  {"max_irqs", snap.bpf->max_irqs},
                  {"nr_cpus", snap.bpf->nr_cpus},
                  {"map_bytes", snap.bpf->map_bytes},
                  {"hardirq_sample_every", snap.bpf->hardirq_sample_every},
                  {"dropped_irq_range", snap.bpf->dropped_irq_range},
                  {"unpaired_exits", snap.bpf->unpaired_exits},
                  {"nested_entries", snap.bpf->nested_entries},
                  {"bad_vectors", snap.bpf->bad_vectors}};
  } else {
    doc["bpf"] = nullptr;
  }
  doc["topology"] = topology_json(snap.machine);
  if (plan != nullptr) {
    ordered_json moves = ordered_json::array();
    for (const auto& m : plan->moves) {
      moves.push_back({{"irq", raw(m.irq)}, {"from", m.from.to_list()}, {"to", m.to.to_list()}, {"reason", m.reason},
                       {"gain_ns_per_s", m.gain_ns}});
    }
    ordered_json held = ordered_json::array();
    for (const auto& h : plan->held) held.push_back({{"irq", raw(h.irq)}, {"reason", h.reason}});
    doc["plan"] = std::move(moves);
    doc["plan_summary"] = plan->summary;
    doc["held"] = std::move(held);
    doc["powersave"] = plan->powersave.to_list();
    doc["dry_run"] = options.dry_run;
    if (!options.dry_run) {
      ordered_json applied = ordered_json::array();
      for (const auto& a : options.applied) {
        applied.push_back({{"irq", raw(a.irq)}, {"to", a.to.to_list()}, {"outcome", a.outcome}, {"message", a.message}});
      }
      doc["applied"] = std::move(applied);
    }
  }
  return doc.dump(2) + "\n";
}

}  // namespace irqbpfd::report
