// Report: the Snapshot as a human table (IRQs, per-CPU summary, topology)
// and as JSON. Pure functions: same snapshot, byte-identical text. The JSON
// field names are a contract shared with the API and other tools.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/balance/balancer.hpp"
#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/model/snapshot.hpp"
#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::report {

// How the per-IRQ share columns are laid out. kAuto picks kCpu up to
// kMaxCpuColumns CPUs, else kNode when there are 2..16 nodes, else kPackage
// when there are up to 16 packages, else kTop (the busiest CPUs per IRQ).
enum class Columns { kAuto, kCpu, kNode, kPackage, kTop };
inline constexpr std::size_t kMaxCpuColumns = 16;

// One affinity write of an applied plan, as the report shows it.
struct AppliedRow {
  core::IrqNumber irq{};
  core::CpuSet to;
  std::string outcome;  // done, unchanged, managed, no-vectors, invalid, vanished, failed
  std::string message;
};

struct ReportOptions {
  double threshold_pct = 10;           // seed verdict threshold
  std::optional<core::CpuSet> cpus;    // --cpus: only these CPUs (columns, verdict, summary)
  Columns columns = Columns::kAuto;
  std::string version;                 // printed in the header and JSON
  bool dry_run = true;                 // the plan was only shown (false: applied, see `applied`)
  std::vector<AppliedRow> applied;     // what the writes did, when applied
  // JSON: each IRQ's per_cpu lists every selected CPU (false) or only those
  // where it counted or cost time in the window (true): on 256 CPUs x 2000
  // IRQs the full list is half a million entries, nearly all zero.
  bool active_per_cpu_only = false;
};

// With a plan, the table ends with what would change and the JSON gains
// `plan` ([{irq, from, to, reason}]), `plan_summary`, `held` and each IRQ's
// `planned_affinity`; when it was applied, also `applied` ([{irq, to,
// outcome, message}]) and `dry_run` false.
std::string render_table(const model::Snapshot& snapshot, const ReportOptions& options,
                         const balance::Plan* plan = nullptr);
std::string render_json(const model::Snapshot& snapshot, const ReportOptions& options,
                        const balance::Plan* plan = nullptr);
std::string render_topology(const topology::Machine& machine);

// "CPU3" or "balanced", as the JSON `verdict` field spells it.
std::string verdict_text(const model::IrqSnapshot& irq, const core::CpuSet& cpus, double threshold_pct);
// The CPUs a report covers: the online CPUs, narrowed by --cpus.
core::CpuSet selected_cpus(const model::Snapshot& snapshot, const ReportOptions& options);

}  // namespace irqbpfd::report
