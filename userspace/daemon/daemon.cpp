// The daemon's cycle and loop: readings, rescans on change, snapshot, rules,
// plan, apply, status; the wait between cycles with signals and the
// systemd watchdog; the instance lock and the irqbalance check.
#include "irqbpfd/daemon/daemon.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <thread>

#include "irqbpfd/sys/irq_files.hpp"
#include "irqbpfd/sys/proc_interrupts.hpp"

namespace irqbpfd::daemon {
namespace {

using core::Error;
using core::Result;

double pct(std::uint64_t ns_per_s) { return 100.0 * static_cast<double>(ns_per_s) / 1e9; }

class SystemdNotifier final : public Notifier {
 public:
  SystemdNotifier() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0) watchdog_ns_ = static_cast<std::int64_t>(usec) * 1000;
  }
  void ready(const std::string& s) override { send(fmt::format("READY=1\nSTATUS={}", s)); }
  void status(const std::string& s) override { send("STATUS=" + s); }
  void watchdog() override { send("WATCHDOG=1"); }
  void stopping() override { send("STOPPING=1"); }
  void reloading() override { send("RELOADING=1"); }
  [[nodiscard]] std::int64_t watchdog_ns() const override { return watchdog_ns_; }

 private:
  static void send(const std::string& text) { sd_notify(0, text.c_str()); }
  std::int64_t watchdog_ns_ = 0;
};

// Interrupts per CPU in a reading, every row (device and system).
std::vector<std::pair<core::CpuId, std::uint64_t>> cpu_interrupt_totals(const sys::ProcInterrupts& pi) {
  std::vector<std::pair<core::CpuId, std::uint64_t>> out;
  out.reserve(pi.cpus.size());
  for (core::CpuId c : pi.cpus) out.emplace_back(c, 0);
  for (const auto& row : pi.rows) {
    for (std::size_t i = 0; i < row.counts.size() && i < out.size(); ++i) out[i].second += row.counts[i];
  }
  return out;
}

constexpr std::size_t kHistoryPoints = 720;  // two hours at the default 10 s

std::int64_t wall_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

std::unique_ptr<Notifier> systemd_notifier() { return std::make_unique<SystemdNotifier>(); }

Daemon::Daemon(DaemonConfig config, balance::Policy policy, DaemonDeps deps)
    : config_(std::move(config)), base_policy_(std::move(policy)), deps_(std::move(deps)),
      status_(std::make_shared<Status>()) {
  if (!deps_.open_collector) deps_.open_collector = collect::open_collector;
  if (!deps_.load_topology) {
    deps_.load_topology = [](const sys::SysRoot& root) {
      return root.is_live() ? topology::load_live() : topology::load_from_root(root.root());
    };
  }
  view_.emplace(deps_.root, deps_.load_topology, config_.affinity_refresh_cycles);
  status_->dry_run = config_.dry_run;
  status_->state = "starting";
}

Daemon::~Daemon() = default;

Result<void> Daemon::start() {
  auto opened = deps_.open_collector(config_.collector, deps_.root, *deps_.clock, config_.hardirq_sample_every);
  if (!opened) return opened.error().with_context("collector");
  collector_ = std::move(opened->collector);
  collector_->set_light_reads(config_.affinity_refresh_cycles);
  fallback_reason_ = opened->fallback_reason;
  status_->collector = std::string(collector_->name());
  status_->collector_fallback_reason = fallback_reason_;
  if (fallback_reason_) {
    deps_.log->notice(fmt::format("collector proc (fallback: {})", *fallback_reason_));
  } else {
    deps_.log->info(fmt::format("collector {}", collector_->name()));
  }
  auto first = collector_->read();
  if (!first) return first.error();
  last_ = std::make_shared<collect::RawSample>(std::move(*first));
  if (auto r = update_view(*last_); !r) return r.error();
  if (config_.restore_on_exit) {
    auto saved = apply::RestoreSet::capture(*deps_.files);
    if (!saved) return saved.error().with_context("restore-on-exit");
    restore_ = std::move(*saved);
    deps_.log->info(fmt::format("restore-on-exit: remembered the masks of {} IRQs", restore_->masks().size()));
  }
  status_->state = "measuring";
  publish();
  return {};
}

Result<void> Daemon::update_view(const collect::RawSample& reading) {
  auto why = view_->update(reading);
  if (!why) return why.error();
  if (*why) note_rescan(**why);
  return {};
}

