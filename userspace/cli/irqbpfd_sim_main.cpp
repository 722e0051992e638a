// irqbpfd-sim: the simulator's command line (what `irqbpfd simulate` runs).
// A developer tool apart from the daemon binary, so that irqbpfd carries
// neither the simulator nor the irqbalance runner; CLI11 only, no logic.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include "irqbpfd/sim/simulator.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "irqbpfd-sim: run the balancer in a closed loop on a simulated machine (a scenario file, e.g. "
      "tests/sim/scenarios/); also run as `irqbpfd simulate`"};
  app.set_version_flag("--version", std::string("irqbpfd-sim ") + IRQBPFD_VERSION);

  irqbpfd::sim::SimOptions sim_options;
  std::string scenario;
  std::string sim_root;
  std::uint32_t sim_ticks = 0;
  app.add_option("scenario", scenario, "Scenario file (TOML)")->required()->check(CLI::ExistingFile);
  app.add_option("--collector", sim_options.collector,
                 "replay: per-IRQ time as the BPF programs measure it; oracle: each IRQ's exact own time; "
                 "proc: irqbalance's estimate")
      ->check(CLI::IsMember({"replay", "oracle", "proc"}));
  std::string irqbalance_path, irqbalance_log;
  app.add_option("--balancer", sim_options.balancer,
                 "irqbpfd: this project's balancer; irqbalance: Debian's irqbalance as a peer, in a private "
                 "mount namespace over the fake machine (root; scripts/fetch-irqbalance.sh)")
      ->check(CLI::IsMember({"irqbpfd", "irqbalance"}));
  app.add_option("--irqbalance", irqbalance_path,
                 "The irqbalance binary (default: $IRQBPFD_IRQBALANCE, else /var/cache/irqbpfd/peer/irqbalance)")
      ->type_name("PATH");
  app.add_option("--irqbalance-log", irqbalance_log, "Keep irqbalance's output in FILE")->type_name("FILE");
  app.add_flag("--irqbalance-debug", sim_options.irqbalance_debug,
               "Run irqbalance with --debug (its tree per scan in the log; costs it CPU time)");
  app.add_option("--ticks", sim_ticks, "Run this many ticks instead of the scenario's")->check(CLI::PositiveNumber);
  app.add_option("--refresh-cycles", sim_options.affinity_refresh_cycles,
                 "Re-read every IRQ's affinity files every N cycles (the daemon's affinity_refresh_cycles)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--keep-root", sim_root, "Keep the fake machine root in DIR")->type_name("DIR");
  app.add_flag("--json", sim_options.json, "JSON instead of the table");
  app.add_flag("--verbose", sim_options.verbose, "Every move with its reason");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a bad command line is a usage error (2),
    // as for irqbpfd.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (sim_ticks > 0) sim_options.ticks = sim_ticks;
  if (!sim_root.empty()) sim_options.root = sim_root;
  if (!irqbalance_path.empty()) sim_options.irqbalance = irqbalance_path;
  if (!irqbalance_log.empty()) sim_options.irqbalance_log = irqbalance_log;
  return irqbpfd::sim::run_simulate_command(scenario, sim_options, stdout);
}
