// The report as JSON. Field names are a contract (README "JSON fields"):
// collector, window_s, cpus[], irqs[] with per_cpu[], topology.
#include <nlohmann/json.hpp>

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

std::string render_json(const model::Snapshot& snap, const ReportOptions& options) {
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
                        {"softirq_ns", optional_value(c.softirq_ns)}});
  }
  doc["cpus"] = std::move(cpu_list);

  ordered_json irq_list = ordered_json::array();
  for (const auto& irq : snap.irqs) {
    ordered_json per_cpu = ordered_json::array();
    for (const auto& pc : irq.per_cpu) {
      if (!cpus.contains(pc.cpu)) continue;
      per_cpu.push_back({{"cpu", raw(pc.cpu)},
                         {"count", pc.count},
                         {"share_pct", pc.share_pct},
                         {"load_ns", optional_value(pc.load_ns)}});
    }
    const auto& d = irq.desc;
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
                        {"smp_affinity", optional_set(d.smp_affinity)},
                        {"effective_affinity", optional_set(d.effective_affinity)},
                        {"affinity_hint", optional_set(d.affinity_hint)},
                        {"appeared", irq.appeared},
                        {"counter_reset", irq.counter_reset},
                        {"verdict", verdict_text(irq, cpus, options.threshold_pct)}});
  }
  doc["irqs"] = std::move(irq_list);
  ordered_json vanished = ordered_json::array();
  for (auto v : snap.vanished) vanished.push_back(raw(v));
  doc["vanished"] = std::move(vanished);
  doc["topology"] = topology_json(snap.machine);
  return doc.dump(2) + "\n";
}

}  // namespace irqbpfd::report
