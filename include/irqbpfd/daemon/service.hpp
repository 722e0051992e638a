// The daemon as a service: configuration resolved from the file and the
// flags, the instance lock, the irqbalance check, --daemon (fork, pidfile,
// syslog) and the systemd notifications around the loop. The CLI fills
// ServiceOptions and calls run_service(); exit statuses are documented
// there.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/core/result.hpp"
#include "irqbpfd/daemon/config.hpp"
#include "irqbpfd/daemon/control.hpp"
#include "irqbpfd/daemon/log.hpp"

namespace irqbpfd::daemon {

// What the command line set; unset fields leave the file's value.
struct ConfigOverrides {
  std::optional<double> interval_s;
  std::optional<std::string> collector;
  std::optional<std::uint32_t> hardirq_sample_every;
  bool dry_run = false;          // flags only switch on
  bool restore_on_exit = false;
  std::optional<LogLevel> log_level;
  std::optional<std::string> numa;
  std::optional<std::string> banned_cpus;
  std::vector<std::string> ban_irq;     // added to the file's
  std::vector<std::string> ban_driver;
  std::optional<std::uint32_t> powerthresh;
};

struct ServiceOptions {
  std::filesystem::path root{"/"};
  std::filesystem::path config_file{"/etc/irqbpfd.conf"};
  bool config_given = false;  // --config: then the file must exist
  ConfigOverrides overrides;
  bool daemonize = false;     // --daemon (sysv): fork, pidfile, syslog
  std::filesystem::path pidfile{"/run/irqbpfd.pid"};
  std::optional<std::filesystem::path> lock_file;  // default: /run/irqbpfd/irqbpfd.lock under the root
  bool force = false;         // start although irqbalance runs
  // Starts the API once the daemon has started (the CLI wires the api
  // module in here; the daemon module does not depend on it). Its result
  // lives as long as the loop; an error is logged and the daemon goes on.
  std::function<core::Result<std::shared_ptr<void>>(DaemonControl&, Logger&)> start_api;
};

// The file (the default one may be absent), then the flags over it.
core::Result<DaemonConfig> resolve_config(const ServiceOptions& options);

// Exit statuses of run_service.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   // a runtime failure (start-up, restore)
inline constexpr int kExitUsage = 2;     // bad flags or configuration
inline constexpr int kExitRefused = 3;   // another irqbpfd holds the lock, or irqbalance runs
inline constexpr int kExitNotApplied = 4;  // --once: some writes failed

// Runs the daemon until SIGTERM/SIGINT. Messages go to stderr (the journal
// under systemd) or, with --daemon, to syslog.
int run_service(const ServiceOptions& options);

}  // namespace irqbpfd::daemon
