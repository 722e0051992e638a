// The daemon: owns the loop's state (collector, last reading, inventory,
// topology, balancer state) and runs one cycle at a time: read, rescan when
// the machine changed, snapshot, plan, apply, publish. Its OS seams (the
// machine root, clock, collector opener, affinity writer, logger, systemd
// notifier) come in through the constructor, so tests drive cycles on a
// fake machine; run_daemon() adds the wait between cycles and the signals.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/apply/apply_plan.hpp"
#include "irqbpfd/apply/kernel_files.hpp"
#include "irqbpfd/apply/restore_set.hpp"
#include "irqbpfd/balance/balancer.hpp"
#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/core/clock.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/daemon/config.hpp"
#include "irqbpfd/daemon/control.hpp"
#include "irqbpfd/daemon/log.hpp"
#include "irqbpfd/model/snapshot.hpp"
#include "irqbpfd/sys/cpus.hpp"
#include "irqbpfd/sys/irq_inventory.hpp"
#include "irqbpfd/sys/sys_root.hpp"
#include "irqbpfd/tick/tick.hpp"
#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::daemon {

// One reading in the daemon's history: when, what the cycle made of it,
// and the cumulative interrupts per CPU (all rows of /proc/interrupts), so
// "interrupts per CPU over the last S seconds" is a difference of two.
struct HistoryPoint {
  std::int64_t monotonic_ns = 0;
  std::uint64_t cycle = 0;
  double window_s = 0;
  double max_load = 0;  // hottest CPU, share of one CPU (the plan's view)
  std::size_t moves = 0, failed = 0;
  // A running count of each CPU's interrupts in `cpus`: the last point's
  // plus the window's. It starts (and starts again when the columns change)
  // from the counts since boot over all rows of /proc/interrupts, or from
  // the first window with BPF's light readings, which do not parse it.
  // Differences between points are what counts. The CPU list is shared by the points that have the
  // same columns: 720 points x 256 CPUs held 2.9 MB as (CPU, count) pairs.
  std::shared_ptr<const std::vector<core::CpuId>> cpus;
  std::vector<std::uint64_t> cpu_interrupts;  // [i] belongs to (*cpus)[i]
};

// What the last cycle saw and did: the API serves it, SIGUSR1 dumps it.
// Shared, immutable once published: big parts are held by pointer.
struct Status {
  std::uint64_t cycle = 0;
  std::string collector;
  std::optional<std::string> collector_fallback_reason;
  bool dry_run = false;
  std::string state;  // "starting", "measuring", "balancing", "balanced", "rescanning"
  std::shared_ptr<const model::Snapshot> snapshot;
  balance::Plan plan;
  std::vector<apply::MoveResult> applied;
  std::uint64_t moves_total = 0, writes_failed_total = 0, rescans = 0;
  std::map<std::string, std::uint64_t> writes_by_outcome;  // since start
  double cycle_ms = 0;  // wall time of the last cycle's work
  double interval_s = 0;
  std::uint32_t user_hz = 100;
  std::string last_error;
  std::map<core::IrqNumber, core::CpuSet> pinned;  // by the API (set_affinity, pin)
  std::set<core::IrqNumber> banned;                // by the API
  std::shared_ptr<const collect::RawSample> reading;   // the last reading
  std::vector<std::shared_ptr<const HistoryPoint>> history;  // oldest first
};

// The latest Status, shared with readers on other threads.
class StatusBoard {
 public:
  void publish(std::shared_ptr<const Status> status) {
    const std::lock_guard<std::mutex> lock(mutex_);
    status_ = std::move(status);
  }
  [[nodiscard]] std::shared_ptr<const Status> latest() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return status_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Status> status_;
};

// systemd's notification socket (sd_notify); a no-op outside systemd.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void ready(const std::string& status) = 0;
  virtual void status(const std::string& status) = 0;
  virtual void watchdog() = 0;
  virtual void stopping() = 0;
  virtual void reloading() = 0;
  // The watchdog period systemd asked for, 0 when none.
  [[nodiscard]] virtual std::int64_t watchdog_ns() const = 0;
};
std::unique_ptr<Notifier> systemd_notifier();
class NullNotifier final : public Notifier {
 public:
  void ready(const std::string&) override {}
  void status(const std::string&) override {}
  void watchdog() override {}
  void stopping() override {}
  void reloading() override {}
  [[nodiscard]] std::int64_t watchdog_ns() const override { return 0; }
};

// Opens the collector for a config's `collector` (auto/bpf/proc) and
// `hardirq_sample_every`.
using CollectorOpener = std::function<core::Result<collect::OpenedCollector>(
    const std::string& kind, const sys::SysRoot&, const core::Clock&, std::uint32_t hardirq_sample_every)>;
// Loads the topology of the root (hwloc).
using TopologyLoader = tick::TopologyLoader;

struct DaemonDeps {
  sys::SysRoot root{"/"};
  const core::Clock* clock = nullptr;        // required
  apply::AffinityWriter* writer = nullptr;   // required (a DryRunWriter under dry_run)
  const apply::KernelFiles* files = nullptr; // required: what restore_on_exit captures through
  Logger* log = nullptr;                     // required
  Notifier* notifier = nullptr;              // required
  StatusBoard* board = nullptr;              // optional
  CollectorOpener open_collector;            // default: collect::open_collector
  TopologyLoader load_topology;              // default: live or HWLOC_FSROOT for the root
};

