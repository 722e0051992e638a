// run_service: configuration, lock, irqbalance check, daemonizing, the
// writer (real or dry-run), the Daemon and its loop; reloads re-read the
// file and re-apply the same flags.
#include "irqbpfd/daemon/service.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/apply/kernel_files.hpp"
#include "irqbpfd/sys/cpus.hpp"
#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/daemon/daemon.hpp"

namespace irqbpfd::daemon {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

// --daemon: fork; the parent waits until the child reports start-up done
// (or why it failed) through a pipe and exits with that status, so an init
// script knows whether the service came up.
class Detached {
 public:
  // In the parent this never returns; in the child it returns the pipe end.
  static int detach() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid > 0) {
      ::close(fds[1]);
      char status = 1;
      const ssize_t n = ::read(fds[0], &status, 1);
      std::_Exit(n == 1 ? status : kExitFailure);
    }
    ::close(fds[0]);
    ::setsid();
    if (::chdir("/") != 0) { /* stays where it was */ }
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      if (null > 2) ::close(null);
    }
    return fds[1];
  }
  static void report(int fd, int status) {
    if (fd < 0) return;
    const char c = static_cast<char>(status);
    if (::write(fd, &c, 1) != 1) { /* the parent is gone */ }
    ::close(fd);
  }
};

// The pid file of --daemon, removed on the way out.
class PidFile {
 public:
  explicit PidFile(std::filesystem::path path) : path_(std::move(path)) {}
  core::Result<void> write() {
    std::ofstream out(path_, std::ios::trunc);
    if (!out) return core::errno_error("pid file " + path_.string(), errno != 0 ? errno : EACCES);
    out << ::getpid() << "\n";
    written_ = static_cast<bool>(out);
    return {};
  }
  ~PidFile() {
    if (written_) ::unlink(path_.c_str());
  }
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

 private:
  std::filesystem::path path_;
  bool written_ = false;
};

}  // namespace

core::Result<DaemonConfig> resolve_config(const ServiceOptions& options) {
  auto config = load_config(options.config_file, !options.config_given);
  if (!config) return config.error();
  DaemonConfig c = std::move(*config);
  const ConfigOverrides& o = options.overrides;
  if (o.interval_s) c.interval_s = *o.interval_s;
  if (o.collector) c.collector = *o.collector;
  if (o.hardirq_sample_every) c.hardirq_sample_every = *o.hardirq_sample_every;
  if (o.dry_run) c.dry_run = true;
  if (o.restore_on_exit) c.restore_on_exit = true;
  if (o.log_level) c.log_level = *o.log_level;
  if (o.numa) c.numa = *o.numa;
  if (o.banned_cpus) c.banned_cpus = *o.banned_cpus;
  c.ban_irq.insert(c.ban_irq.end(), o.ban_irq.begin(), o.ban_irq.end());
  c.ban_driver.insert(c.ban_driver.end(), o.ban_driver.begin(), o.ban_driver.end());
  if (o.powerthresh) c.powerthresh = o.powerthresh;
  if (!(c.interval_s > 0)) return core::Error{"--interval: must be a number of seconds > 0"};
  return c;
}

