// IrqbalancePeer: the irqbalance child process, its private mount namespace
// and the scan-by-scan stepping. Owns the fork/exec (with the in-namespace
// safety checks before exec), the inotify watches on the fake files that
// tell a scan started, and the reading of the child's /proc/PID accounting.
#include "irqbpfd/sim/irqbalance_peer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fnmatch.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::sim {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The paths irqbalance 1.9.2 reads and writes that the fake root replaces
// (strace -f -e trace=file of it on a fake root, and its cputree.c,
// numa.c, classify.c, procinterrupts.c, activate.c):
//   /proc/interrupts, /proc/stat                      every scan
//   /proc/irq/N/smp_affinity (read, then written), /proc/irq/N/node
//   /sys/devices/system/cpu/{possible,online,isolated,nohz_full}
//   /sys/devices/system/cpu/cpuN/topology/{core_siblings,physical_package_id}
//   /sys/devices/system/cpu/cpuN/cache/indexK/shared_cpu_map, cpuN/nodeM
//   /sys/devices/system/node/nodeM/{cpumap,meminfo}   (meminfo: libnuma)
//   /sys/bus/pci/devices/D/{msi_irqs/,irq,driver,vendor,device,
//     subsystem_vendor,subsystem_device,class,numa_node,local_cpus}
// It also reads /proc/self/status and /proc/sys/kernel/cap_last_cap, which
// stay the real ones, and binds its UI socket under /run/irqbalance.
constexpr const char* kBoundPaths[] = {
    "/proc/interrupts",        "/proc/stat",          "/proc/irq",
    "/sys/devices/system/cpu", "/sys/devices/system/node", "/sys/bus/pci/devices",
};
// Files whose content must read back as the fake one inside the namespace.
constexpr const char* kComparedFiles[] = {"/proc/irq/default_smp_affinity", "/proc/interrupts",
                                          "/sys/devices/system/cpu/online"};

// The child's steps, reported to the parent through a CLOEXEC pipe when one
// fails (nothing arrives when exec succeeds).
enum ChildStep : int {
  kPdeathSig = 1,
  kStdio,
  kUnshare,
  kMakePrivate,
  kSameNamespace,
  kBind,          // + index into kBoundPaths
  kTmpfs = kBind + 16,
  kRunDir,
  kInode,         // + index: the target does not show the fake inode
  kContent = kInode + 16,  // + index into kComparedFiles: bytes differ
  kExec = kContent + 16,
};
struct ChildFailure {
  int step = 0;
  int err = 0;
};

std::string describe(const ChildFailure& f) {
  const auto err = [&] { return f.err != 0 ? std::string(": ") + std::strerror(f.err) : std::string(); };
  if (f.step == kPdeathSig) return "prctl(PR_SET_PDEATHSIG)" + err();
  if (f.step == kStdio) return "redirecting stdio to the log" + err();
  if (f.step == kUnshare) return "unshare(CLONE_NEWNS)" + err();
  if (f.step == kMakePrivate) return "mount(/, MS_REC|MS_PRIVATE)" + err();
  if (f.step == kSameNamespace) return "the child is still in the host's mount namespace" + err();
  if (f.step >= kBind && f.step < kTmpfs) return fmt::format("bind mount over {}{}", kBoundPaths[f.step - kBind], err());
  if (f.step == kTmpfs) return "tmpfs over /run" + err();
  if (f.step == kRunDir) return "mkdir /run/irqbalance" + err();
  if (f.step >= kInode && f.step < kContent) {
    return fmt::format("{} does not show the fake root's file (same inode, not procfs/sysfs) after the bind mount{}",
                       kBoundPaths[f.step - kInode], err());
  }
  if (f.step >= kContent && f.step < kExec) {
    return fmt::format("{} does not read back the fake content inside the namespace{}",
                       kComparedFiles[f.step - kContent], err());
  }
  if (f.step == kExec) return "execve" + err();
  return fmt::format("child step {}{}", f.step, err());
}

// Everything the child needs, prepared before fork(): after it only
// async-signal-safe calls run.
struct ChildPlan {
  pid_t parent = 0;
  int report_fd = -1, log_fd = -1, null_fd = -1;
  ino_t host_mnt_ino = 0;
  std::string self_mnt_ns;                 // /proc/self/ns/mnt
  std::vector<std::string> sources, targets;  // kBoundPaths: fake, live
  std::vector<std::string> cmp_fake, cmp_live;  // kComparedFiles
  std::string run, run_dir;                // /run, /run/irqbalance
  std::vector<char*> argv, envp;
  std::string binary;
};