// What one cycle did.
struct CycleOutcome {
  bool planned = false;      // false: a baseline or rescan cycle, nothing planned
  std::size_t moves = 0;     // written (or that would be, in a dry run)
  std::size_t failed = 0;    // writes that failed (managed IRQs do not count)
  bool rescanned = false;
};

class Daemon {
 public:
  Daemon(DaemonConfig config, balance::Policy policy, DaemonDeps deps);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Opens the collector, takes the first reading (the baseline: nothing is
  // planned before a measured window exists), reads the inventory and
  // topology, and, with restore_on_exit, remembers every IRQ's mask.
  core::Result<void> start();
  // One window since the last reading: rescans what changed, plans, applies.
  // A failed reading or plan is an error value; the loop logs it and goes on.
  core::Result<CycleOutcome> cycle();
  // A new configuration (SIGHUP): takes effect next cycle, with a rescan.
  void reconfigure(DaemonConfig config, balance::Policy policy);
  // Asks for a full rescan next cycle (SIGHUP without config changes, API).
  void request_rescan() { view_->request_rescan(); }
  // Writes back the masks found at start (restore_on_exit); reports how many
  // were restored and failed.
  core::Result<std::pair<std::size_t, std::size_t>> restore();
  // A command from the API, run on the loop's thread between cycles.
  CommandResult execute(const Command& command);
  // The status dump (SIGUSR1): a few lines.
  [[nodiscard]] std::string describe() const;
  [[nodiscard]] const DaemonConfig& config() const { return config_; }
  [[nodiscard]] std::shared_ptr<const Status> status() const { return status_; }

 private:
  // The view brought up to a reading outside a tick (start, a new collector).
  core::Result<void> update_view(const collect::RawSample& reading);
  void note_rescan(const std::string& why);
  // This cycle's rules against the view's inventory: the file's, then the API's.
  [[nodiscard]] tick::Rules rules(const sys::IrqInventory& inventory) const;
  void publish();
  // Hands a replaced reading back to the collector when nobody else holds it.
  void recycle(std::shared_ptr<collect::RawSample> reading);
  // A copy of the status with the API's pins and bans as they are now.
  void republish_pins();

  DaemonConfig config_;
  balance::Policy base_policy_;
  DaemonDeps deps_;
  std::unique_ptr<collect::Collector> collector_;
  std::optional<std::string> fallback_reason_;
  // Shared with the published Status; handed back to the collector for
  // reuse once a newer one replaced it and no API reader holds it.
  std::shared_ptr<collect::RawSample> last_;
  std::optional<tick::MachineView> view_;  // made in the constructor
  balance::State state_;
  std::optional<apply::RestoreSet> restore_;
  std::shared_ptr<Status> status_;
  std::uint64_t moves_total_ = 0, writes_failed_total_ = 0, rescans_ = 0;
  std::map<std::string, std::uint64_t> writes_by_outcome_;
  std::map<core::IrqNumber, core::CpuSet> api_pins_;
  std::set<core::IrqNumber> api_bans_;
  std::deque<std::shared_ptr<const HistoryPoint>> history_;
  bool reopen_collector_ = false;
};

// The loop: a cycle every config.interval_s, the watchdog fed between, and
// signals handled at the waits: SIGTERM/SIGINT stop (restoring masks with
// restore_on_exit), SIGHUP calls `reload` and reconfigures on success (a bad
// configuration is logged and the old one kept), SIGUSR1 logs the status
// dump. The signals must be blocked in every thread before it starts (see
// block_daemon_signals). Returns the exit status.
using Reloader = std::function<core::Result<std::pair<DaemonConfig, balance::Policy>>()>;
// `commands` (optional): the API's queue, served whenever the loop waits.
int run_daemon(Daemon& daemon, core::Clock& clock, Logger& log, Notifier& notifier, const Reloader& reload,
               CommandQueue* commands = nullptr);

// The DaemonControl the API uses: the board for status, the queue for
// commands, and its own /proc reader for measuring interrupts on request.
class LoopControl final : public DaemonControl {
 public:
  LoopControl(const StatusBoard& board, CommandQueue& queue, sys::SysRoot root)
      : board_(board), queue_(queue), root_(std::move(root)) {}
  [[nodiscard]] std::shared_ptr<const Status> status() const override { return board_.latest(); }
  CommandResult command(const Command& command, std::chrono::milliseconds wait) override;
  core::Result<std::vector<std::pair<core::CpuId, std::uint64_t>>> measure_interrupts(double seconds) override;
  core::Result<std::string> interrupts_text() override { return root_.read("/proc/interrupts"); }

 private:
  const StatusBoard& board_;
  CommandQueue& queue_;
  sys::SysRoot root_;
};

// Blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1 (call before any thread starts).
void block_daemon_signals();

// One instance per machine: an flock()ed lock file holding our pid. The
// error names the file and the pid that holds it.
class InstanceLock {
 public:
  static core::Result<InstanceLock> acquire(const std::filesystem::path& file);
  InstanceLock(InstanceLock&& other) noexcept;
  InstanceLock& operator=(InstanceLock&&) = delete;
  InstanceLock(const InstanceLock&) = delete;
  ~InstanceLock();

 private:
  explicit InstanceLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// The pid of a running irqbalance (a /proc/PID/comm of "irqbalance" under
// the root), if any.
std::optional<int> find_irqbalance(const sys::SysRoot& root);

}  // namespace irqbpfd::daemon