void Daemon::note_rescan(const std::string& why) {
  ++rescans_;
  deps_.log->info(fmt::format("rescan ({}): {} IRQs, CPUs {} online", why, view_->inventory().irqs.size(),
                              view_->cpu_state().online.to_list()));
}

tick::Rules Daemon::rules(const sys::IrqInventory& inventory) const {
  tick::Rules out = resolve_rules(config_.rules, inventory, base_policy_);
  // The API's pins and bans come last: a person's word over the file's.
  for (const auto& [irq, cpus] : api_pins_) {
    out.policy.pinned[irq] = cpus;
    out.policy.banned_irqs.erase(irq);
  }
  for (const auto& irq : api_bans_) {
    out.policy.banned_irqs.insert(irq);
    out.policy.pinned.erase(irq);
  }
  return out;
}

Result<CycleOutcome> Daemon::cycle() {
  const std::int64_t t0 = wall_ns();
  CycleOutcome outcome;
  if (reopen_collector_) {
    // New IRQ numbers past the BPF maps (bigger maps), or a reload that
    // changed the collector or its sampling: a new collector, a new
    // baseline. When the new one cannot be opened the old one goes on.
    reopen_collector_ = false;
    auto opened = deps_.open_collector(config_.collector, deps_.root, *deps_.clock, config_.hardirq_sample_every);
    if (!opened) return opened.error().with_context(fmt::format("reopening the collector (still {})", collector_->name()));
    collector_ = std::move(opened->collector);
    collector_->set_light_reads(config_.affinity_refresh_cycles);
    fallback_reason_ = opened->fallback_reason;
    auto first = collector_->read();
    if (!first) return first.error();
    last_ = std::make_shared<collect::RawSample>(std::move(*first));
    outcome.rescanned = true;
    view_->request_rescan("collector reopened");
    if (auto r = update_view(*last_); !r) return r.error();
    return outcome;
  }
  auto sample = collector_->read();
  if (!sample) return sample.error();

  // The tick: the view rescans what changed against the new reading (the
  // window from the last reading stays measured: build_snapshot matches IRQs
  // and CPUs by number, so a rescan never leads to a load-blind move), then
  // snapshot, rules, plan and writes.
  tick::TickInput in;
  in.collector = std::string(collector_->name());
  in.fallback_reason = fallback_reason_;
  in.before = &*last_;
  in.after = &*sample;
  const long hz = sysconf(_SC_CLK_TCK);
  in.user_hz = hz > 0 ? static_cast<std::uint32_t>(hz) : 100;
  in.rules = [this](const sys::IrqInventory& inventory) { return rules(inventory); };
  auto ticked = tick::run_tick(*view_, in, state_, deps_.writer);
  if (ticked && ticked->rescanned) {
    outcome.rescanned = true;
    note_rescan(*ticked->rescanned);
  }
  std::shared_ptr<collect::RawSample> previous = std::move(last_);
  last_ = std::make_shared<collect::RawSample>(std::move(*sample));
  if (!ticked) {
    recycle(std::move(previous));
    return ticked.error();
  }
  model::Snapshot& snapshot = ticked->snapshot;
  balance::PlanResult& planned = ticked->planned;
  const apply::ApplyReport& report = ticked->applied;

  const bool beyond = std::any_of(snapshot.irqs.begin(), snapshot.irqs.end(),
                                  [](const model::IrqSnapshot& i) { return i.beyond_bpf_maps; });
  if (beyond) {
    deps_.log->notice("IRQ numbers beyond the BPF maps appeared: reopening the collector with bigger maps");
    reopen_collector_ = true;
  }
  outcome.planned = true;
  if (config_.dry_run) {
    // Nothing was written: no cooldowns, no unfinished plan; the same moves
    // stay proposed until the machine changes.
    planned.next.irqs = state_.irqs;
    planned.next.unfinished.clear();
  }
  state_ = std::move(planned.next);

  for (const apply::MoveResult& mr : report.results) {
    const apply::WriteResult& w = mr.result;
    ++writes_by_outcome_[std::string(apply::to_string(w.outcome))];
    switch (w.outcome) {
      case apply::Outcome::kDone:
      case apply::Outcome::kDryRun:
        ++outcome.moves;
        deps_.log->debug(w.message);
        break;
      case apply::Outcome::kUnchanged:
        break;
      case apply::Outcome::kManaged:
        deps_.log->changed(fmt::format("irq{}", core::raw(w.irq)), LogLevel::kInfo,
                           fmt::format("irq {} is kernel-managed: left where the kernel put it", core::raw(w.irq)));
        break;
      case apply::Outcome::kVanished:
        deps_.log->info(fmt::format("irq {} vanished before its write", core::raw(w.irq)));
        break;
      default:
        ++outcome.failed;
        deps_.log->changed(fmt::format("irq{}", core::raw(w.irq)), LogLevel::kWarning, w.message);
        break;
    }
  }
  if (!report.no_vector_cpus.empty()) {
    deps_.log->changed("no-vectors", LogLevel::kWarning,
                       fmt::format("CPUs {} have no free interrupt vectors (ENOSPC)", report.no_vector_cpus.to_list()));
  }

  const balance::Plan& p = planned.plan;
  const std::string plan_key = config_.dry_run ? "dry-run plan" : "plan";
  if (p.moves.empty()) {
    deps_.log->changed(plan_key, LogLevel::kInfo, "balanced",
                       fmt::format("balanced: hottest CPU at {:.1f}%, nothing to move", pct(p.max_before)));
  } else if (config_.dry_run) {
    std::string sig;
    for (const auto& m : p.moves) sig += fmt::format(" {}:{}", core::raw(m.irq), m.to.to_list());
    if (deps_.log->changed(plan_key + " moves", LogLevel::kInfo, fmt::format("dry run, would write:{}", sig))) {
      for (const auto& m : p.moves) deps_.log->info(fmt::format("  irq {}: {}", core::raw(m.irq), m.reason));
    }
    deps_.log->forget(plan_key);
  } else {
    deps_.log->info(fmt::format("cycle {}: {}", state_.cycle, p.summary));
    for (const auto& m : p.moves) deps_.log->debug(fmt::format("  irq {}: {}", core::raw(m.irq), m.reason));
    deps_.log->forget(plan_key);
  }

  moves_total_ += config_.dry_run ? 0 : outcome.moves;
  writes_failed_total_ += outcome.failed;
  auto st = std::make_shared<Status>();
  st->cycle = state_.cycle;
  st->collector = std::string(collector_->name());
  st->collector_fallback_reason = fallback_reason_;
  st->dry_run = config_.dry_run;
  st->state = p.moves.empty() ? "balanced" : "balancing";
  st->plan = p;
  st->applied = report.results;
  st->moves_total = moves_total_;
  st->writes_failed_total = writes_failed_total_;
  st->rescans = rescans_;
  st->writes_by_outcome = writes_by_outcome_;
  st->interval_s = config_.interval_s;
  st->user_hz = in.user_hz;
  st->pinned = api_pins_;
  st->banned = api_bans_;
  auto point = std::make_shared<HistoryPoint>();
  point->monotonic_ns = last_->monotonic_ns;
  point->cycle = state_.cycle;
  point->window_s = snapshot.window_s;
  point->max_load = static_cast<double>(p.max_before) / 1e9;
  point->moves = outcome.moves;
  point->failed = outcome.failed;
  // The CPU list of the previous point when the columns are the same.
  const std::vector<core::CpuId>& columns = last_->interrupts.cpus;
  if (!history_.empty() && history_.back()->cpus && *history_.back()->cpus == columns) {
    point->cpus = history_.back()->cpus;
  } else {
    point->cpus = std::make_shared<const std::vector<core::CpuId>>(columns);
  }
  point->cpu_interrupts.reserve(columns.size());
  // Each point is the last one's running total plus the window's
  // interrupts, in both modes: the API takes differences of points, and
  // summing the window (deltas taken modulo the counters' width) costs a
  // pass over the CPUs where re-adding /proc/interrupts' half million
  // counters cost 4% of a 256-CPU cycle, and a vanished IRQ or a wrapped
  // counter never makes the series step back. The first point (and one
  // after the columns changed) starts from the counts since boot where a
  // full reading has them, else from zero (a light BPF reading).
  const HistoryPoint* prev = history_.empty() ? nullptr : history_.back().get();
  const bool same_columns = prev != nullptr && prev->cpus == point->cpus && prev->cpu_interrupts.size() == columns.size();
  if (same_columns) {
    std::vector<std::uint64_t> window;
    for (const model::CpuSnapshot& cs : snapshot.cpus) {
      if (raw(cs.cpu) >= window.size()) window.resize(raw(cs.cpu) + 1, 0);
      window[raw(cs.cpu)] = cs.interrupts + cs.system_interrupts;
    }
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const std::uint32_t c = raw(columns[i]);
      point->cpu_interrupts.push_back(prev->cpu_interrupts[i] + (c < window.size() ? window[c] : 0));
    }
  } else if (last_->counts_read) {
    for (const auto& [cpu, n] : cpu_interrupt_totals(last_->interrupts)) point->cpu_interrupts.push_back(n);
  } else {
    point->cpu_interrupts.assign(columns.size(), 0);
    for (std::size_t i = 0; i < columns.size(); ++i) {
      for (const model::CpuSnapshot& cs : snapshot.cpus) {
        if (cs.cpu == columns[i]) point->cpu_interrupts[i] = cs.interrupts + cs.system_interrupts;
      }
    }
  }
  history_.push_back(std::move(point));
  while (history_.size() > kHistoryPoints) history_.pop_front();
  st->history.assign(history_.begin(), history_.end());
  st->reading = last_;
  st->snapshot = std::make_shared<const model::Snapshot>(std::move(snapshot));
  st->cycle_ms = static_cast<double>(wall_ns() - t0) / 1e6;
  status_ = std::move(st);
  publish();
  recycle(std::move(previous));
  return outcome;
}