[[noreturn]] void child_fail(const ChildPlan& plan, int step, int err) {
  const ChildFailure f{step, err};
  [[maybe_unused]] const ssize_t n = ::write(plan.report_fd, &f, sizeof f);
  ::_exit(127);
}

bool same_bytes(const char* a, const char* b) {
  const int fa = ::open(a, O_RDONLY | O_CLOEXEC);
  const int fb = ::open(b, O_RDONLY | O_CLOEXEC);
  bool same = fa >= 0 && fb >= 0;
  char ba[4096], bb[4096];
  while (same) {
    const ssize_t na = ::read(fa, ba, sizeof ba);
    ssize_t nb = 0;
    while (nb < na) {  // read b to the same length
      const ssize_t r = ::read(fb, bb + nb, static_cast<std::size_t>(na - nb));
      if (r <= 0) break;
      nb += r;
    }
    if (na < 0 || nb != na || std::memcmp(ba, bb, static_cast<std::size_t>(na)) != 0) same = false;
    if (na <= 0) {
      char extra;
      if (same && ::read(fb, &extra, 1) != 0) same = false;  // b is longer
      break;
    }
  }
  if (fa >= 0) ::close(fa);
  if (fb >= 0) ::close(fb);
  return same;
}

[[noreturn]] void child_main(const ChildPlan& plan) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(plan, kPdeathSig, errno);
  if (::getppid() != plan.parent) ::_exit(127);  // the parent died before prctl
  ::setpgid(0, 0);
  if (::dup2(plan.null_fd, 0) < 0 || ::dup2(plan.log_fd, 1) < 0 || ::dup2(plan.log_fd, 2) < 0) {
    child_fail(plan, kStdio, errno);
  }
  // Our own namespace first, then no propagation in either direction: a
  // mount below must never show up on the host.
  if (::unshare(CLONE_NEWNS) != 0) child_fail(plan, kUnshare, errno);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail(plan, kMakePrivate, errno);
  struct stat ns {};
  if (::stat(plan.self_mnt_ns.c_str(), &ns) != 0) child_fail(plan, kSameNamespace, errno);
  if (ns.st_ino == plan.host_mnt_ino) child_fail(plan, kSameNamespace, 0);
  for (std::size_t i = 0; i < plan.targets.size(); ++i) {
    if (::mount(plan.sources[i].c_str(), plan.targets[i].c_str(), nullptr, MS_BIND, nullptr) != 0) {
      child_fail(plan, kBind + static_cast<int>(i), errno);
    }
  }
  if (::mount("tmpfs", plan.run.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m") != 0) {
    child_fail(plan, kTmpfs, errno);
  }
  if (::mkdir(plan.run_dir.c_str(), 0755) != 0) child_fail(plan, kRunDir, errno);
  // The safety check: every mount point shows the fake root's inode on a
  // file system that is neither procfs nor sysfs, and the files irqbalance
  // starts from read back byte for byte. Abort otherwise.
  for (std::size_t i = 0; i < plan.targets.size(); ++i) {
    struct stat fake {}, live {};
    struct statfs sfs {};
    if (::stat(plan.sources[i].c_str(), &fake) != 0) child_fail(plan, kInode + static_cast<int>(i), errno);
    if (::stat(plan.targets[i].c_str(), &live) != 0) child_fail(plan, kInode + static_cast<int>(i), errno);
    if (fake.st_dev != live.st_dev || fake.st_ino != live.st_ino) child_fail(plan, kInode + static_cast<int>(i), 0);
    if (::statfs(plan.targets[i].c_str(), &sfs) != 0) child_fail(plan, kInode + static_cast<int>(i), errno);
    if (sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC) child_fail(plan, kInode + static_cast<int>(i), 0);
  }
  for (std::size_t i = 0; i < plan.cmp_fake.size(); ++i) {
    if (!same_bytes(plan.cmp_fake[i].c_str(), plan.cmp_live[i].c_str())) {
      child_fail(plan, kContent + static_cast<int>(i), 0);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) ::sigaction(sig, &dfl, nullptr);
  ::execve(plan.binary.c_str(), plan.argv.data(), plan.envp.data());
  child_fail(plan, kExec, errno);
}

// Closes a descriptor on every way out.
struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

bool under(const fs::path& p, const char* top) {
  const fs::path canon = fs::weakly_canonical(p);
  const fs::path t(top);
  auto a = canon.begin(), b = t.begin();
  for (; b != t.end(); ++a, ++b) {
    if (a == canon.end() || *a != *b) return false;
  }
  return true;
}

std::string read_link(const sys::SysRoot& live, const std::string& kernel_path) {
  auto l = live.read_link(kernel_path);
  return l ? *l : std::string();
}

}  // namespace