int run_service(const ServiceOptions& options) {
  // First of all: a SIGHUP or SIGUSR1 during start-up must not kill us.
  block_daemon_signals();
  // Before any thread: one malloc arena for all of them (glibc gives each
  // thread that allocates an arena of its own, megabytes that stay; the
  // API's workers come and go and allocate little). The blocks a cycle
  // makes and frees (a snapshot's IRQ list is 1.1 MB at 2000 IRQs) stay in
  // the heap for the next cycle: mmapped afresh each time, their pages
  // faulted in again cost more than building the list (perf, big-256).
  ::mallopt(M_ARENA_MAX, 1);
  ::mallopt(M_MMAP_THRESHOLD, 8 * 1024 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
  auto config = resolve_config(options);
  if (!config) {
    std::fprintf(stderr, "irqbpfd: %s\n", config.error().message.c_str());
    return kExitUsage;
  }
  auto policy = make_policy(*config, env("IRQBALANCE_BANNED_CPUS"), env("IRQBALANCE_BANNED_CPULIST"));
  if (!policy) {
    std::fprintf(stderr, "irqbpfd: %s\n", policy.error().message.c_str());
    return kExitUsage;
  }
  const sys::SysRoot root(options.root);
  if (!std::filesystem::is_directory(options.root)) {
    std::fprintf(stderr, "irqbpfd: --root %s: not a directory\n", options.root.c_str());
    return kExitUsage;
  }

  const int ready_fd = options.daemonize ? Detached::detach() : -1;
  if (options.daemonize && ready_fd < 0) {
    std::fprintf(stderr, "irqbpfd: --daemon: %s\n", std::strerror(errno));
    return kExitFailure;
  }
  const bool journal = env("JOURNAL_STREAM") != nullptr;
  Logger log(config->log_level, options.daemonize ? Logger::Target::kSyslog : Logger::Target::kStderr, journal);
  const auto refuse = [&](int status, const std::string& message) {
    log.error(message);
    Detached::report(ready_fd, static_cast<char>(status));
    return status;
  };

  auto lock = InstanceLock::acquire(options.lock_file.value_or(root.path("/run/irqbpfd/irqbpfd.lock")));
  if (!lock) return refuse(lock.error().errno_value == EWOULDBLOCK ? kExitRefused : kExitFailure, lock.error().message);
  if (auto pid = find_irqbalance(root); pid && !options.force) {
    return refuse(kExitRefused, fmt::format("irqbalance (pid {}) is running: two balancers would fight over the same "
                                            "IRQs; stop it (systemctl stop irqbalance) or pass --force",
                                            *pid));
  }
  std::optional<PidFile> pidfile;
  if (options.daemonize) {
    pidfile.emplace(options.pidfile);
    if (auto w = pidfile->write(); !w) return refuse(kExitFailure, w.error().message);
  }

  core::SteadyClock clock;
  std::unique_ptr<Notifier> notifier = systemd_notifier();
  auto nr_cpu_ids = sys::read_nr_cpu_ids(root);
  if (!nr_cpu_ids) return refuse(kExitFailure, nr_cpu_ids.error().message);
  apply::SysRootFiles files(root);
  std::unique_ptr<apply::AffinityWriter> writer;
  if (config->dry_run) {
    writer = std::make_unique<apply::DryRunWriter>(files, *nr_cpu_ids);
  } else {
    writer = std::make_unique<apply::ProcAffinityWriter>(files, *nr_cpu_ids);
  }
  StatusBoard board;
  DaemonDeps deps;
  deps.root = root;
  deps.clock = &clock;
  deps.writer = writer.get();
  deps.files = &files;
  deps.log = &log;
  deps.notifier = notifier.get();
  deps.board = &board;
  Daemon daemon(*config, *policy, deps);
  if (auto started = daemon.start(); !started) return refuse(kExitFailure, "start: " + started.error().message);
  CommandQueue commands;
  LoopControl control(board, commands, root);
  std::shared_ptr<void> api;
  if (options.start_api) {
    auto served = options.start_api(control, log);
    if (served) {
      api = std::move(*served);
    } else {
      log.warning("API not started: " + served.error().message);
    }
  }
  Detached::report(ready_fd, kExitOk);

  const Reloader reload = [&]() -> core::Result<std::pair<DaemonConfig, balance::Policy>> {
    auto fresh = resolve_config(options);
    if (!fresh) return fresh.error();
    if (fresh->dry_run != daemon.config().dry_run) {
      return core::Error{"dry_run cannot change on reload (restart the service)"};
    }
    auto p = make_policy(*fresh, env("IRQBALANCE_BANNED_CPUS"), env("IRQBALANCE_BANNED_CPULIST"));
    if (!p) return p.error();
    return std::pair<DaemonConfig, balance::Policy>{std::move(*fresh), std::move(*p)};
  };
  const int status = run_daemon(daemon, clock, log, *notifier, reload, &commands);
  api.reset();  // stop serving before the daemon goes
  return status;
}

}  // namespace irqbpfd::daemon