void Daemon::recycle(std::shared_ptr<collect::RawSample> reading) {
  // Only when nothing else holds it: a published Status an API request
  // still reads keeps its reading to itself.
  if (reading && reading.use_count() == 1 && collector_) collector_->recycle(std::move(*reading));
}

void Daemon::reconfigure(DaemonConfig config, balance::Policy policy) {
  // Another collector or sampling rate: new programs and a new baseline.
  if (config.collector != config_.collector || config.hardirq_sample_every != config_.hardirq_sample_every) {
    reopen_collector_ = true;
  }
  config_ = std::move(config);
  base_policy_ = std::move(policy);
  status_->dry_run = config_.dry_run;
  deps_.log->set_level(config_.log_level);
  view_->set_refresh_every(config_.affinity_refresh_cycles);
  if (collector_) collector_->set_light_reads(config_.affinity_refresh_cycles);
  view_->request_rescan("configuration reloaded");
}

Result<std::pair<std::size_t, std::size_t>> Daemon::restore() {
  if (!restore_) return std::pair<std::size_t, std::size_t>{0, 0};
  std::size_t restored = 0, failed = 0;
  for (const apply::WriteResult& w : restore_->restore(*deps_.writer)) {
    if (w.outcome == apply::Outcome::kDone || w.outcome == apply::Outcome::kDryRun) ++restored;
    if (!apply::is_settled(w.outcome) && w.outcome != apply::Outcome::kVanished) {
      ++failed;
      deps_.log->warning("restore: " + w.message);
    }
  }
  return std::pair<std::size_t, std::size_t>{restored, failed};
}