IrqbalanceConfig irqbalance_policy(const Scenario& s) {
  IrqbalanceConfig c;
  std::set<std::uint32_t> banned;
  for (core::IrqNumber i : s.policy.banned_irqs) banned.insert(core::raw(i));
  for (const SimIrq& irq : s.irqs) {
    for (const std::string& glob : s.policy.banned_names) {
      if (::fnmatch(glob.c_str(), irq.name.c_str(), 0) == 0) banned.insert(core::raw(irq.irq));
    }
  }
  for (std::uint32_t n : banned) c.args.push_back(fmt::format("--banirq={}", n));
  for (const std::string& d : s.policy.banned_drivers) c.args.push_back("--banmod=" + d);
  if (s.policy.power_threshold) c.args.push_back(fmt::format("--powerthresh={}", *s.policy.power_threshold));
  if (!s.policy.banned_cpus.empty()) c.banned_cpus = s.policy.banned_cpus | s.isolated | s.nohz_full;
  for (const SimIrq& irq : s.irqs) {
    if (irq.level) c.levels[core::raw(irq.irq)] = *irq.level;
  }
  return c;
}

fs::path default_irqbalance_binary() {
  if (const char* v = std::getenv("IRQBPFD_IRQBALANCE"); v != nullptr && *v != '\0') return v;
  if (const char* v = std::getenv("IRQBPFD_PEER_DIR"); v != nullptr && *v != '\0') return fs::path(v) / "irqbalance";
  return "/var/cache/irqbpfd/peer/irqbalance";
}

std::string irqbalance_unavailable(const fs::path& binary) {
  if (::geteuid() != 0) return "not root: the irqbalance peer needs a mount namespace and bind mounts";
  if (::access(binary.c_str(), X_OK) != 0) {
    return fmt::format("no irqbalance binary at {} (scripts/fetch-irqbalance.sh unpacks one; or set IRQBPFD_IRQBALANCE)",
                       binary.string());
  }
  const pid_t child = ::fork();
  if (child < 0) return "";  // not a reason to skip: start() will say what fails
  if (child == 0) ::_exit(::unshare(CLONE_NEWNS) == 0 ? 0 : (errno == EPERM ? 1 : 2));
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1) return "unshare(CLONE_NEWNS): Operation not permitted";
  return "";
}

