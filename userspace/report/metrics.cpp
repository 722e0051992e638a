// render_metrics: the last reading's cumulative counters and the daemon's
// own as Prometheus text, HELP and TYPE before each family, families and
// series in a fixed order (IRQ, then CPU, ascending).
#include "irqbpfd/report/metrics.hpp"

#include <fmt/format.h>

#include <map>
#include <numeric>

namespace irqbpfd::report {
namespace {

using core::raw;


class Out {
 public:
  void family(const char* name, const char* type, const char* help) {
    text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <class V>
  void sample(const char* name, const std::string& labels, V value) {
    if (labels.empty()) {
      text_ += fmt::format("{} {}\n", name, value);
    } else {
      text_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

std::string seconds(std::uint64_t ns) { return fmt::format("{:.9f}", static_cast<double>(ns) / 1e9); }

}  // namespace

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_metrics(const collect::RawSample& reading, const model::Snapshot* snapshot,
                           const DaemonCounters& c, const MetricsOptions& options,
                           const sys::ProcInterrupts* interrupts) {
  Out out;
  const sys::ProcInterrupts& rows = interrupts != nullptr ? *interrupts : reading.interrupts;
  std::map<std::uint32_t, std::string> names;
  for (const auto& row : rows.rows) {
    if (row.irq) names[raw(*row.irq)] = row.name;
  }
  if (snapshot != nullptr) {
    for (const auto& is : snapshot->irqs) names[raw(is.desc->irq)] = is.desc->name;
  }
  const auto irq_labels = [&](std::uint32_t irq) {
    return fmt::format("irq=\"{}\",name=\"{}\"", irq, escape_label(names[irq]));
  };

  out.family("irqbpfd_irq_interrupts_total", "counter", "Interrupts of each IRQ, all CPUs, since boot (/proc/interrupts).");
  for (const auto& row : rows.rows) {
    if (!row.irq) continue;
    out.sample("irqbpfd_irq_interrupts_total", irq_labels(raw(*row.irq)),
               std::accumulate(row.counts.begin(), row.counts.end(), std::uint64_t{0}));
  }
  if (options.per_cpu) {
    out.family("irqbpfd_irq_cpu_interrupts_total", "counter", "Interrupts of each IRQ on each CPU since boot.");
    for (const auto& row : rows.rows) {
      if (!row.irq) continue;
      for (std::size_t i = 0; i < row.counts.size() && i < rows.cpus.size(); ++i) {
        out.sample("irqbpfd_irq_cpu_interrupts_total",
                   fmt::format("{},cpu=\"{}\"", irq_labels(raw(*row.irq)), raw(rows.cpus[i])),
                   row.counts[i]);
      }
    }
  }
  if (reading.bpf) {
    std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> per_irq;  // handler, softirq ns
    std::map<std::uint32_t, std::uint64_t> runs;
    for (const auto& cell : reading.bpf->cells) {
      auto& [hard, soft] = per_irq[raw(cell.irq)];
      hard += cell.hardirq_ns;
      soft += cell.softirq_ns;
      runs[raw(cell.irq)] += cell.count;
    }
    out.family("irqbpfd_irq_handler_runs_total", "counter", "Handler runs of each IRQ measured by BPF since the programs loaded.");
    for (const auto& [irq, n] : runs) out.sample("irqbpfd_irq_handler_runs_total", irq_labels(irq), n);
    out.family("irqbpfd_irq_handler_seconds_total", "counter", "Time in each IRQ's handlers, measured by BPF.");
    for (const auto& [irq, t] : per_irq) out.sample("irqbpfd_irq_handler_seconds_total", irq_labels(irq), seconds(t.first));
    out.family("irqbpfd_irq_softirq_seconds_total", "counter",
               "Softirq time charged to the IRQ whose handler raised it, measured by BPF.");
    for (const auto& [irq, t] : per_irq) out.sample("irqbpfd_irq_softirq_seconds_total", irq_labels(irq), seconds(t.second));
    out.family("irqbpfd_cpu_softirq_vector_seconds_total", "counter",
               "Softirq time per CPU and vector (nested hardirq time taken out), measured by BPF.");
    for (const auto& cpu : reading.bpf->cpus) {
      for (std::size_t v = 0; v < collect::kSoftirqVectors; ++v) {
        if (cpu.softirq_ns[v] == 0) continue;
        out.sample("irqbpfd_cpu_softirq_vector_seconds_total", fmt::format("cpu=\"{}\",vector=\"{}\"", raw(cpu.cpu), collect::kSoftirqNames[v]),
                   seconds(cpu.softirq_ns[v]));
      }
    }
    out.family("irqbpfd_cpu_softirq_unattributed_seconds_total", "counter",
               "The part of a CPU's softirq time no device IRQ raised (timers, RCU, ...), measured by BPF.");
    for (const auto& cpu : reading.bpf->cpus) {
      const std::uint64_t sum = std::accumulate(cpu.unattributed_ns.begin(), cpu.unattributed_ns.end(), std::uint64_t{0});
      if (sum > 0) out.sample("irqbpfd_cpu_softirq_unattributed_seconds_total", fmt::format("cpu=\"{}\"", raw(cpu.cpu)), seconds(sum));
    }
  }
  if (reading.stat) {
    const double hz = options.user_hz == 0 ? 100.0 : static_cast<double>(options.user_hz);
    out.family("irqbpfd_cpu_irq_seconds_total", "counter", "Hardirq time per CPU since boot (/proc/stat).");
    for (const auto& t : reading.stat->cpus) {
      out.sample("irqbpfd_cpu_irq_seconds_total", fmt::format("cpu=\"{}\"", raw(t.cpu)),
                 fmt::format("{:.2f}", static_cast<double>(t.irq) / hz));
    }
    out.family("irqbpfd_cpu_softirq_seconds_total", "counter", "Softirq time per CPU since boot (/proc/stat).");
    for (const auto& t : reading.stat->cpus) {
      out.sample("irqbpfd_cpu_softirq_seconds_total", fmt::format("cpu=\"{}\"", raw(t.cpu)),
                 fmt::format("{:.2f}", static_cast<double>(t.softirq) / hz));
    }
  }

  out.family("irqbpfd_collector_info", "gauge", "Where the loads come from: bpf (measured) or proc (estimated).");
  out.sample("irqbpfd_collector_info", fmt::format("collector=\"{}\",version=\"{}\"", escape_label(c.collector),
                                                   escape_label(c.version)),
             1);
  out.family("irqbpfd_dry_run", "gauge", "1 when the daemon only plans and writes nothing.");
  out.sample("irqbpfd_dry_run", "", c.dry_run ? 1 : 0);
  out.family("irqbpfd_interval_seconds", "gauge", "Seconds between balancing cycles.");
  out.sample("irqbpfd_interval_seconds", "", c.interval_s);
  out.family("irqbpfd_cycles_total", "counter", "Balancing cycles run since the daemon started.");
  out.sample("irqbpfd_cycles_total", "", c.cycles);
  out.family("irqbpfd_moves_total", "counter", "Affinity writes that took effect since the daemon started.");
  out.sample("irqbpfd_moves_total", "", c.moves);
  out.family("irqbpfd_affinity_writes_total", "counter", "Affinity writes by outcome since the daemon started.");
  for (const auto& [outcome, n] : c.writes_by_outcome) {
    out.sample("irqbpfd_affinity_writes_total", fmt::format("outcome=\"{}\"", escape_label(outcome)), n);
  }
  out.family("irqbpfd_rescans_total", "counter", "Rescans of IRQs, CPUs and topology since the daemon started.");
  out.sample("irqbpfd_rescans_total", "", c.rescans);
  out.family("irqbpfd_cycle_duration_seconds", "gauge", "Wall time of the last cycle's work (read, snapshot, plan, apply).");
  out.sample("irqbpfd_cycle_duration_seconds", "", fmt::format("{:.6f}", c.last_cycle_s));
  out.family("irqbpfd_hottest_cpu_load_ratio", "gauge", "The hottest CPU's IRQ load in the last window, as a share of one CPU.");
  out.sample("irqbpfd_hottest_cpu_load_ratio", "", fmt::format("{:.6f}", c.hottest_cpu_load));
  return out.take();
}

}  // namespace irqbpfd::report