std::string Daemon::describe() const {
  const Status& s = *status_;
  std::string out = fmt::format("status: cycle {}, {}, collector {}{}, {} rescans, {} moves, {} failed writes", s.cycle,
                                s.state, s.collector,
                                s.collector_fallback_reason ? " (fallback: " + *s.collector_fallback_reason + ")" : "",
                                s.rescans, s.moves_total, s.writes_failed_total);
  if (s.dry_run) out += " (dry run)";
  if (s.snapshot) {
    out += fmt::format("; {} IRQs, CPUs {} online; last cycle {:.1f} ms; last plan: {}", s.snapshot->irqs.size(),
                       s.snapshot->online.to_list(), s.cycle_ms, s.plan.summary);
  }
  if (!s.last_error.empty()) out += "; last error: " + s.last_error;
  return out;
}

CommandResult Daemon::execute(const Command& c) {
  CommandResult r;
  const auto known = [&](core::IrqNumber irq) {
    const auto& irqs = view_->inventory().irqs;
    return std::any_of(irqs.begin(), irqs.end(), [&](const core::IrqDesc& d) { return d.irq == irq; });
  };
  if (c.kind == Command::Kind::kRescan) {
    request_rescan();
    return CommandResult{202, "a rescan runs with the next cycle", "", std::nullopt, std::nullopt, false};
  }
  if (!known(c.irq)) {
    return CommandResult{404, fmt::format("IRQ {} is not in the inventory", core::raw(c.irq)), "", std::nullopt,
                         std::nullopt, false};
  }
  const core::CpuSet online = view_->cpu_state().online;
  if ((c.kind == Command::Kind::kPin || c.kind == Command::Kind::kSetAffinity) &&
      (c.cpus.empty() || !c.cpus.is_subset_of(online))) {
    return CommandResult{400, fmt::format("CPUs {} are not all online (online: {})", c.cpus.to_list(), online.to_list()),
                         "", std::nullopt, std::nullopt, false};
  }
  switch (c.kind) {
    case Command::Kind::kPin:
      api_pins_[c.irq] = c.cpus;
      api_bans_.erase(c.irq);
      r.message = fmt::format("irq {} pinned to {}; written with the next cycle", core::raw(c.irq), c.cpus.to_list());
      r.pinned = true;
      break;
    case Command::Kind::kUnpin:
      r.message = api_pins_.erase(c.irq) != 0 ? fmt::format("irq {} unpinned", core::raw(c.irq))
                                              : fmt::format("irq {} was not pinned", core::raw(c.irq));
      break;
    case Command::Kind::kBan:
      api_bans_.insert(c.irq);
      api_pins_.erase(c.irq);
      r.message = fmt::format("irq {} banned: the balancer leaves it", core::raw(c.irq));
      break;
    case Command::Kind::kUnban:
      r.message = api_bans_.erase(c.irq) != 0 ? fmt::format("irq {} unbanned", core::raw(c.irq))
                                              : fmt::format("irq {} was not banned", core::raw(c.irq));
      break;
    case Command::Kind::kSetAffinity: {
      const apply::WriteResult w = deps_.writer->write(c.irq, c.cpus);
      ++writes_by_outcome_[std::string(apply::to_string(w.outcome))];
      r.outcome = std::string(apply::to_string(w.outcome));
      r.message = w.message;
      r.smp_affinity = w.smp_affinity;
      r.effective_affinity = w.effective_affinity;
      view_->written(w);
      switch (w.outcome) {
        case apply::Outcome::kDone:
        case apply::Outcome::kUnchanged:
        case apply::Outcome::kDryRun:
          api_pins_[c.irq] = c.cpus;  // the balancer leaves it there until unpinned
          api_bans_.erase(c.irq);
          r.pinned = true;
          if (w.outcome == apply::Outcome::kDone) ++moves_total_;
          deps_.log->info(fmt::format("api: irq {} set to {} and pinned ({})", core::raw(c.irq), c.cpus.to_list(), r.outcome));
          break;
        case apply::Outcome::kInvalid: r.status = 400; break;
        case apply::Outcome::kVanished:
          r.status = 404;  // the view rescans next cycle
          break;
        default: r.status = 409; break;  // managed, no vectors, failed: the kernel said no
      }
      break;
    }
    case Command::Kind::kRescan: break;
  }
  if (c.kind != Command::Kind::kSetAffinity) deps_.log->info("api: " + r.message);
  republish_pins();
  return r;
}

