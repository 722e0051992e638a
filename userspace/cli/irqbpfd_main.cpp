// irqbpfd: command-line front end. Parses flags with CLI11 and hands off to
// the daemon (measure) and report modules; no logic of its own. `simulate`
// execs the separate irqbpfd-sim.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/api/server.hpp"
#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/apply/apply_plan.hpp"
#include "irqbpfd/apply/kernel_files.hpp"
#include "irqbpfd/collect/bpf_programs.hpp"
#include "irqbpfd/sys/cpus.hpp"
#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/daemon/config.hpp"
#include "irqbpfd/daemon/measure.hpp"
#include "irqbpfd/daemon/service.hpp"
#include "irqbpfd/report/report.hpp"

namespace {

using irqbpfd::report::Columns;

int fail(const std::string& message, int code) {
  std::fprintf(stderr, "irqbpfd: %s\n", message.c_str());
  return code;
}

// `irqbpfd simulate ARGS` runs `irqbpfd-sim ARGS`: the simulator and the
// irqbalance runner are a developer tool, not part of the daemon binary.
// Looks beside this executable first (a build tree's bin/), then on PATH.
// Returns only when neither runs: 2, with what it looked for.
int exec_simulator(const std::vector<std::string>& args) {
  static constexpr const char* kSim = "irqbpfd-sim";
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(kSim));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(nullptr);

  // This process's own executable, not the machine's /proc: --root does not apply.
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::string beside = "(this executable's directory: unknown)";
  if (!ec) {
    beside = (self.parent_path() / kSim).string();
    if (::access(beside.c_str(), X_OK) == 0) {
      ::execv(beside.c_str(), argv.data());
      return fail(fmt::format("simulate: cannot run {}: {}", beside, std::strerror(errno)), 2);
    }
  }
  ::execvp(kSim, argv.data());
  if (errno != ENOENT) return fail(fmt::format("simulate: cannot run {} from PATH: {}", kSim, std::strerror(errno)), 2);
  const char* path = std::getenv("PATH");  // unset: execvp searches /bin:/usr/bin
  return fail(fmt::format("simulate: {} not found: looked for {}, then on PATH ({}). It is a developer tool, "
                          "built with the source tree (build/release/bin/{}) and not shipped in the package",
                          kSim, beside, path != nullptr ? path : "unset: /bin:/usr/bin", kSim),
              2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "simulate") {
    return exec_simulator(std::vector<std::string>(argv + 2, argv + argc));
  }
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
  std::uint32_t sample_every = 1;
  auto* sample_opt =
      app.add_option("--hardirq-sample-every", sample_every,
                     "With bpf: time one hardirq handler run in N (a power of two up to 64) and scale it by N; "
                     "counts stay exact, the per-interrupt cost drops (default 1: time every run)")
          ->type_name("N")
          ->check([](const std::string& text) {
            std::uint64_t n = 0;
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
            if (ec != std::errc() || p != text.data() + text.size()) return std::string("not a whole number");
            return irqbpfd::collect::check_hardirq_sample_every(n);
          });
  app.add_flag("--compare-estimate", measure.compare_estimate,
               "With bpf: also show the /proc estimate of each IRQ's load beside the measurement");
  app.add_option("--format", format, "Output format")->check(CLI::IsMember({"table", "json"}));
  app.add_option("--threshold", threshold, "Verdict: share spread (points) still called balanced")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--cpus", cpus_text, "Only these CPUs (list, e.g. 0-3,8)")->type_name("LIST");
  app.add_option("--columns", columns, "Share columns per cpu, node, package, or the busiest CPUs (top)")
      ->check(CLI::IsMember({"auto", "cpu", "node", "package", "top"}));
  std::string per_cpu = "all";
  app.add_option("--per-cpu", per_cpu,
                 "JSON: each IRQ's per_cpu lists every CPU (all) or only those it ran on or cost time (active)")
      ->check(CLI::IsMember({"all", "active"}));

