// IrqbalancePeer: Debian's irqbalance as the balancer of a FakeMachine. The
// child runs in a private mount namespace where the fake root is
// bind-mounted over the /proc and /sys paths irqbalance reads and writes;
// this class owns that process (killed and reaped on destruction) and steps
// it exactly one scan at a time with SIGCONT/SIGSTOP.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/sim/scenario.hpp"

namespace irqbpfd::sim {

struct IrqbalanceConfig {
  std::filesystem::path binary;  // the unpacked usr/sbin/irqbalance (default_irqbalance_binary())
  std::filesystem::path root;    // the FakeMachine's root
  std::filesystem::path log;     // its stdout and stderr (truncated)
  std::uint32_t interval_s = 1;  // --interval: the most a scan waits for its timer, in wall-clock seconds
  bool debug = false;            // --debug: its tree dump per scan in the log (costs it CPU time)
  std::vector<std::string> args;            // policy flags: --banirq=N, --banmod=NAME, --powerthresh=N
  std::optional<core::CpuSet> banned_cpus;  // IRQBALANCE_BANNED_CPULIST (replaces its isolated+nohz_full default)
  // Balance levels the scenario imposes on IRQs (irqbpfd gets them as a
  // policy hint): start() writes a --policyscript that answers
  // balance_level=... for them, so both balancers get the same levels.
  std::map<std::uint32_t, core::BalanceLevel> levels;
  std::chrono::milliseconds timeout{30'000};  // for start-up and for each scan
};

// The scenario's policy as irqbalance flags, where they map: banned IRQs
// (numbers, and name globs expanded against the scenario's IRQs) as
// --banirq, banned drivers as --banmod, power_threshold as --powerthresh,
// banned CPUs as IRQBALANCE_BANNED_CPULIST together with the isolated and
// nohz_full CPUs (the variable replaces irqbalance's own default of those
// two). NUMA strictness, gains, cooldown and SMT weight have no irqbalance
// counterpart: it runs with its defaults. Levels the scenario imposes go
// to `levels` (answered by a policy script). Only `args`, `banned_cpus` and
// `levels` are set.
IrqbalanceConfig irqbalance_policy(const Scenario& scenario);

// $IRQBPFD_IRQBALANCE, else $IRQBPFD_PEER_DIR/irqbalance, else the link
// scripts/fetch-irqbalance.sh makes: /var/cache/irqbpfd/peer/irqbalance.
std::filesystem::path default_irqbalance_binary();

// Why the peer cannot run on this machine, or "" when it can: not root, no
// executable binary, or unshare(CLONE_NEWNS) refused with EPERM. Any other
// failure is not a reason to skip: start() reports it.
std::string irqbalance_unavailable(const std::filesystem::path& binary);

// CPU time as the kernel accounts it for all of the process's threads.
struct PeerCpu {
  std::uint64_t exec_ns = 0;     // sum of /proc/PID/task/*/schedstat run time (ns, exact)
  std::uint64_t stat_ticks = 0;  // utime + stime of /proc/PID/stat (USER_HZ ticks: 10 ms steps)
};

// One scan as seen from outside. A plain scan reads /proc/interrupts and
// /proc/stat once each; when the CPU columns of /proc/interrupts changed
// (hotplug) it rebuilds its CPU tree and IRQ database, reads both again and
// places every IRQ load-blind, as after start-up (1.9.2: /proc/stat twice,
// /proc/interrupts three times).
struct PeerScan {
  PeerCpu cpu;                         // used by this scan
  std::uint32_t interrupts_reads = 0;  // of the fake /proc/interrupts
  std::uint32_t stat_reads = 0;        // of the fake /proc/stat
  bool topology_rescan = false;        // it re-read the CPU tree (the online list)
  double wall_ms = 0;                  // from SIGCONT to stopped again (mostly its timer)
};

class IrqbalancePeer {
 public:
  // Forks the child, which makes a private mount namespace (mounts propagate
  // nowhere), bind-mounts the fake root's /proc/interrupts, /proc/stat,
  // /proc/irq, /sys/devices/system/{cpu,node} and /sys/bus/pci/devices over
  // the real ones and a tmpfs over /run (its socket; no syslog reaches the
  // host), checks from inside that every mount shows the fake file (same
  // inode; /proc/interrupts, /proc/irq/default_smp_affinity and the online
  // list byte for byte) and only then execs irqbalance --foreground. Returns
  // once it has read the machine and waits for its first timer, stopped.
  static core::Result<std::unique_ptr<IrqbalancePeer>> start(const IrqbalanceConfig& config);
  ~IrqbalancePeer();
  IrqbalancePeer(const IrqbalancePeer&) = delete;
  IrqbalancePeer& operator=(const IrqbalancePeer&) = delete;

  // Lets it run exactly one scan: SIGCONT, wait for the scan to read the
  // fake /proc/interrupts (inotify), then for its main thread to block in
  // the main loop's poll() again (/proc/PID/task/PID/syscall), SIGSTOP.
  // Its affinity writes are then in the fake root's smp_affinity files.
  core::Result<PeerScan> scan();

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& mount_namespace() const { return mount_ns_; }  // "mnt:[4026532177]"
  [[nodiscard]] const std::string& host_mount_namespace() const { return host_mount_ns_; }
  [[nodiscard]] const PeerCpu& startup_cpu() const { return startup_cpu_; }  // until its first wait
  [[nodiscard]] core::Result<PeerCpu> cpu() const;                          // since it started
  [[nodiscard]] core::Result<std::uint64_t> peak_rss_kb() const;             // VmHWM
  [[nodiscard]] const std::vector<std::string>& command() const { return command_; }
  // The last lines of its log, for error messages.
  [[nodiscard]] std::string log_tail(std::size_t lines = 15) const;

 private:
  IrqbalancePeer() = default;
  core::Result<void> wait_until_idle(std::chrono::steady_clock::time_point deadline, const char* what);
  core::Result<void> stop();
  core::Result<void> check_alive(const char* what);
  // Reads pending inotify events: returns the /proc/stat reads, sets
  // *topology_read on a read of the online list, counts /proc/interrupts reads.
  std::uint32_t drain_events(bool* topology_read, std::uint32_t* interrupts_read);

  pid_t pid_ = -1;
  bool stopped_ = false;
  int inotify_fd_ = -1;
  int watch_interrupts_ = -1, watch_stat_ = -1, watch_online_ = -1;
  IrqbalanceConfig config_;
  std::vector<std::string> command_;
  std::string mount_ns_, host_mount_ns_;
  PeerCpu startup_cpu_;
};

}  // namespace irqbpfd::sim