void Daemon::republish_pins() {
  auto st = std::make_shared<Status>(*status_);
  st->pinned = api_pins_;
  st->banned = api_bans_;
  st->moves_total = moves_total_;
  st->writes_by_outcome = writes_by_outcome_;
  status_ = std::move(st);
  publish();
}

void Daemon::publish() {
  if (deps_.board != nullptr) deps_.board->publish(status_);
}

void block_daemon_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run_daemon(Daemon& daemon, core::Clock& clock, Logger& log, Notifier& notifier, const Reloader& reload,
               CommandQueue* commands) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
  const int sfd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    log.error(fmt::format("signalfd: {}", std::strerror(errno)));
    return 1;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{sfd};
  const auto interval_ns = [&] { return static_cast<std::int64_t>(daemon.config().interval_s * 1e9); };
  const std::int64_t watchdog_every = notifier.watchdog_ns() / 2;
  notifier.ready(daemon.describe());
  log.info(fmt::format("running: a cycle every {} s{}", daemon.config().interval_s,
                       daemon.config().dry_run ? ", dry run (nothing is written)" : ""));
  std::int64_t next_dog = watchdog_every > 0 ? clock.monotonic_ns() + watchdog_every : 0;
  // Returns an exit status to stop with, or nullopt to go on.
  const auto on_signal = [&](int sig) -> std::optional<int> {
    if (sig == SIGTERM || sig == SIGINT) {
      notifier.stopping();
      log.info(fmt::format("stopping ({})", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
      if (!daemon.config().restore_on_exit) return 0;
      auto r = daemon.restore();
      if (!r) {
        log.error("restore-on-exit: " + r.error().message);
        return 1;
      }
      log.info(fmt::format("restore-on-exit: {} masks written back, {} failed", r->first, r->second));
      return r->second == 0 ? 0 : 1;
    }
    if (sig == SIGHUP) {
      notifier.reloading();
      auto fresh = reload();
      if (fresh) {
        daemon.reconfigure(std::move(fresh->first), std::move(fresh->second));
        log.notice("configuration reloaded; rescanning");
      } else {
        log.error(fmt::format("reload failed, keeping the old configuration: {}", fresh.error().message));
      }
      notifier.ready(daemon.describe());
    } else if (sig == SIGUSR1) {
      log.notice(daemon.describe());
    }
    return std::nullopt;
  };
  for (;;) {
    const std::int64_t deadline = clock.monotonic_ns() + interval_ns();
    for (;;) {
      const std::int64_t now = clock.monotonic_ns();
      if (next_dog != 0 && now >= next_dog) {
        notifier.watchdog();
        next_dog = now + watchdog_every;
      }
      if (now >= deadline) break;
      const std::int64_t until = next_dog != 0 ? std::min(deadline, next_dog) : deadline;
      const std::int64_t wait_ms = std::max<std::int64_t>((until - now + 999'999) / 1'000'000, 0);
      pollfd fds[2] = {{sfd, POLLIN, 0}, {commands != nullptr ? commands->event_fd() : -1, POLLIN, 0}};
      const int n = ::poll(fds, commands != nullptr ? 2 : 1, static_cast<int>(std::min<std::int64_t>(wait_ms, 60'000)));
      if (n <= 0) continue;  // time-out or EINTR: re-check the clock
      if ((fds[0].revents & POLLIN) != 0) {
        signalfd_siginfo si{};
        while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
          if (auto stop = on_signal(static_cast<int>(si.ssi_signo))) return *stop;
        }
      }
      if (commands != nullptr && (fds[1].revents & POLLIN) != 0) {
        for (auto& [command, promise] : commands->take()) promise.set_value(daemon.execute(command));
      }
    }
    auto outcome = daemon.cycle();
    if (!outcome) {
      log.changed("cycle error", LogLevel::kWarning, "cycle failed: " + outcome.error().message);
    } else {
      log.forget("cycle error");
    }
    if (next_dog != 0) {
      notifier.watchdog();
      next_dog = clock.monotonic_ns() + watchdog_every;
    }
    notifier.status(daemon.describe());
  }
}

CommandResult LoopControl::command(const Command& command, std::chrono::milliseconds wait) {
  auto f = queue_.submit(command);
  if (f.wait_for(wait) != std::future_status::ready) {
    return CommandResult{504, fmt::format("the daemon did not answer within {} ms", wait.count()), "", std::nullopt,
                         std::nullopt, false};
  }
  return f.get();
}

Result<std::vector<std::pair<core::CpuId, std::uint64_t>>> LoopControl::measure_interrupts(double seconds) {
  auto first = sys::read_proc_interrupts(root_);
  if (!first) return first.error();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto second = sys::read_proc_interrupts(root_);
  if (!second) return second.error();
  const auto before = cpu_interrupt_totals(*first);
  auto after = cpu_interrupt_totals(*second);
  for (auto& [cpu, n] : after) {
    for (const auto& [c, m] : before) {
      if (c == cpu) n = n >= m ? n - m : n;
    }
  }
  return after;
}

Result<InstanceLock> InstanceLock::acquire(const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return core::errno_error("lock file " + file.string(), errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      const std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("?");
      return Error{fmt::format("another irqbpfd is running (pid {}, lock {})", pid.substr(0, pid.find('\n')),
                               file.string()),
                   EWOULDBLOCK};
    }
    return core::errno_error("lock file " + file.string(), err);
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd);
    return core::errno_error("lock file " + file.string(), err);
  }
  return InstanceLock(fd);
}

InstanceLock::InstanceLock(InstanceLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<int> find_irqbalance(const sys::SysRoot& root) {
  auto entries = root.list("/proc");
  if (!entries) return std::nullopt;
  for (const std::string& e : *entries) {
    if (e.empty() || e.find_first_not_of("0123456789") != std::string::npos) continue;
    auto comm = root.read_if_exists("/proc/" + e + "/comm");
    if (!comm || !*comm) continue;
    std::string name = **comm;
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    if (name == "irqbalance") return std::stoi(e);
  }
  return std::nullopt;
}

}  // namespace irqbpfd::daemon