  // Balancing policy and the daemon: these also come from the config file;
  // a flag given here wins over it.
  irqbpfd::daemon::ServiceOptions service;
  irqbpfd::daemon::ConfigOverrides& ov = service.overrides;
  std::string banned_cpus, numa, log_level;
  std::uint32_t powerthresh = 0;
  double interval = 10;
  auto* banned_opt = app.add_option("--banned-cpus", banned_cpus, "Never place IRQs on these CPUs (list)")->type_name("LIST");
  app.add_option("--ban-irq", ov.ban_irq, "Leave this IRQ alone: a number or a name pattern (glob)")->type_name("N|GLOB");
  app.add_option("--ban-driver", ov.ban_driver, "Leave IRQs of this driver alone")->type_name("NAME");
  auto* numa_opt = app.add_option("--numa", numa, "strict: keep IRQs on their device's node; prefer: spill when saturated")
                       ->check(CLI::IsMember({"strict", "prefer"}));
  auto* power_opt = app.add_option("--powerthresh", powerthresh,
                                   "Drain a CPU for power saving when this many CPUs are under-loaded")
                        ->type_name("N");
  auto* config_opt = app.add_option("--config", service.config_file,
                                    "Configuration file (TOML; default /etc/irqbpfd.conf, which may be absent)")
                         ->type_name("FILE");
  auto* interval_opt = app.add_option("--interval", interval, "Seconds between cycles (daemon; fractional allowed)")
                           ->type_name("SECONDS")
                           ->check(CLI::PositiveNumber);
  app.add_flag("--restore-on-exit", ov.restore_on_exit, "On SIGTERM/SIGINT write back the masks found at start");
  app.add_flag("--force", service.force, "Start even while irqbalance runs");
  app.add_flag("--daemon", service.daemonize, "Fork to the background (sysv init), write --pidfile, log to syslog");
  app.add_option("--pidfile", service.pidfile, "With --daemon (default /run/irqbpfd.pid)")->type_name("FILE");
  std::string lock_file;
  app.add_option("--lock-file", lock_file, "One instance per machine (default /run/irqbpfd/irqbpfd.lock under the root)")
      ->type_name("FILE");
  irqbpfd::api::ServerOptions api;
  std::string listen = "127.0.0.1:5000", socket_path, token_file;
  bool no_http = false, no_socket = false;
  auto* listen_opt = app.add_option("--listen", listen, "The API's TCP address (default 127.0.0.1:5000)")
                         ->type_name("ADDR:PORT");
  app.add_flag("--no-http", no_http, "No TCP listener (the Unix socket stays)");
  app.add_option("--socket", socket_path, "The API's Unix socket (default /run/irqbpfd/irqbpfd.sock under the root; mode 0600)")
      ->type_name("PATH");
  app.add_flag("--no-socket", no_socket, "No Unix socket");
  app.add_option("--token-file", token_file,
                 "Bearer token for changes over TCP (default /run/irqbpfd/api.token under the root; made 0600 if absent)")
      ->type_name("FILE");
  auto* level_opt = app.add_option("--log-level", log_level, "Least level logged")
                        ->check(CLI::IsMember({"debug", "info", "notice", "warning", "error"}));

  // The simulator is its own binary (irqbpfd-sim): main() hands
  // `irqbpfd simulate ARGS` to it before parsing; this entry lists it in
  // --help and catches `simulate` after other options.
  CLI::App* simulate = app.add_subcommand(
      "simulate", "Run irqbpfd-sim with the remaining arguments: the balancer in a closed loop on a simulated "
                  "machine (a developer tool, not in the package; see irqbpfd-sim --help)");
  simulate->prefix_command();
  simulate->set_help_flag();

