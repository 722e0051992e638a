// The human report: a header saying how the numbers were obtained, one row
// per IRQ (shares per CPU or per node/package, load, affinities, the seed's
// verdict), a per-CPU summary and the topology tree.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "irqbpfd/core/text_table.hpp"
#include "irqbpfd/report/report.hpp"

namespace irqbpfd::report {
namespace {

using core::raw;
using model::IrqSnapshot;
using model::Snapshot;
using core::TextTable;
using core::duration_text;
using core::load_pct_text;
using Align = TextTable::Align;

std::string opt_set(const std::optional<core::CpuSet>& s) {
  if (!s) return "-";
  return s->empty() ? "none" : s->to_list();
}

std::string truncate(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  return s.substr(0, n - 1) + "~";
}

struct Group {
  std::string header;
  core::CpuSet cpus;
};

Columns choose_columns(const Snapshot& snap, const core::CpuSet& cpus, Columns wanted) {
  if (wanted != Columns::kAuto) return wanted;
  if (cpus.count() <= kMaxCpuColumns) return Columns::kCpu;
  const std::size_t nodes = snap.machine.nodes.size();
  if (nodes >= 2 && nodes <= 16) return Columns::kNode;
  if (snap.machine.package_count() <= 16) return Columns::kPackage;
  return Columns::kTop;
}

std::vector<Group> column_groups(const Snapshot& snap, const core::CpuSet& cpus, Columns layout) {
  std::vector<Group> groups;
  if (layout == Columns::kCpu) {
    for (core::CpuId c : cpus.to_vector()) groups.push_back({fmt::format("CPU{} %", raw(c)), core::CpuSet{raw(c)}});
    return groups;
  }
  if (layout == Columns::kNode) {
    for (const auto& node : snap.machine.nodes) {
      const core::CpuSet in = node.cpus & cpus;
      if (!in.empty()) groups.push_back({fmt::format("NODE{} %", node.os_index), in});
    }
  } else if (layout == Columns::kPackage) {
    std::map<unsigned, core::CpuSet> packages;
    for (const auto& node : snap.machine.nodes) {
      for (const auto& pkg : node.packages) packages[pkg.os_index] |= pkg.cpus & cpus;
    }
    for (const auto& [id, set] : packages) {
      if (!set.empty()) groups.push_back({fmt::format("PKG{} %", id), set});
    }
  }
  // CPUs the topology does not place (offline in hwloc's view, odd roots).
  core::CpuSet placed;
  for (const auto& g : groups) placed |= g.cpus;
  if (const core::CpuSet rest = cpus - placed; !rest.empty()) groups.push_back({"OTHER %", rest});
  return groups;
}

std::string top_cpus(const IrqSnapshot& irq, const core::CpuSet& cpus) {
  std::vector<const model::IrqCpuCount*> busy;
  for (const auto& pc : irq.per_cpu) {
    if (pc.count > 0 && cpus.contains(pc.cpu)) busy.push_back(&pc);
  }
  std::stable_sort(busy.begin(), busy.end(), [](auto* a, auto* b) { return a->count > b->count; });
  std::string out;
  for (std::size_t i = 0; i < busy.size() && i < 4; ++i) {
    if (!out.empty()) out += ' ';
    out += fmt::format("cpu{}:{:.1f}%", raw(busy[i]->cpu), busy[i]->share_pct);
  }
  if (busy.size() > 4) out += fmt::format(" +{}", busy.size() - 4);
  return out.empty() ? "-" : out;
}

std::string header(const Snapshot& snap, const ReportOptions& options, const core::CpuSet& cpus) {
  std::string out = fmt::format("irqbpfd {} report: collector {}", options.version, snap.collector);
  if (snap.collector_fallback_reason) out += fmt::format(" (fallback: {})", *snap.collector_fallback_reason);
  out += '\n';
  if (snap.cumulative) {
    out += snap.window_s > 0 ? fmt::format("window: cumulative since boot ({:.0f} s)\n", snap.window_s)
                             : std::string("window: cumulative counts of a saved capture\n");
  } else {
    out += fmt::format("window: {:.2f} s between two readings\n", snap.window_s);
  }
  const bool estimated = std::any_of(snap.irqs.begin(), snap.irqs.end(), [](const auto& i) { return i.load_estimated; });
  const bool any_load = std::any_of(snap.irqs.begin(), snap.irqs.end(), [](const auto& i) { return i.load_ns.has_value(); });
  if (snap.bpf) {
    out += fmt::format("load: MEASURED by BPF ({} programs, maps for {} IRQs x {} CPUs, {:.1f} MiB): handler time + the softirq time each IRQ raised\n",
                       snap.bpf->attach, snap.bpf->max_irqs, snap.bpf->nr_cpus,
                       static_cast<double>(snap.bpf->map_bytes) / (1024.0 * 1024.0));
    if (snap.bpf->hardirq_sample_every > 1) {
      out += fmt::format("handler time SAMPLED: 1 run in {} timed at random and counted {} times (counts exact; "
                         "p50/p99 from the timed runs)\n",
                         snap.bpf->hardirq_sample_every, snap.bpf->hardirq_sample_every);
    }
    if (snap.bpf->dropped_irq_range + snap.bpf->unpaired_exits + snap.bpf->nested_entries + snap.bpf->bad_vectors > 0) {
      out += fmt::format("bpf events not counted in the window: {} beyond the maps, {} unpaired exits, {} nested entries, {} bad vectors\n",
                         snap.bpf->dropped_irq_range, snap.bpf->unpaired_exits, snap.bpf->nested_entries, snap.bpf->bad_vectors);
    }
  } else if (estimated) {
    out += "load: ESTIMATED the irqbalance way: each CPU's irq+softirq time (/proc/stat ticks) split over its IRQs by count share; '~' marks estimates\n";
  } else if (!any_load) {
    out += "load: unknown (no CPU time in this source)\n";
  }
  const std::size_t online = snap.online.count();
  out += fmt::format("machine: {} CPUs online ({}), {} NUMA node{}, {} package{}, {} cache domain{}, {} cores; showing CPUs {}\n",
                     online, snap.online.to_list(), snap.machine.nodes.size(), snap.machine.nodes.size() == 1 ? "" : "s",
                     snap.machine.package_count(), snap.machine.package_count() == 1 ? "" : "s",
                     snap.machine.cache_count(), snap.machine.cache_count() == 1 ? "" : "s", snap.machine.core_count(),
                     cpus.empty() ? "none" : cpus.to_list());
  core::CpuSet isolated, nohz;
  for (const auto& c : snap.cpus) {
    if (c.isolated) isolated.insert(c.cpu);
    if (c.nohz_full) nohz.insert(c.cpu);
  }
  out += fmt::format("isolated CPUs: {}; nohz_full CPUs: {}\n", isolated.empty() ? "none" : isolated.to_list(),
                     nohz.empty() ? "none" : nohz.to_list());
  return out;
}

std::string render_plan(const balance::Plan& plan, const ReportOptions& options) {
  std::string out = fmt::format("\nPlan ({}): {}\n", options.dry_run ? "dry run, nothing written" : "applied", plan.summary);
  if (!plan.powersave.empty()) out += fmt::format("powersave: draining CPUs {}\n", plan.powersave.to_list());
  if (!plan.moves.empty()) {
    TextTable moves;
    moves.add_column("IRQ", Align::kRight);
    moves.add_column("FROM", Align::kLeft);
    moves.add_column("TO", Align::kLeft);
    moves.add_column("REASON", Align::kLeft);
    for (const auto& m : plan.moves) {
      moves.add_row({fmt::format("{}", raw(m.irq)), m.from.to_list(), m.to.to_list(), m.reason});
    }
    out += moves.render();
  }
  std::map<std::string, std::vector<std::uint32_t>> held;
  for (const auto& h : plan.held) held[h.reason].push_back(raw(h.irq));
  for (const auto& [reason, irqs] : held) {
    std::string list;
    for (auto irq : irqs) list += fmt::format("{}{}", list.empty() ? "" : ",", irq);
    out += fmt::format("held ({}): {}\n", reason, list);
  }
  return out;
}

}  // namespace

core::CpuSet selected_cpus(const Snapshot& snapshot, const ReportOptions& options) {
  core::CpuSet columns;
  if (!snapshot.irqs.empty()) {
    for (core::CpuId c : snapshot.column_cpus()) columns.insert(c);
  } else {
    columns = snapshot.online;
  }
  return options.cpus ? (columns & *options.cpus) : columns;
}

std::string verdict_text(const IrqSnapshot& irq, const core::CpuSet& cpus, double threshold_pct) {
  const model::Verdict v = model::seed_verdict(irq, cpus, threshold_pct);
  return v.balanced ? std::string("balanced") : fmt::format("CPU{}", raw(v.target));
}

std::string render_table(const Snapshot& snap, const ReportOptions& options, const balance::Plan* plan) {
  const core::CpuSet cpus = selected_cpus(snap, options);
  const Columns layout = choose_columns(snap, cpus, options.columns);
  const std::vector<Group> groups = layout == Columns::kTop ? std::vector<Group>{} : column_groups(snap, cpus, layout);

  std::string out = header(snap, options, cpus);
  out += '\n';

  TextTable irqs;
  for (const char* h : {"IRQ", "NAME", "CLASS", "LEVEL", "NODE"}) {
    irqs.add_column(h, std::string_view(h) == "IRQ" || std::string_view(h) == "NODE" ? Align::kRight : Align::kLeft);
  }
  for (const auto& g : groups) irqs.add_column(g.header, Align::kRight);
  if (layout == Columns::kTop) irqs.add_column("BUSIEST CPUS", Align::kLeft);
  irqs.add_column("COUNT", Align::kRight);
  irqs.add_column("LOAD %CPU", Align::kRight);
  const bool measured = snap.bpf.has_value();
  const bool compare = std::any_of(snap.irqs.begin(), snap.irqs.end(), [](const auto& i) { return i.estimate_load_ns.has_value(); });
  if (measured) {
    irqs.add_column("HARDIRQ", Align::kRight);
    irqs.add_column("SOFTIRQ", Align::kRight);
    irqs.add_column("P50", Align::kRight);
    irqs.add_column("P99", Align::kRight);
  }
  if (compare) irqs.add_column("EST %CPU", Align::kRight);
  irqs.add_column("AFFINITY", Align::kLeft);
  irqs.add_column("EFFECTIVE", Align::kLeft);
  irqs.add_column("MANAGED", Align::kLeft);
  irqs.add_column("VERDICT", Align::kLeft);

  for (const auto& irq : snap.irqs) {
    std::vector<std::string> row;
    row.push_back(fmt::format("{}", raw(irq.desc->irq)));
    std::string name = irq.desc->name.empty() ? "-" : irq.desc->name;
    if (irq.appeared) name += " (new)";
    if (irq.counter_reset) name += " (reset)";
    row.push_back(truncate(name, 28));
    row.emplace_back(core::to_string(irq.desc->irq_class));
    row.emplace_back(core::to_string(irq.desc->level));
    row.push_back(fmt::format("{}", irq.desc->node));
    for (const auto& g : groups) {
      std::uint64_t n = 0;
      for (const auto& pc : irq.per_cpu) {
        if (g.cpus.contains(pc.cpu)) n += pc.count;
      }
      const double pct = irq.count == 0 ? 0.0 : 100.0 * static_cast<double>(n) / static_cast<double>(irq.count);
      row.push_back(fmt::format("{:.2f}", pct));
    }
    if (layout == Columns::kTop) row.push_back(top_cpus(irq, cpus));
    row.push_back(fmt::format("{}", irq.count));
    row.push_back(load_pct_text(irq.load_ns, snap.window_s, irq.load_estimated));
    if (measured) {
      row.push_back(duration_text(irq.hardirq_ns));
      row.push_back(duration_text(irq.softirq_ns));
      row.push_back(duration_text(irq.p50_ns));
      row.push_back(duration_text(irq.p99_ns));
    }
    if (compare) row.push_back(load_pct_text(irq.estimate_load_ns, snap.window_s, true));
    row.push_back(opt_set(irq.desc->smp_affinity));
    row.push_back(opt_set(irq.desc->effective_affinity));
    row.emplace_back(!irq.desc->managed ? "-" : (*irq.desc->managed ? "yes" : "no"));
    row.push_back(verdict_text(irq, cpus, options.threshold_pct));
    irqs.add_row(std::move(row));
  }
  out += fmt::format("IRQs ({}; verdict: shares within {} points = balanced, else the CPU with the smallest share)\n",
                     snap.irqs.size(), options.threshold_pct);
  out += irqs.render();
  if (!snap.vanished.empty()) {
    std::string list;
    for (auto irq : snap.vanished) list += fmt::format("{}{}", list.empty() ? "" : ",", raw(irq));
    out += fmt::format("vanished during the window (dropped): {}\n", list);
  }

  out += fmt::format("\nCPUs (interrupts in the window{})\n", snap.cumulative ? ", since boot" : "");
  TextTable summary;
  summary.add_column("CPU", Align::kRight);
  summary.add_column("NODE", Align::kRight);
  summary.add_column("PKG", Align::kRight);
  summary.add_column("CORE", Align::kRight);
  summary.add_column("ONLINE", Align::kLeft);
  summary.add_column("ISOLATED", Align::kLeft);
  summary.add_column("INTERRUPTS", Align::kRight);
  summary.add_column("PER S", Align::kRight);
  summary.add_column("SYSTEM", Align::kRight);
  summary.add_column("IRQ %CPU", Align::kRight);
  summary.add_column("SOFTIRQ %CPU", Align::kRight);
  for (const auto& c : snap.cpus) {
    if (options.cpus && !options.cpus->contains(c.cpu)) continue;
    const auto pct = [&](std::optional<std::uint64_t> ns) { return load_pct_text(ns, snap.window_s, false); };
    summary.add_row({fmt::format("{}", raw(c.cpu)), fmt::format("{}", c.node),
                     c.package ? fmt::format("{}", *c.package) : "-", c.core ? fmt::format("{}", *c.core) : "-",
                     c.online ? "yes" : "no", c.isolated ? "yes" : (c.nohz_full ? "nohz" : "no"),
                     fmt::format("{}", c.interrupts),
                     snap.window_s > 0 ? fmt::format("{:.1f}", static_cast<double>(c.interrupts) / snap.window_s) : "-",
                     fmt::format("{}", c.system_interrupts), pct(c.irq_ns), pct(c.softirq_ns)});
  }
  out += summary.render();

  if (snap.bpf) {
    out += "\nSoftirq time per vector in the window (measured; in brackets: the part no device IRQ raised)\n";
    TextTable soft;
    soft.add_column("CPU", Align::kRight);
    for (const char* name : collect::kSoftirqNames) soft.add_column(name, Align::kRight);
    for (const auto& c : snap.cpus) {
      if (!c.softirq_vector_ns || (options.cpus && !options.cpus->contains(c.cpu))) continue;
      std::vector<std::string> row{fmt::format("{}", raw(c.cpu))};
      for (std::size_t v = 0; v < collect::kSoftirqVectors; ++v) {
        const std::uint64_t all = (*c.softirq_vector_ns)[v];
        const std::uint64_t un = (*c.softirq_unattributed_ns)[v];
        std::string cell = all == 0 ? "0" : duration_text(all);
        if (un > 0) cell += un == all ? " (all)" : " (" + duration_text(un) + ")";
        row.push_back(std::move(cell));
      }
      soft.add_row(std::move(row));
    }
    out += soft.render();
  }

  out += '\n';
  out += render_topology(snap.machine);
  if (plan != nullptr) out += render_plan(*plan, options);
  if (!options.dry_run) {
    std::size_t ok = 0;
    for (const auto& a : options.applied) ok += a.outcome == "done" || a.outcome == "unchanged" ? 1 : 0;
    out += fmt::format("\nApplied: {} of {} writes took effect\n", ok, options.applied.size());
    for (const auto& a : options.applied) {
      if (a.outcome == "done" || a.outcome == "unchanged") continue;
      out += fmt::format("  irq {} -> {}: {} ({})\n", raw(a.irq), a.to.to_list(), a.outcome, a.message);
    }
  }
  return out;
}

}  // namespace irqbpfd::report
