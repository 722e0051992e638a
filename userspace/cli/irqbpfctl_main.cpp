// irqbpfctl: command-line front end of irqbpfd's API. Parses flags with
// CLI11 and hands off to the api commands (and tui for `top`); no logic of
// its own. Exit status: 0 done, 1 the call failed or was refused, 2 usage.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "irqbpfd/api/client.hpp"
#include "irqbpfd/api/client_commands.hpp"
#include "irqbpfd/tui/top_screen.hpp"

namespace {

namespace api = irqbpfd::api;

int emit(const api::CommandOutput& o) {
  std::fputs(o.out.c_str(), stdout);
  std::fputs(o.err.c_str(), stderr);
  return o.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"irqbpfctl: ask a running irqbpfd where the interrupts go, and tell it what to change"};
  app.set_version_flag("--version", std::string("irqbpfctl ") + IRQBPFD_VERSION);
  app.fallthrough();
  app.require_subcommand(0, 1);

  api::ConnectArgs connect;
  auto* url = app.add_option("--url", connect.url, "The daemon's address (plain http, loopback)")
                  ->type_name("URL")
                  ->capture_default_str();
  auto* port = app.add_option("--port", connect.port, "The daemon's TCP port")->capture_default_str()->check(CLI::Range(1, 65535));
  app.add_option("--socket", connect.socket_path,
                 "The daemon's Unix socket (used by default when running as root and it exists; --url or --port "
                 "choose TCP)")
      ->type_name("PATH")
      ->capture_default_str()
      ->excludes(url)
      ->excludes(port);
  app.add_option("--token-file", connect.token_file,
                 "The API token a change over TCP needs (the default is used when readable)")
      ->type_name("FILE")
      ->capture_default_str();

  // The seed tool's interface.
  std::string view;
  unsigned second = 5;
  std::uint32_t irq = 0;
  std::string cpu_mask = "1";
  auto* view_opt = app.add_option("--view", view, "Show /proc/interrupts as the daemon read it, or interrupts per CPU")
                       ->check(CLI::IsMember({"distribution", "cpu-summary"}));
  app.add_option("--second", second, "With --view cpu-summary: the window in seconds")->capture_default_str()->check(CLI::Range(1, 3600));
  auto* irq_opt = app.add_option("--irq", irq, "Set (and pin) this IRQ's affinity to --cpu")->type_name("N");
  app.add_option("--cpu", cpu_mask, "With --irq: the CPUs as a hex mask (f = CPUs 0-3)")
                      ->type_name("MASK")
                      ->capture_default_str()
                      ->needs(irq_opt);
  view_opt->excludes(irq_opt);

  bool json = false;
  const auto add_view = [&](const char* name, const char* help) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->add_flag("--json", json, "The daemon's JSON, pretty-printed");
    return sub;
  };
  CLI::App* status = add_view("status", "The daemon: state, collector, cycle, moves, the last plan, pins and bans");
  CLI::App* irqs = add_view("irqs", "Every IRQ: the CPU it ran on most, rate, load, affinity, verdict");
  CLI::App* cpus = add_view("cpus", "Every CPU: topology, state, interrupts and interrupt time");
  CLI::App* plan = add_view("plan", "The last plan: moves with reasons, held IRQs, applied writes");

  std::string pin_cpus;
  const auto add_action = [&](const char* name, const char* help) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->add_option("irq", irq, "The IRQ number")->required();
    sub->add_flag("--json", json, "The daemon's JSON answer, pretty-printed");
    return sub;
  };
  CLI::App* pin = add_action("pin", "Pin an IRQ to CPUs: the balancer keeps it there");
  pin->add_option("cpus", pin_cpus, "CPU list (2-3,8)")->required();
  CLI::App* unpin = add_action("unpin", "Let the balancer place a pinned IRQ again");
  CLI::App* ban = add_action("ban", "Leave an IRQ where it is");
  CLI::App* unban = add_action("unban", "Let the balancer place a banned IRQ again");
  CLI::App* rescan = app.add_subcommand("rescan", "Re-read IRQs, CPUs and devices before the next cycle");
  rescan->add_flag("--json", json, "The daemon's JSON answer, pretty-printed");

  irqbpfd::tui::TopOptions top_options;
  double interval_s = 1;
  CLI::App* top = app.add_subcommand("top", "A live view of the IRQs and CPUs (keys: r h s l i sort, q quits)");
  top->add_option("--interval", interval_s, "Seconds between two refreshes")->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  const std::map<std::string, api::TopSort> sorts = {{"rate", api::TopSort::kRate},
                                                     {"handler", api::TopSort::kHandler},
                                                     {"softirq", api::TopSort::kSoftirq},
                                                     {"load", api::TopSort::kLoad},
                                                     {"irq", api::TopSort::kIrq}};
  top->add_option("--sort", top_options.sort, "The first sort order (default rate)")
      ->transform(CLI::CheckedTransformer(sorts).description(""))
      ->type_name("rate|handler|softirq|load|irq");

  // The seed's --view and --irq are commands of their own.
  for (CLI::App* sub : app.get_subcommands({})) sub->excludes(view_opt)->excludes(irq_opt);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? api::kExitOk : api::kExitUsage;
  }
  if (app.get_subcommands().empty() && !*view_opt && !*irq_opt) {
    std::fputs(app.help().c_str(), stderr);
    std::fputs("irqbpfctl: say what to show or change (a command, --view or --irq)\n", stderr);
    return api::kExitUsage;
  }
  connect.url_given = url->count() > 0;
  connect.port_given = port->count() > 0;
  connect.socket_given = app.count("--socket") > 0;
  connect.token_file_given = app.count("--token-file") > 0;
  const bool mutating = *irq_opt || *pin || *unpin || *ban || *unban || *rescan;
  auto options = api::client_options(connect, mutating);
  if (!options) {
    std::fprintf(stderr, "irqbpfctl: %s\n", options.error().message.c_str());
    return api::kExitUsage;
  }
  api::ApiClient client(*options);

  if (*view_opt) return emit(view == "distribution" ? api::view_distribution(client) : api::view_cpu_summary(client, second));
  if (*irq_opt) return emit(api::set_affinity(client, irq, cpu_mask));
  if (*status) return emit(api::show(client, api::View::kStatus, json));
  if (*irqs) return emit(api::show(client, api::View::kIrqs, json));
  if (*cpus) return emit(api::show(client, api::View::kCpus, json));
  if (*plan) return emit(api::show(client, api::View::kPlan, json));
  if (*pin) return emit(api::act(client, api::Action::kPin, irq, pin_cpus, json));
  if (*unpin) return emit(api::act(client, api::Action::kUnpin, irq, "", json));
  if (*ban) return emit(api::act(client, api::Action::kBan, irq, "", json));
  if (*unban) return emit(api::act(client, api::Action::kUnban, irq, "", json));
  if (*rescan) return emit(api::act(client, api::Action::kRescan, 0, "", json));
  top_options.interval = std::chrono::milliseconds(static_cast<std::int64_t>(interval_s * 1000));
  return irqbpfd::tui::run_top(client, top_options);
}