core::Result<std::unique_ptr<IrqbalancePeer>> IrqbalancePeer::start(const IrqbalanceConfig& config) {
  const sys::SysRoot live("/");
  const sys::SysRoot fake(config.root);
  if (fake.is_live()) return core::Error{"irqbalance peer: the fake root may not be /"};
  for (const char* top : {"/proc", "/sys", "/run"}) {
    if (under(config.root, top)) {
      return core::Error{fmt::format("irqbalance peer: the fake root {} lies under {}, which the namespace replaces",
                                     config.root.string(), top)};
    }
  }
  // Each source a real file or directory of the fake tree: a symlink (or a
  // procfs/sysfs path) would bind the host's own files over themselves.
  for (const char* p : kBoundPaths) {
    struct stat st {};
    struct statfs sfs {};
    const fs::path src = fake.path(p);
    if (::lstat(src.c_str(), &st) != 0) return core::Error{fmt::format("irqbalance peer: the fake root has no {}", p)};
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
      return core::Error{fmt::format("irqbalance peer: {} is not a plain file or directory", src.string())};
    }
    if (::statfs(src.c_str(), &sfs) != 0) return core::errno_error(src.string(), errno);
    if (sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC) {
      return core::Error{fmt::format("irqbalance peer: {} is on procfs or sysfs, not a fake root", src.string())};
    }
  }
  if (::access(config.binary.c_str(), X_OK) != 0) {
    return core::errno_error(fmt::format("irqbalance peer: {}", config.binary.string()), errno);
  }

  std::unique_ptr<IrqbalancePeer> peer(new IrqbalancePeer());
  peer->config_ = config;
  peer->host_mount_ns_ = read_link(live, "/proc/self/ns/mnt");

  // Watches on the fake files: a read of /proc/interrupts starts a scan, a
  // read of /proc/stat is in every scan once, a read of the online list means
  // it rebuilt its CPU tree. inotify sees accesses through the bind mounts
  // (it watches the inode, whatever the path).
  peer->inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (peer->inotify_fd_ < 0) return core::errno_error("inotify_init1", errno);
  const auto watch = [&](const char* kernel_path, int* wd) -> core::Result<void> {
    *wd = ::inotify_add_watch(peer->inotify_fd_, fake.path(kernel_path).c_str(), IN_CLOSE_NOWRITE);
    if (*wd < 0) return core::errno_error(fmt::format("inotify_add_watch {}", fake.path(kernel_path).string()), errno);
    return {};
  };
  if (auto r = watch("/proc/interrupts", &peer->watch_interrupts_); !r) return r.error();
  if (auto r = watch("/proc/stat", &peer->watch_stat_); !r) return r.error();
  if (auto r = watch("/sys/devices/system/cpu/online", &peer->watch_online_); !r) return r.error();

  // The command and environment: nothing of ours leaks in (no
  // IRQBALANCE_ONESHOT, no DBUS address or HOSTNAME moving glib's timers).
  peer->command_ = {config.binary.string(), "--foreground", fmt::format("--interval={}", config.interval_s)};
  if (config.debug) peer->command_.emplace_back("--debug");
  for (const std::string& a : config.args) peer->command_.push_back(a);
  if (!config.levels.empty()) {
    // irqbalance runs the script as `SCRIPT DEVPATH IRQ` for each IRQ and
    // reads key=value lines from it.
    const fs::path script = config.root / "irqbalance-policy.sh";
    std::string text = "#!/bin/sh\n# Balance levels the scenario imposes, as irqbpfd is given them.\ncase \"$2\" in\n";
    for (const auto& [irq, level] : config.levels) {
      text += fmt::format("  {}) echo balance_level={} ;;\n", irq, core::to_string(level));
    }
    text += "esac\n";
    std::ofstream(script) << text;
    std::error_code ec;
    fs::permissions(script, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec, ec);
    if (ec) return core::errno_error("irqbalance peer: policy script " + script.string(), ec.value());
    peer->command_.push_back("--policyscript=" + script.string());
  }
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  if (config.banned_cpus) env.push_back("IRQBALANCE_BANNED_CPULIST=" + config.banned_cpus->to_list());

  Fd log(::open(config.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (log.fd < 0) return core::errno_error("irqbalance peer: log " + config.log.string(), errno);
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (devnull.fd < 0) return core::errno_error("/dev/null", errno);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return core::errno_error("pipe2", errno);
  Fd report_read(pipe_fds[0]), report_write(pipe_fds[1]);

  ChildPlan plan;
  plan.parent = ::getpid();
  plan.report_fd = report_write.fd;
  plan.log_fd = log.fd;
  plan.null_fd = devnull.fd;
  plan.self_mnt_ns = live.path("/proc/self/ns/mnt").string();
  struct stat host_ns {};
  if (::stat(plan.self_mnt_ns.c_str(), &host_ns) != 0) return core::errno_error(plan.self_mnt_ns, errno);
  plan.host_mnt_ino = host_ns.st_ino;
  for (const char* p : kBoundPaths) {
    plan.sources.push_back(fake.path(p).string());
    plan.targets.push_back(live.path(p).string());
  }
  for (const char* p : kComparedFiles) {
    plan.cmp_fake.push_back(fake.path(p).string());
    plan.cmp_live.push_back(live.path(p).string());
  }
  plan.run = live.path("/run").string();
  plan.run_dir = live.path("/run/irqbalance").string();
  plan.binary = config.binary.string();
  for (std::string& a : peer->command_) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (std::string& e : env) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) return core::errno_error("fork", errno);
  if (pid == 0) child_main(plan);
  peer->pid_ = pid;  // from here the destructor kills and reaps it
  ::close(report_write.fd);  // our copy of the write end: EOF once the child execs
  report_write.fd = -1;

  ChildFailure failure;
  ssize_t n = 0;
  do {
    n = ::read(report_read.fd, &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    return core::Error{"irqbalance peer: not started: " + describe(failure), failure.err};
  }

  const auto deadline = Clock::now() + config.timeout;
  // Start-up: it reads the tree and the counters, then waits for its timer.
  bool topology = false;
  while (true) {
    std::uint32_t interrupts = 0;
    peer->drain_events(&topology, &interrupts);
    if (interrupts > 0) break;
    if (auto r = peer->check_alive("start-up"); !r) return r.error();
    if (Clock::now() > deadline) return core::Error{"irqbalance peer: it never read /proc/interrupts\n" + peer->log_tail()};
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (auto r = peer->wait_until_idle(deadline, "start-up"); !r) return r.error();
  if (auto r = peer->stop(); !r) return r.error();
  peer->mount_ns_ = read_link(live, fmt::format("/proc/{}/ns/mnt", pid));
  if (peer->mount_ns_.empty() || peer->mount_ns_ == peer->host_mount_ns_) {
    return core::Error{fmt::format("irqbalance peer: pid {} is not in a private mount namespace ({} vs host {})", pid,
                                   peer->mount_ns_, peer->host_mount_ns_)};
  }
  auto cpu = peer->cpu();
  if (!cpu) return cpu.error();
  peer->startup_cpu_ = *cpu;
  peer->drain_events(&topology, nullptr);
  return peer;
}

IrqbalancePeer::~IrqbalancePeer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);  // also ends a stopped process
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

std::uint32_t IrqbalancePeer::drain_events(bool* topology_read, std::uint32_t* interrupts_read) {
  std::uint32_t stat_reads = 0;
  alignas(inotify_event) char buf[4096];
  while (true) {
    const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: nothing pending
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      if (ev->wd == watch_stat_) ++stat_reads;
      if (ev->wd == watch_interrupts_ && interrupts_read != nullptr) ++*interrupts_read;
      if (ev->wd == watch_online_ && topology_read != nullptr) *topology_read = true;
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  return stat_reads;
}

core::Result<void> IrqbalancePeer::check_alive(const char* what) {
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return {};
  if (r == pid_) {
    pid_ = -1;
    const std::string how = WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                              : fmt::format("was killed by signal {}", WTERMSIG(status));
    return core::Error{fmt::format("irqbalance peer: during {} it {}\n{}", what, how, log_tail())};
  }
  return core::errno_error("irqbalance peer: waitpid", errno);
}

// Its main thread blocks in poll() only in the GLib main loop between scans
// (GLib's worker thread "gmain" polls too, but is another task). x86-64
// numbers: 7 poll, 271 ppoll, 219 restart_syscall (a poll resumed after
// SIGCONT). /proc/PID/task/PID/syscall says "running" while it runs.
core::Result<void> IrqbalancePeer::wait_until_idle(Clock::time_point deadline, const char* what) {
  const sys::SysRoot live("/");
  const std::string path = fmt::format("/proc/{0}/task/{0}/syscall", pid_);
  while (true) {
    auto text = live.read(path);
    if (text) {
      const std::string nr = text->substr(0, text->find(' '));
      if (nr == "7" || nr == "271" || nr == "219") return {};
    }
    if (auto r = check_alive(what); !r) return r;
    if (Clock::now() > deadline) {
      return core::Error{fmt::format("irqbalance peer: {} did not end within {} ms (syscall: {})\n{}", what,
                                     config_.timeout.count(), text ? *text : text.error().message, log_tail())};
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

core::Result<void> IrqbalancePeer::stop() {
  if (::kill(pid_, SIGSTOP) != 0) return core::errno_error("irqbalance peer: SIGSTOP", errno);
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid_, &status, WUNTRACED);
    if (r < 0 && errno == EINTR) continue;
    if (r != pid_) return core::errno_error("irqbalance peer: waitpid", errno);
    if (WIFSTOPPED(status)) break;
    pid_ = -1;
    return core::Error{"irqbalance peer: it ended instead of stopping\n" + log_tail()};
  }
  stopped_ = true;
  return {};
}

core::Result<PeerScan> IrqbalancePeer::scan() {
  if (pid_ <= 0 || !stopped_) return core::Error{"irqbalance peer: not running"};
  PeerScan out;
  drain_events(nullptr, nullptr);  // our own reads and writes of the fake files while it was stopped
  auto before = cpu();
  if (!before) return before.error();
  const auto t0 = Clock::now();
  const auto deadline = t0 + config_.timeout + std::chrono::seconds(config_.interval_s);
  if (::kill(pid_, SIGCONT) != 0) return core::errno_error("irqbalance peer: SIGCONT", errno);
  stopped_ = false;
  // The scan starts with a read of /proc/interrupts; only after that is a
  // blocked poll() the end of a scan and not the wait before it.
  while (out.interrupts_reads == 0) {
    pollfd p{inotify_fd_, POLLIN, 0};
    ::poll(&p, 1, 20);
    out.stat_reads += drain_events(&out.topology_rescan, &out.interrupts_reads);
    if (auto r = check_alive("a scan"); !r) return r.error();
    if (Clock::now() > deadline) {
      return core::Error{fmt::format("irqbalance peer: no scan within {} s of SIGCONT\n{}",
                                     std::chrono::duration_cast<std::chrono::seconds>(deadline - t0).count(), log_tail())};
    }
  }
  if (auto r = wait_until_idle(deadline, "a scan"); !r) return r.error();
  if (auto r = stop(); !r) return r.error();
  out.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  out.stat_reads += drain_events(&out.topology_rescan, &out.interrupts_reads);
  auto after = cpu();
  if (!after) return after.error();
  out.cpu.exec_ns = after->exec_ns - before->exec_ns;
  out.cpu.stat_ticks = after->stat_ticks - before->stat_ticks;
  return out;
}

// /proc/PID/task/TID/schedstat: "run_ns wait_ns timeslices" per thread;
// /proc/PID/stat: utime and stime are fields 14 and 15, counted after the
// ")" that ends the command name (which may hold spaces).
core::Result<PeerCpu> IrqbalancePeer::cpu() const {
  const sys::SysRoot live("/");
  PeerCpu c;
  auto tasks = live.list(fmt::format("/proc/{}/task", pid_));
  if (!tasks) return tasks.error();
  for (const std::string& tid : *tasks) {
    auto s = live.read(fmt::format("/proc/{}/task/{}/schedstat", pid_, tid));
    if (!s) continue;  // a thread that just ended
    c.exec_ns += std::strtoull(s->c_str(), nullptr, 10);
  }
  auto stat = live.read(fmt::format("/proc/{}/stat", pid_));
  if (!stat) return stat.error();
  const std::size_t close = stat->rfind(')');
  if (close == std::string::npos) return core::Error{"/proc/" + std::to_string(pid_) + "/stat: no ')'"};
  std::istringstream fields(stat->substr(close + 2));
  std::string f;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state
    if (i == 14) utime = std::strtoull(f.c_str(), nullptr, 10);
    if (i == 15) {
      stime = std::strtoull(f.c_str(), nullptr, 10);
      break;
    }
  }
  c.stat_ticks = utime + stime;
  return c;
}

core::Result<std::uint64_t> IrqbalancePeer::peak_rss_kb() const {
  auto status = sys::SysRoot("/").read(fmt::format("/proc/{}/status", pid_));
  if (!status) return status.error();
  const std::size_t at = status->find("VmHWM:");
  if (at == std::string::npos) return core::Error{"no VmHWM in /proc/PID/status"};
  return std::strtoull(status->c_str() + at + 6, nullptr, 10);
}

std::string IrqbalancePeer::log_tail(std::size_t lines) const {
  std::ifstream in(config_.log);
  std::vector<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.erase(last.begin());
  }
  if (last.empty()) {
    // Without --debug it logs to syslog only (--journal: to journald), and
    // neither socket exists in the namespace's private /run.
    return fmt::format("irqbalance log {} is empty{}", config_.log.string(),
                       config_.debug ? "" : " (it writes messages there only with --debug: --irqbalance-debug)");
  }
  std::string out = fmt::format("irqbalance log {} ends:", config_.log.string());
  for (const std::string& l : last) out += "\n  " + l;
  return out;
}

}  // namespace irqbpfd::sim