  // A value given twice (the unit's flags, then IRQBPFD_ARGS): the last wins.
  for (CLI::Option* o : {interval_opt, level_opt, numa_opt, config_opt, power_opt, banned_opt, sample_opt}) {
    o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  app.get_option("--collector")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.get_option("--lock-file")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  listen_opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a bad command line is a usage error (2),
    // not one of CLI11's own codes.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*simulate) return exec_simulator(simulate->remaining());
  if (*banned_opt) ov.banned_cpus = banned_cpus;
  if (*numa_opt) ov.numa = numa;
  if (*power_opt) ov.powerthresh = powerthresh;
  if (*interval_opt) ov.interval_s = interval;
  if (*level_opt) ov.log_level = irqbpfd::daemon::parse_log_level(log_level);
  if (app.count("--collector") > 0) ov.collector = measure.collector;
  if (*sample_opt) ov.hardirq_sample_every = sample_every;
  ov.dry_run = dry_run;
  service.config_given = config_opt->count() > 0;
  service.root = measure.root;
  if (!lock_file.empty()) service.lock_file = lock_file;

  if (!once) {
    const irqbpfd::sys::SysRoot root(service.root);
    if (!no_http) api.listen = listen;
    else api.listen.reset();
    if (!no_socket) api.socket = socket_path.empty() ? root.path("/run/irqbpfd/irqbpfd.sock") : std::filesystem::path(socket_path);
    api.token_file = token_file.empty() ? root.path("/run/irqbpfd/api.token") : std::filesystem::path(token_file);
    api.version = IRQBPFD_VERSION;
    (void)listen_opt;
    service.start_api = [api](irqbpfd::daemon::DaemonControl& control, irqbpfd::daemon::Logger& log)
        -> irqbpfd::core::Result<std::shared_ptr<void>> {
      auto server = irqbpfd::api::Server::start(api, control);
      if (!server) return server.error();
      std::string where = "no TCP";
      if (api.listen) {
        auto hp = irqbpfd::api::parse_listen(*api.listen);
        where = fmt::format("http://{}:{}", hp ? hp->first : std::string("?"), (*server)->port());
      }
      log.info(fmt::format("API on {}{}", where, api.socket ? " and " + api.socket->string() : std::string()));
      return std::shared_ptr<void>(std::move(*server));
    };
    return irqbpfd::daemon::run_service(service);
  }

  // --once: one measured window, one plan, applied unless --dry-run.
  auto config = irqbpfd::daemon::resolve_config(service);
  if (!config) return fail(config.error().message, 2);
  const auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  auto policy = irqbpfd::daemon::make_policy(*config, env("IRQBALANCE_BANNED_CPUS"), env("IRQBALANCE_BANNED_CPULIST"));
  if (!policy) return fail(policy.error().message, 2);
  measure.collector = config->collector;
  measure.hardirq_sample_every = config->hardirq_sample_every;

  irqbpfd::report::ReportOptions report;
  report.version = IRQBPFD_VERSION;
  report.threshold_pct = threshold;
  static const std::map<std::string, Columns> kColumns = {{"auto", Columns::kAuto},
                                                          {"cpu", Columns::kCpu},
                                                          {"node", Columns::kNode},
                                                          {"package", Columns::kPackage},
                                                          {"top", Columns::kTop}};
  report.columns = kColumns.at(columns);
  report.active_per_cpu_only = per_cpu == "active";
  if (!cpus_text.empty()) {
    auto cpus = irqbpfd::core::CpuSet::parse_list(cpus_text);
    if (!cpus) return fail("--cpus: " + cpus.error().message, 2);
    report.cpus = *cpus;
  }
  if (!interrupts_file.empty()) measure.interrupts_file = interrupts_file;

  irqbpfd::core::SteadyClock clock;
  // Applied unless --dry-run (a saved capture has nothing to apply).
  std::optional<irqbpfd::apply::SysRootFiles> files;
  std::optional<irqbpfd::apply::ProcAffinityWriter> writer;
  if (!config->dry_run && !measure.interrupts_file) {
    const irqbpfd::sys::SysRoot root(measure.root);
    auto nr_cpu_ids = irqbpfd::sys::read_nr_cpu_ids(root);
    if (!nr_cpu_ids) return fail(nr_cpu_ids.error().message, 1);
    files.emplace(root);
    writer.emplace(*files, *nr_cpu_ids);
  }
  // The configuration's rules apply as they do in the daemon.
  const auto rules = [&](const irqbpfd::sys::IrqInventory& inventory) {
    return irqbpfd::daemon::resolve_rules(config->rules, inventory, *policy);
  };
  auto result = irqbpfd::daemon::run_once(measure, rules, writer ? &*writer : nullptr, clock);
  if (!result) return fail(result.error().message, 1);
  const std::optional<irqbpfd::apply::ApplyReport>& applied = result->applied;
  if (applied) {
    report.dry_run = false;
    for (const auto& mr : applied->results) {
      const auto& w = mr.result;
      report.applied.push_back({w.irq, w.requested, std::string(irqbpfd::apply::to_string(w.outcome)), w.message});
    }
  }
  const std::string text = format == "json" ? irqbpfd::report::render_json(result->snapshot, report, &result->plan)
                                            : irqbpfd::report::render_table(result->snapshot, report, &result->plan);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (std::fflush(stdout) != 0) return 1;
  return applied && !applied->all_applied() ? irqbpfd::daemon::kExitNotApplied : 0;
}
