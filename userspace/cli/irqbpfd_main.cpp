// irqbpfd: command-line front end. Parses flags with CLI11 and hands off to
// the daemon (measure) and report modules; no logic of its own.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/daemon/measure.hpp"
#include "irqbpfd/report/report.hpp"
#include "irqbpfd/sim/simulator.hpp"

namespace {

using irqbpfd::report::Columns;

int fail(const std::string& message, int code) {
  std::fprintf(stderr, "irqbpfd: %s\n", message.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"irqbpfd: an IRQ balancer that measures instead of guessing"};
  app.set_version_flag("--version", std::string("irqbpfd ") + IRQBPFD_VERSION);

  bool once = false;
  bool dry_run = false;
  std::string format = "table";
  std::string columns = "auto";
  std::string cpus_text;
  double threshold = 10;
  irqbpfd::daemon::MeasureOptions measure;
  std::string interrupts_file;

  app.add_flag("--once", once, "Measure one window, report (and later apply) once, then exit");
  app.add_flag("--dry-run", dry_run, "Never write affinities; print what would change");
  app.add_option("--root", measure.root, "Machine root: read /proc and /sys (and hwloc) under DIR")
      ->type_name("DIR");
  app.add_option("--sample", measure.sample_s, "Seconds between the two readings; 0 = counts since boot")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--interrupts-file", interrupts_file, "Analyse a saved /proc/interrupts capture instead")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  app.add_option("--collector", measure.collector,
                 "Where counts come from: bpf (measured; needs CAP_BPF+CAP_PERFMON), proc (irqbalance's estimate), "
                 "auto (bpf, else proc, saying why)")
      ->check(CLI::IsMember({"auto", "bpf", "proc"}));
  app.add_flag("--compare-estimate", measure.compare_estimate,
               "With bpf: also show the /proc estimate of each IRQ's load beside the measurement");
  app.add_option("--format", format, "Output format")->check(CLI::IsMember({"table", "json"}));
  app.add_option("--threshold", threshold, "Verdict: share spread (points) still called balanced")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--cpus", cpus_text, "Only these CPUs (list, e.g. 0-3,8)")->type_name("LIST");
  app.add_option("--columns", columns, "Share columns per cpu, node, package, or the busiest CPUs (top)")
      ->check(CLI::IsMember({"auto", "cpu", "node", "package", "top"}));

  irqbpfd::daemon::PolicyOptions policy_options;
  app.add_option("--banned-cpus", policy_options.banned_cpus, "Never place IRQs on these CPUs (list)")
      ->type_name("LIST");
  app.add_option("--ban-irq", policy_options.ban_irqs, "Leave this IRQ alone: a number or a name pattern (glob)")
      ->type_name("N|GLOB");
  app.add_option("--ban-driver", policy_options.ban_drivers, "Leave IRQs of this driver alone")->type_name("NAME");
  app.add_option("--numa", policy_options.numa, "strict: keep IRQs on their device's node; prefer: spill when saturated")
      ->check(CLI::IsMember({"strict", "prefer"}));
  app.add_option("--powerthresh", policy_options.power_threshold,
                 "Drain a CPU for power saving when this many CPUs are under-loaded")
      ->type_name("N");

  irqbpfd::sim::SimOptions sim_options;
  std::string scenario;
  std::string sim_root;
  std::uint32_t sim_ticks = 0;
  CLI::App* simulate = app.add_subcommand(
      "simulate", "Run the balancer in a closed loop on a simulated machine (a scenario file, e.g. tests/sim/scenarios/)");
  simulate->add_option("scenario", scenario, "Scenario file (TOML)")->required()->check(CLI::ExistingFile);
  simulate->add_option("--collector", sim_options.collector,
                       "replay: exact per-IRQ time (what BPF measures); proc: irqbalance's estimate")
      ->check(CLI::IsMember({"replay", "proc"}));
  std::string irqbalance_path, irqbalance_log;
  simulate->add_option("--balancer", sim_options.balancer,
                       "irqbpfd: this project's balancer; irqbalance: Debian's irqbalance as a peer, in a private "
                       "mount namespace over the fake machine (root; scripts/fetch-irqbalance.sh)")
      ->check(CLI::IsMember({"irqbpfd", "irqbalance"}));
  simulate->add_option("--irqbalance", irqbalance_path,
                       "The irqbalance binary (default: $IRQBPFD_IRQBALANCE, else /var/cache/irqbpfd/peer/irqbalance)")
      ->type_name("PATH");
  simulate->add_option("--irqbalance-log", irqbalance_log, "Keep irqbalance's output in FILE")->type_name("FILE");
  simulate->add_flag("--irqbalance-debug", sim_options.irqbalance_debug,
                     "Run irqbalance with --debug (its tree per scan in the log; costs it CPU time)");
  simulate->add_option("--ticks", sim_ticks, "Run this many ticks instead of the scenario's")->check(CLI::PositiveNumber);
  simulate->add_option("--keep-root", sim_root, "Keep the fake machine root in DIR")->type_name("DIR");
  simulate->add_flag("--json", sim_options.json, "JSON instead of the table");
  simulate->add_flag("--verbose", sim_options.verbose, "Every move with its reason");

  CLI11_PARSE(app, argc, argv);
  if (*simulate) {
    if (sim_ticks > 0) sim_options.ticks = sim_ticks;
    if (!sim_root.empty()) sim_options.root = sim_root;
    if (!irqbalance_path.empty()) sim_options.irqbalance = irqbalance_path;
    if (!irqbalance_log.empty()) sim_options.irqbalance_log = irqbalance_log;
    return irqbpfd::sim::run_simulate_command(scenario, sim_options, stdout);
  }
  if (const char* v = std::getenv("IRQBALANCE_BANNED_CPUS")) policy_options.env_banned_mask = v;
  if (const char* v = std::getenv("IRQBALANCE_BANNED_CPULIST")) policy_options.env_banned_list = v;

  if (!once) {
    return fail("the balancing daemon is not built yet; run `irqbpfd --once --dry-run` for the report", 2);
  }
  if (!dry_run) {
    return fail("applying affinities is not built yet; add --dry-run to report without writing", 2);
  }

  irqbpfd::report::ReportOptions report;
  report.version = IRQBPFD_VERSION;
  report.threshold_pct = threshold;
  static const std::map<std::string, Columns> kColumns = {{"auto", Columns::kAuto},
                                                          {"cpu", Columns::kCpu},
                                                          {"node", Columns::kNode},
                                                          {"package", Columns::kPackage},
                                                          {"top", Columns::kTop}};
  report.columns = kColumns.at(columns);
  if (!cpus_text.empty()) {
    auto cpus = irqbpfd::core::CpuSet::parse_list(cpus_text);
    if (!cpus) return fail("--cpus: " + cpus.error().message, 2);
    report.cpus = *cpus;
  }
  if (!interrupts_file.empty()) measure.interrupts_file = interrupts_file;

  auto policy = irqbpfd::daemon::make_policy(policy_options);
  if (!policy) return fail(policy.error().message, 2);

  irqbpfd::core::SteadyClock clock;
  auto result = irqbpfd::daemon::measure_and_plan(measure, *policy, clock);
  if (!result) return fail(result.error().message, 1);

  const std::string text = format == "json" ? irqbpfd::report::render_json(result->snapshot, report, &result->plan)
                                            : irqbpfd::report::render_table(result->snapshot, report, &result->plan);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
