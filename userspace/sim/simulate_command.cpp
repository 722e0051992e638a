// `irqbpfd-sim SCENARIO` (which `irqbpfd simulate` runs): runs a scenario
// file through the closed loop and prints the per-tick table and a summary
// per steady phase, or the same facts as JSON (field names as in SimResult).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "irqbpfd/sim/simulator.hpp"

namespace irqbpfd::sim {
namespace {

std::string pct(double share) { return fmt::format("{:.1f}", 100.0 * share); }

std::string irq_list(const std::vector<core::IrqNumber>& irqs) {
  std::string out;
  for (core::IrqNumber i : irqs) out += fmt::format("{}{}", out.empty() ? "" : ",", core::raw(i));
  return out;
}

}  // namespace

std::string format_table(const SimResult& r, bool verbose) {
  const std::string who = r.peer ? fmt::format("balancer irqbalance (pid {}, {})", r.peer->pid, r.peer->mount_ns)
                                 : fmt::format("collector {}", r.collector);
  std::string out = fmt::format("scenario {}: {} CPUs ({}), {}, {} ticks of {} s\n", r.scenario, r.nr_cpus, r.topology,
                                who, r.ticks.size(), r.tick_s);
  out += fmt::format("{:>5} {:>6} {:>7} {:>6} {:>7} {:>7} {:>8}  {}\n", "tick", "writes", "max%", "std%", "hottest",
                     "bound%", r.peer ? "scan_us" : "plan_us", "events");
  for (const TickRecord& t : r.ticks) {
    std::string notes;
    for (const std::string& n : t.notes) notes += (notes.empty() ? "" : "; ") + n;
    out += fmt::format("{:>5} {:>6} {:>7} {:>6} {:>7} {:>7} {:>8.0f}  {}\n", t.tick, t.writes, pct(t.max_load),
                       pct(t.std_load), fmt::format("cpu{}", core::raw(t.hottest)), pct(t.lower_bound), t.plan_us,
                       notes);
    if (verbose) {
      for (const SimMove& m : t.moves) {
        out += fmt::format("{:>14} irq {}: {} -> {}: {}\n", "", core::raw(m.irq), m.from.to_list(), m.to.to_list(),
                           m.reason);
      }
    }
  }
  out += "phases:\n";
  for (const PhaseResult& p : r.phases) {
    const std::string conv = p.converged_at ? fmt::format("converged at tick {} ({} cycles)", *p.converged_at,
                                                          *p.converged_at - p.start)
                                            : std::string("not converged");
    const double over = p.lower_bound > 0 ? 100.0 * (p.final_max / p.lower_bound - 1.0) : 0.0;
    out += fmt::format("  ticks {}-{}: {}; max {}% vs bound {}% ({:+.1f}%); {} writes{}\n", p.start, p.end - 1, conv,
                       pct(p.final_max), pct(p.lower_bound), over, p.writes,
                       p.flapped.empty() ? "" : fmt::format("; flapped: irq {}", irq_list(p.flapped)));
  }
  if (r.peer) {
    const PeerSummary& p = *r.peer;
    out += fmt::format(
        "total: {} writes; irqbalance CPU time per scan mean {:.0f} us, max {:.0f} us; start-up {:.1f} ms; "
        "whole run {:.1f} ms (utime+stime {:.0f} ms); peak RSS {} kB; {} CPU tree rescans; wall {:.1f} s\n",
        r.total_writes, r.mean_plan_us, r.max_plan_us, p.startup_cpu_us / 1e3, p.exec_cpu_ms, p.stat_cpu_ms,
        p.peak_rss_kb, p.topology_rescans, p.wall_s);
    std::string cmd;
    for (const std::string& a : p.command) cmd += (cmd.empty() ? "" : " ") + a;
    out += fmt::format("irqbalance: {}{}\n", cmd,
                       p.banned_cpulist.empty() ? "" : " with IRQBALANCE_BANNED_CPULIST=" + p.banned_cpulist);
    return out;
  }
  out += fmt::format("total: {} writes; plan CPU time mean {:.0f} us, max {:.0f} us\n", r.total_writes,
                     r.mean_plan_us, r.max_plan_us);
  return out;
}

std::string format_json(const SimResult& r) {
  using nlohmann::json;
  json ticks = json::array();
  for (const TickRecord& t : r.ticks) {
    json moves = json::array();
    for (const SimMove& m : t.moves) {
      moves.push_back({{"irq", core::raw(m.irq)},
                       {"from", m.from.to_list()},
                       {"to", m.to.to_list()},
                       {"reason", m.reason},
                       {"refused", m.refused}});
    }
    ticks.push_back({{"tick", t.tick},
                     {"online", t.online.to_list()},
                     {"cpu_load_pct", [&] {
                        json a = json::array();
                        for (double l : t.cpu_load) a.push_back(100.0 * l);
                        return a;
                      }()},
                     {"max_load_pct", 100.0 * t.max_load},
                     {"std_load_pct", 100.0 * t.std_load},
                     {"hottest_cpu", core::raw(t.hottest)},
                     {"lower_bound_pct", 100.0 * t.lower_bound},
                     {"forbidden_load_pct", 100.0 * t.forbidden_load},
                     {"writes", t.writes},
                     {"refused_writes", t.refused_writes},
                     {"writes_to_offline", t.writes_to_offline},
                     {"plan_us", t.plan_us},
                     {"plan_stat_ms", t.plan_stat_ms},
                     {"model_max_pct", 100.0 * t.model_max},
                     {"plan_summary", t.plan_summary},
                     {"moves", moves},
                     {"notes", t.notes}});
  }
  json phases = json::array();
  for (const PhaseResult& p : r.phases) {
    json flapped = json::array();
    for (core::IrqNumber i : p.flapped) flapped.push_back(core::raw(i));
    phases.push_back({{"start", p.start},
                      {"end", p.end},
                      {"converged_at", p.converged_at ? json(*p.converged_at) : json(nullptr)},
                      {"writes", p.writes},
                      {"final_max_pct", 100.0 * p.final_max},
                      {"lower_bound_pct", 100.0 * p.lower_bound},
                      {"tolerance_pct", p.tolerance_pct},
                      {"flapped", flapped}});
  }
  json peer = nullptr;
  if (r.peer) {
    const PeerSummary& p = *r.peer;
    peer = {{"command", p.command},
            {"banned_cpulist", p.banned_cpulist},
            {"pid", p.pid},
            {"mount_ns", p.mount_ns},
            {"host_mount_ns", p.host_mount_ns},
            {"startup_cpu_us", p.startup_cpu_us},
            {"exec_cpu_ms", p.exec_cpu_ms},
            {"stat_cpu_ms", p.stat_cpu_ms},
            {"peak_rss_kb", p.peak_rss_kb},
            {"topology_rescans", p.topology_rescans},
            {"wall_s", p.wall_s},
            {"log", p.log}};
  }
  const json doc = {{"scenario", r.scenario},
                    {"balancer", r.balancer},
                    {"peer", peer},
                    {"collector", r.collector},
                    {"topology", r.topology},
                    {"nr_cpus", r.nr_cpus},
                    {"tick_s", r.tick_s},
                    {"converged_at", r.converged_at ? json(*r.converged_at) : json(nullptr)},
                    {"total_writes", r.total_writes},
                    {"mean_plan_us", r.mean_plan_us},
                    {"max_plan_us", r.max_plan_us},
                    {"phases", phases},
                    {"ticks", ticks}};
  return doc.dump(2) + "\n";
}

int run_simulate_command(const std::string& scenario_path, const SimOptions& options, std::FILE* out) {
  auto scenario = load_scenario(scenario_path);
  if (!scenario) {
    fmt::print(stderr, "irqbpfd-sim: {}\n", scenario.error().message);
    return 1;
  }
  auto result = run_simulation(*scenario, options);
  if (!result) {
    fmt::print(stderr, "irqbpfd-sim: {}: {}\n", scenario_path, result.error().message);
    return 1;
  }
  fmt::print(out, "{}", options.json ? format_json(*result) : format_table(*result, options.verbose));
  return 0;
}

}  // namespace irqbpfd::sim
