// bench_bpf_cost: what irqbpfd's BPF programs cost per interrupt, including
// the kernel's per-program dispatch, measured by bracket programs on the same
// tracepoints (bpf/irq_bench.bpf.c) while O_DIRECT reads raise disk interrupts.
// A measurement program, not a test: prints a table, optionally JSON. It
// attaches programs and reads /proc; it never writes IRQ affinities.
//
// Method. On each of the five tracepoints the bench attaches, in this order,
// bench_open_X, the programs under test, bench_close_X; programs of equal
// priority run in attach order, so close - open spans the dispatch and run of
// everything in between. Configurations, interleaved over rounds:
//   none   brackets only (their own cost, subtracted from the others)
//   floor  an empty program between the brackets on every tracepoint,
//          from a second load of the bench object (see attach(): like
//          irq_stats, it must not share the brackets' warm code)
//   pair   irq_stats' hardirq entry/exit (BpfPrograms, hardirq_only)
//   full   all five irq_stats programs (BpfPrograms)
//   pair_sampled, full_sampled   the same with hardirq_sample_every =
//          --sample-every (default 8): one handler run in N timed
// plus two references (clock_pair: entry/exit programs that only read the
// clock; timer_pair: the least a handler timer can do, the clock stored at
// entry and the span added to one per-CPU slot at exit) and ordering checks
// (a slow program inside / outside the brackets, the brackets reversed);
// floor_near (the empty programs of the brackets' own object) shows how much
// that code locality is worth. Cost per interrupt of a config =
//   sum over its tracepoints of (mean span - mean span of none) x events per hardirq.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "irq_bench.skel.h"
#include "irqbpfd/collect/bpf_programs.hpp"
#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/sys/proc_interrupts.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace {

using irqbpfd::collect::BpfOptions;
using irqbpfd::collect::BpfPrograms;
using irqbpfd::collect::BpfSizing;

// Exit codes: 0 done, 1 failed while measuring, 2 refused (not root, no BPF,
// bad arguments).
constexpr int kExitFailed = 1;
constexpr int kExitRefused = 2;

constexpr std::size_t kTracepoints = 5;
// Slot order of bpf/irq_bench.bpf.c (TP_IRQ_ENTRY ... TP_SOFTIRQ_EXIT).
constexpr std::array<const char*, kTracepoints> kTpNames = {"irq_handler_entry", "irq_handler_exit", "softirq_raise",
                                                            "softirq_entry", "softirq_exit"};
constexpr std::size_t kIrqEntry = 0;

// Mirror of `struct bench_result` in bpf/irq_bench.bpf.c; the map's value
// size is checked against it at start.
struct Slot {
  std::uint64_t sum_ns = 0;
  std::uint64_t kept = 0;
  std::uint64_t events = 0;
  std::uint64_t unopened = 0;
  std::uint64_t nested = 0;
  std::uint64_t too_long = 0;

  Slot& operator+=(const Slot& o) {
    sum_ns += o.sum_ns, kept += o.kept, events += o.events;
    unopened += o.unopened, nested += o.nested, too_long += o.too_long;
    return *this;
  }
  friend Slot operator-(Slot a, const Slot& b) {
    a.sum_ns -= b.sum_ns, a.kept -= b.kept, a.events -= b.events;
    a.unopened -= b.unopened, a.nested -= b.nested, a.too_long -= b.too_long;
    return a;
  }
  [[nodiscard]] double mean_ns() const { return kept ? static_cast<double>(sum_ns) / static_cast<double>(kept) : 0.0; }
};
using Slots = std::array<Slot, kTracepoints>;

struct SlowStats {
  std::uint64_t sum_ns = 0;
  std::uint64_t runs = 0;
};

enum class Config { kNone, kFloor, kPair, kPairSampled, kFull, kFullSampled, kClockPair, kTimerPair, kFloorNear, kSlowInside, kSlowOutside, kReversed };
constexpr std::array<Config, 9> kMainConfigs = {Config::kNone,       Config::kFloor,        Config::kPair,
                                                Config::kPairSampled, Config::kFull,         Config::kFullSampled,
                                                Config::kClockPair,   Config::kTimerPair,    Config::kFloorNear};
constexpr std::array<Config, 3> kCheckConfigs = {Config::kSlowInside, Config::kSlowOutside, Config::kReversed};

const char* name_of(Config c) {
  switch (c) {
    case Config::kNone: return "none";
    case Config::kFloor: return "floor";
    case Config::kPair: return "pair";
    case Config::kPairSampled: return "pair_sampled";
    case Config::kFullSampled: return "full_sampled";
    case Config::kFull: return "full";
    case Config::kClockPair: return "clock_pair";
    case Config::kTimerPair: return "timer_pair";
    case Config::kFloorNear: return "floor_near";
    case Config::kSlowInside: return "slow_inside";
    case Config::kSlowOutside: return "slow_outside";
    case Config::kReversed: return "reversed";
  }
  return "?";
}

// ---------------------------------------------------------------- RAII handles

struct SkelDeleter {
  void operator()(irq_bench* s) const { irq_bench__destroy(s); }
};
using SkelPtr = std::unique_ptr<irq_bench, SkelDeleter>;

struct LinkDeleter {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) close(fd_);
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// A temporary file that is removed when the bench ends.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

 private:
  std::string path_;
};

// One configuration's attachments. Members are destroyed in reverse order:
// close brackets first, then the programs under test, then the open brackets,
// so no close ever runs without its open while tearing down.
struct Attached {
  std::vector<LinkPtr> opens;
  std::unique_ptr<BpfPrograms> programs;
  SkelPtr own;  // a separate load of the bench object: the reference programs under test come from it
  std::vector<LinkPtr> middle;
  std::vector<LinkPtr> closes;
};

struct Failure {
  std::string message;
  int exit_code = kExitFailed;
};

volatile std::sig_atomic_t g_stop = 0;
// kPairSampled: irq_stats' pair timing one handler run in this many (--sample-every).
std::uint32_t g_sample_every = 8;
void on_signal(int) { g_stop = 1; }

// ---------------------------------------------------------------- BPF side

class Bench {
 public:
  static std::optional<Failure> open(Bench& out, std::uint64_t span_cap_ns, std::uint32_t slow_loops) {
    out.skel_.reset(irq_bench__open());
    if (!out.skel_) return Failure{fmt::format("opening the bench BPF object: {}", std::strerror(errno)), kExitRefused};
    out.skel_->rodata->span_cap_ns = span_cap_ns;
    out.skel_->rodata->slow_loops = slow_loops;
    if (int err = irq_bench__load(out.skel_.get()); err != 0) {
      // EACCES is the verifier rejecting a program: a bug here, not a missing feature.
      if (err == -EACCES) return Failure{"the verifier rejected the bench programs (libbpf printed why)"};
      return Failure{fmt::format("BPF unavailable: loading the bench programs (tp_btf): {}", std::strerror(-err)),
                     kExitRefused};
    }
    if (bpf_map__value_size(out.skel_->maps.results) != sizeof(Slot)) {
      return Failure{"bench_result in irq_bench.bpf.c and Slot in bpf_cost.cpp differ"};
    }
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return Failure{"cannot count possible CPUs"};
    out.possible_cpus_ = static_cast<std::size_t>(cpus);
    return std::nullopt;
  }

  [[nodiscard]] irq_bench* skel() const { return skel_.get(); }

  std::array<bpf_program*, kTracepoints> opens() const {
    auto& p = skel_->progs;
    return {p.bench_open_irq_entry, p.bench_open_irq_exit, p.bench_open_softirq_raise, p.bench_open_softirq_entry,
            p.bench_open_softirq_exit};
  }
  std::array<bpf_program*, kTracepoints> closes() const {
    auto& p = skel_->progs;
    return {p.bench_close_irq_entry, p.bench_close_irq_exit, p.bench_close_softirq_raise, p.bench_close_softirq_entry,
            p.bench_close_softirq_exit};
  }
  std::array<bpf_program*, kTracepoints> empties() const {
    auto& p = skel_->progs;
    return {p.bench_empty_irq_entry, p.bench_empty_irq_exit, p.bench_empty_softirq_raise, p.bench_empty_softirq_entry,
            p.bench_empty_softirq_exit};
  }

  // Sums over CPUs of the per-CPU result slots.
  std::optional<Failure> read(Slots& out) const {
    std::vector<Slot> per_cpu(possible_cpus_);
    for (std::uint32_t tp = 0; tp < kTracepoints; ++tp) {
      if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.results), &tp, per_cpu.data()) != 0) {
        return Failure{fmt::format("reading the bench results map: {}", std::strerror(errno))};
      }
      Slot total;
      for (const Slot& s : per_cpu) total += s;
      out[tp] = total;
    }
    return std::nullopt;
  }

  std::optional<Failure> read_slow(SlowStats& out) const {
    std::vector<SlowStats> per_cpu(possible_cpus_);
    const std::uint32_t zero = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.slow_stats), &zero, per_cpu.data()) != 0) {
      return Failure{fmt::format("reading the slow program's map: {}", std::strerror(errno))};
    }
    out = {};
    for (const SlowStats& s : per_cpu) out.sum_ns += s.sum_ns, out.runs += s.runs;
    return std::nullopt;
  }

 private:
  SkelPtr skel_;
  std::size_t possible_cpus_ = 0;
};

std::optional<Failure> attach_one(bpf_program* prog, std::vector<LinkPtr>& into) {
  bpf_link* link = bpf_program__attach(prog);
  if (link == nullptr) {
    return Failure{fmt::format("attaching {}: {}", bpf_program__name(prog), std::strerror(errno))};
  }
  into.emplace_back(link);
  return std::nullopt;
}

std::optional<Failure> attach_all(const std::array<bpf_program*, kTracepoints>& progs, std::vector<LinkPtr>& into) {
  for (bpf_program* p : progs) {
    if (auto f = attach_one(p, into)) return f;
  }
  return std::nullopt;
}

std::optional<Failure> attach(const Bench& bench, Config config, const BpfSizing& sizing, Attached& out) {
  if (config == Config::kReversed) {
    if (auto f = attach_all(bench.closes(), out.closes)) return f;
    return attach_all(bench.opens(), out.opens);
  }
  if (config == Config::kSlowOutside) {
    if (auto f = attach_one(bench.skel()->progs.bench_slow_irq_entry, out.middle)) return f;
  }
  if (auto f = attach_all(bench.opens(), out.opens)) return f;
  // Every program under test is loaded apart from the brackets, as irq_stats
  // is: programs of one object are JIT-ed side by side, and a program whose
  // code sits beside the open bracket's (kFloorNear) runs from warm cache
  // lines that a program deployed alone does not find.
  const bool own_object = config == Config::kFloor || config == Config::kClockPair || config == Config::kTimerPair;
  if (own_object) {
    out.own.reset(irq_bench__open_and_load());
    if (!out.own) return Failure{fmt::format("loading a second copy of the bench object: {}", std::strerror(errno))};
  }
  switch (config) {
    case Config::kFloor: {
      auto& p = out.own->progs;
      if (auto f = attach_all({p.bench_empty_irq_entry, p.bench_empty_irq_exit, p.bench_empty_softirq_raise,
                               p.bench_empty_softirq_entry, p.bench_empty_softirq_exit},
                              out.middle)) {
        return f;
      }
      break;
    }
    case Config::kFloorNear:
      if (auto f = attach_all(bench.empties(), out.middle)) return f;
      break;
    case Config::kPair:
    case Config::kPairSampled:
    case Config::kFull:
    case Config::kFullSampled: {
      BpfOptions options;
      options.sizing = sizing;
      options.mode = irqbpfd::collect::AttachMode::kTpBtf;
      options.hardirq_only = config == Config::kPair || config == Config::kPairSampled;
      if (config == Config::kPairSampled || config == Config::kFullSampled) {
        options.hardirq_sample_every = g_sample_every;
      }
      auto programs = BpfPrograms::open(options);
      if (!programs) return Failure{"irq_stats: " + programs.error().message};
      out.programs = std::move(*programs);
      break;
    }
    case Config::kClockPair:
      if (auto f = attach_one(out.own->progs.bench_clock_irq_entry, out.middle)) return f;
      if (auto f = attach_one(out.own->progs.bench_clock_irq_exit, out.middle)) return f;
      break;
    case Config::kTimerPair:
      if (auto f = attach_one(out.own->progs.bench_timer_irq_entry, out.middle)) return f;
      if (auto f = attach_one(out.own->progs.bench_timer_irq_exit, out.middle)) return f;
      break;
    case Config::kSlowInside:
      if (auto f = attach_one(bench.skel()->progs.bench_slow_irq_entry, out.middle)) return f;
      break;
    default: break;
  }
  return attach_all(bench.closes(), out.closes);
}

// ---------------------------------------------------------------- interrupts

// O_DIRECT 4 KiB reads at random block offsets: one disk request, hence (on
// virtio-blk) about one completion interrupt, per read.
class DiskLoad {
 public:
  static std::optional<Failure> open(DiskLoad& out, const std::string& path, std::uint64_t bytes) {
    out.fd_ = Fd(::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
    if (out.fd_.get() < 0) return Failure{fmt::format("{}: O_DIRECT open: {}", path, std::strerror(errno))};
    out.blocks_ = bytes / kBlock;
    if (out.blocks_ == 0) return Failure{fmt::format("{}: smaller than one block", path)};
    void* buf = nullptr;
    if (posix_memalign(&buf, kBlock, kBlock) != 0) return Failure{"allocating an aligned read buffer"};
    out.buffer_.reset(static_cast<char*>(buf));
    return std::nullopt;
  }

  // Returns the reads done (fewer when interrupted by a signal).
  std::optional<Failure> run(std::uint64_t reads, std::uint64_t& done) {
    std::uniform_int_distribution<std::uint64_t> pick(0, blocks_ - 1);
    done = 0;
    for (; done < reads && g_stop == 0; ++done) {
      const auto offset = static_cast<off_t>(pick(rng_) * kBlock);
      if (pread(fd_.get(), buffer_.get(), kBlock, offset) != static_cast<ssize_t>(kBlock)) {
        if (errno == EINTR) continue;
        return Failure{fmt::format("O_DIRECT read at {}: {}", offset, std::strerror(errno))};
      }
    }
    return std::nullopt;
  }

 private:
  static constexpr std::uint64_t kBlock = 4096;
  struct FreeDeleter {
    void operator()(char* p) const { std::free(p); }
  };
  Fd fd_;
  std::uint64_t blocks_ = 0;
  std::unique_ptr<char, FreeDeleter> buffer_;
  std::mt19937_64 rng_{0x1bb0fdULL};
};

// Creates a file of `bytes` under `dir` with non-zero data, flushed to disk.
std::optional<Failure> make_file(const std::string& dir, std::uint64_t bytes, std::string& path) {
  std::string tmpl = dir + "/irqbpfd-bench-XXXXXX";
  Fd fd(mkstemp(tmpl.data()));
  if (fd.get() < 0) return Failure{fmt::format("{}: mkstemp: {}", tmpl, std::strerror(errno))};
  path = tmpl;
  std::vector<std::uint64_t> chunk(1 << 17);  // 1 MiB
  std::mt19937_64 rng{42};
  for (std::uint64_t written = 0; written < bytes;) {
    for (auto& w : chunk) w = rng();
    const std::size_t n = std::min<std::uint64_t>(chunk.size() * 8, bytes - written);
    if (write(fd.get(), chunk.data(), n) != static_cast<ssize_t>(n)) {
      return Failure{fmt::format("{}: write: {}", path, std::strerror(errno))};
    }
    written += n;
  }
  if (fsync(fd.get()) != 0) return Failure{fmt::format("{}: fsync: {}", path, std::strerror(errno))};
  return std::nullopt;
}

// Interrupt counts per numbered IRQ row, from /proc/interrupts.
struct IrqCounts {
  std::map<std::uint32_t, std::uint64_t> total;
  std::map<std::uint32_t, std::string> name;
};

std::optional<Failure> read_irq_counts(const irqbpfd::sys::SysRoot& root, IrqCounts& out) {
  auto pi = irqbpfd::sys::read_proc_interrupts(root);
  if (!pi) return Failure{pi.error().message};
  out = {};
  for (const auto& row : pi->rows) {
    if (!row.irq) continue;
    const std::uint32_t irq = irqbpfd::core::raw(*row.irq);
    out.total[irq] = row.total();
    out.name[irq] = row.name;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- one sample

struct Sample {
  Config config = Config::kNone;
  int round = 0;
  Slots slots{};
  SlowStats slow{};
  std::uint64_t reads = 0;
  std::uint64_t proc_irqs = 0;   // all numbered IRQ rows of /proc/interrupts
  std::uint32_t top_irq = 0;     // the IRQ that moved most (the disk)
  std::string top_name;
  std::uint64_t top_irq_count = 0;

  [[nodiscard]] double events_per_irq(std::size_t tp) const {
    const auto irqs = slots[kIrqEntry].events;
    return irqs ? static_cast<double>(slots[tp].events) / static_cast<double>(irqs) : 0.0;
  }
};

std::optional<Failure> measure(const Bench& bench, const irqbpfd::sys::SysRoot& root, const BpfSizing& sizing,
                               DiskLoad& load, Config config, std::uint64_t reads, Sample& out) {
  Attached attached;
  if (auto f = attach(bench, config, sizing, attached)) return f;
  // Deltas over the read window only: attach and detach transients are out.
  Slots before{}, after{};
  SlowStats slow_before{}, slow_after{};
  IrqCounts irq_before, irq_after;
  if (auto f = bench.read(before)) return f;
  if (auto f = bench.read_slow(slow_before)) return f;
  if (auto f = read_irq_counts(root, irq_before)) return f;
  if (auto f = load.run(reads, out.reads)) return f;
  if (auto f = bench.read(after)) return f;
  if (auto f = bench.read_slow(slow_after)) return f;
  if (auto f = read_irq_counts(root, irq_after)) return f;
  out.config = config;
  for (std::size_t tp = 0; tp < kTracepoints; ++tp) out.slots[tp] = after[tp] - before[tp];
  out.slow = {slow_after.sum_ns - slow_before.sum_ns, slow_after.runs - slow_before.runs};
  out.proc_irqs = 0;
  out.top_irq_count = 0;
  for (const auto& [irq, total] : irq_after.total) {
    const auto it = irq_before.total.find(irq);
    const std::uint64_t d = it == irq_before.total.end() ? total : total - it->second;
    out.proc_irqs += d;
    if (d > out.top_irq_count) {
      out.top_irq_count = d;
      out.top_irq = irq;
      out.top_name = irq_after.name[irq];
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- statistics

struct Spread {
  double median = 0, min = 0, max = 0;
};

Spread spread(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  const double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {med, v.front(), v.back()};
}

std::string fmt_spread(const Spread& s, int precision = 1) {
  return fmt::format("{:.{}f} [{:.{}f} .. {:.{}f}]", s.median, precision, s.min, precision, s.max, precision);
}

// Ratio of the totals over rounds: steadier than the median of per-round
// ratios when a round's floor comes out near zero.
double pooled(const std::vector<double>& num, const std::vector<double>& den) {
  double n = 0, d = 0;
  for (double x : num) n += x;
  for (double x : den) d += x;
  return d > 0 ? n / d : 0;
}

// Cost per interrupt of `s` over tracepoints [first, last): the span above
// the brackets-only span of the same round, times events per hardirq.
double cost_per_irq(const Sample& s, const Sample& none, std::size_t first, std::size_t last) {
  double ns = 0;
  for (std::size_t tp = first; tp < last; ++tp) {
    ns += (s.slots[tp].mean_ns() - none.slots[tp].mean_ns()) * s.events_per_irq(tp);
  }
  return ns;
}

const Sample* find(const std::vector<Sample>& samples, int round, Config c) {
  for (const auto& s : samples) {
    if (s.round == round && s.config == c) return &s;
  }
  return nullptr;
}

// The bpf_stats view of the empty programs: what BPF_ENABLE_STATS reports
// per run (the program body only), for comparison with the bracket floor.
struct StatsView {
  bool done = false;
  std::string skipped;
  std::array<double, kTracepoints> run_ns{};
  std::array<std::uint64_t, kTracepoints> runs{};
};

std::optional<Failure> bpf_stats_view(const Bench& bench, DiskLoad& load, std::uint64_t reads, StatsView& out) {
  Fd stats(bpf_enable_stats(BPF_STATS_RUN_TIME));
  if (stats.get() < 0) {
    out.skipped = fmt::format("BPF_ENABLE_STATS: {}", std::strerror(errno));
    return std::nullopt;
  }
  std::vector<LinkPtr> links;
  if (auto f = attach_all(bench.empties(), links)) return f;
  auto info = [&](std::array<bpf_prog_info, kTracepoints>& into) -> std::optional<Failure> {
    for (std::size_t tp = 0; tp < kTracepoints; ++tp) {
      into[tp] = {};
      __u32 len = sizeof(bpf_prog_info);
      if (bpf_obj_get_info_by_fd(bpf_program__fd(bench.empties()[tp]), &into[tp], &len) != 0) {
        return Failure{fmt::format("bpf_obj_get_info_by_fd: {}", std::strerror(errno))};
      }
    }
    return std::nullopt;
  };
  std::array<bpf_prog_info, kTracepoints> before{}, after{};
  if (auto f = info(before)) return f;
  std::uint64_t done = 0;
  if (auto f = load.run(reads, done)) return f;
  if (auto f = info(after)) return f;
  for (std::size_t tp = 0; tp < kTracepoints; ++tp) {
    const std::uint64_t runs = after[tp].run_cnt - before[tp].run_cnt;
    out.runs[tp] = runs;
    out.run_ns[tp] = runs ? static_cast<double>(after[tp].run_time_ns - before[tp].run_time_ns) / static_cast<double>(runs) : 0;
  }
  out.done = true;
  return std::nullopt;
}

std::string read_first_line(const irqbpfd::sys::SysRoot& root, std::string_view path) {
  auto text = root.read(path);
  if (!text) return "?";
  const std::string& t = *text;
  return t.substr(0, t.find('\n'));
}

int run(int argc, char** argv) {
  CLI::App app{"Per-interrupt cost of irqbpfd's BPF programs (bracketed on the irq tracepoints)"};
  int rounds = 7;
  std::uint64_t reads = 4000;
  std::string dir = "/var/tmp";
  std::uint64_t file_mib = 64;
  std::string json_path;
  bool no_checks = false;
  bool no_bpf_stats = false;
  std::uint64_t span_cap_ns = 50000;
  std::uint32_t slow_loops = 64;
  app.add_option("--rounds", rounds, "Rounds; each measures every configuration once")->check(CLI::Range(1, 100));
  app.add_option("--reads", reads, "O_DIRECT 4 KiB reads per configuration per round")->check(CLI::Range(100, 10000000));
  app.add_option("--dir", dir, "Directory for the temporary read file (on the disk to interrupt)");
  app.add_option("--file-mib", file_mib, "Size of the temporary read file")->check(CLI::Range(1, 65536));
  app.add_option("--sample-every", g_sample_every, "pair_sampled: time one handler run in N (power of two)")
      ->check(CLI::IsMember({1U, 2U, 4U, 8U, 16U, 32U, 64U}));
  app.add_option("--json", json_path, "Also write the figures as JSON to this file");
  app.add_flag("--no-checks", no_checks, "Skip the ordering checks (slow program inside/outside, reversed brackets)");
  app.add_flag("--no-bpf-stats", no_bpf_stats, "Skip the bpf_stats comparison pass");
  app.add_option("--span-cap-ns", span_cap_ns, "Spans longer than this are dropped (interrupted by untraced events)");
  app.add_option("--slow-loops", slow_loops, "bpf_ktime_get_ns calls in the slow check program")->check(CLI::Range(1, 4096));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help or the error
    return rc == 0 ? 0 : kExitRefused;
  }

  if (geteuid() != 0) {
    fmt::print(stderr, "bench_bpf_cost: refusing: needs root (BPF programs on the irq tracepoints)\n");
    return kExitRefused;
  }
  const irqbpfd::sys::SysRoot root("/");
  auto sizing = irqbpfd::collect::size_for_machine(root);
  if (!sizing) {
    fmt::print(stderr, "bench_bpf_cost: sizing the irq_stats maps: {}\n", sizing.error().message);
    return kExitFailed;
  }

  Bench bench;
  if (auto f = Bench::open(bench, span_cap_ns, slow_loops)) {
    fmt::print(stderr, "bench_bpf_cost: {}{}\n", f->exit_code == kExitRefused ? "refusing: " : "", f->message);
    return f->exit_code;
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  std::string file;
  if (auto f = make_file(dir, file_mib << 20, file)) {
    fmt::print(stderr, "bench_bpf_cost: {}\n", f->message);
    return kExitFailed;
  }
  TempFile remove_file(file);
  DiskLoad load;
  if (auto f = DiskLoad::open(load, file, file_mib << 20)) {
    fmt::print(stderr, "bench_bpf_cost: {}\n", f->message);
    return kExitFailed;
  }

  std::vector<Config> configs(kMainConfigs.begin(), kMainConfigs.end());
  if (!no_checks) configs.insert(configs.end(), kCheckConfigs.begin(), kCheckConfigs.end());

  fmt::print("bench_bpf_cost: {} rounds x {} configs x {} reads (O_DIRECT 4 KiB, {} MiB file in {}); kernel {}\n",
             rounds, configs.size(), reads, file_mib, dir, read_first_line(root, "/proc/sys/kernel/osrelease"));
  std::vector<Sample> samples;
  for (int r = 0; r < rounds && g_stop == 0; ++r) {
    // Rotate the order each round so no configuration always runs first.
    for (std::size_t i = 0; i < configs.size() && g_stop == 0; ++i) {
      const Config c = configs[(i + static_cast<std::size_t>(r)) % configs.size()];
      Sample s;
      s.round = r;
      if (auto f = measure(bench, root, *sizing, load, c, reads, s)) {
        fmt::print(stderr, "bench_bpf_cost: round {} {}: {}\n", r + 1, name_of(c), f->message);
        return f->exit_code;
      }
      samples.push_back(std::move(s));
    }
    fmt::print("  round {}/{} done\n", r + 1, rounds);
  }
  if (g_stop != 0) {
    fmt::print(stderr, "bench_bpf_cost: interrupted; programs detached, nothing reported\n");
    return kExitFailed;
  }

  StatsView stats_view;
  if (!no_bpf_stats) {
    if (auto f = bpf_stats_view(bench, load, reads, stats_view)) {
      fmt::print(stderr, "bench_bpf_cost: bpf_stats pass: {}\n", f->message);
      return f->exit_code;
    }
  }

  // ------------------------------------------------------------ figures
  nlohmann::json js;
  js["kernel"] = read_first_line(root, "/proc/sys/kernel/osrelease");
  js["online_cpus"] = sysconf(_SC_NPROCESSORS_ONLN);
  js["rounds"] = rounds;
  js["reads_per_config_round"] = reads;
  js["attach"] = "tp_btf";
  js["span_cap_ns"] = span_cap_ns;
  js["sizing"] = {{"max_irqs", sizing->max_irqs}, {"nr_cpus", sizing->nr_cpus}};

  // Per-tracepoint mean spans, per configuration (median over rounds).
  fmt::print("\nMean open->close span per event, ns (median [min .. max] over rounds)\n");
  fmt::print("{:<18}", "tracepoint");
  for (Config c : configs) fmt::print(" {:>24}", name_of(c));
  fmt::print("\n");
  for (std::size_t tp = 0; tp < kTracepoints; ++tp) {
    fmt::print("{:<18}", kTpNames[tp]);
    for (Config c : configs) {
      std::vector<double> v;
      for (int r = 0; r < rounds; ++r) {
        if (const Sample* s = find(samples, r, c)) v.push_back(s->slots[tp].mean_ns());
      }
      const Spread sp = spread(v);
      fmt::print(" {:>24}", fmt_spread(sp));
      js["span_ns"][name_of(c)][kTpNames[tp]] = {{"median", sp.median}, {"min", sp.min}, {"max", sp.max}};
    }
    fmt::print("\n");
  }

  // Events per hardirq and interrupt counts, per configuration.
  fmt::print("\nEvents per hardirq (irq_handler_entry), median over rounds; interrupts per config per round\n");
  fmt::print("{:<13} {:>7} {:>7} {:>7} {:>7} {:>7} {:>10} {:>10} {:>22} {:>9}\n", "config", "entry", "exit", "raise",
             "sirq_en", "sirq_ex", "hardirqs", "/proc irq", "top IRQ (disk)", "dropped%");
  for (Config c : configs) {
    std::array<std::vector<double>, kTracepoints> per{};
    std::vector<double> hard, proc, top, dropped;
    std::string top_label;
    for (int r = 0; r < rounds; ++r) {
      const Sample* s = find(samples, r, c);
      if (s == nullptr) continue;
      for (std::size_t tp = 0; tp < kTracepoints; ++tp) per[tp].push_back(s->events_per_irq(tp));
      hard.push_back(static_cast<double>(s->slots[kIrqEntry].events));
      proc.push_back(static_cast<double>(s->proc_irqs));
      top.push_back(static_cast<double>(s->top_irq_count));
      top_label = fmt::format("{} {}", s->top_irq, s->top_name);
      std::uint64_t ev = 0, drop = 0;
      for (const Slot& sl : s->slots) ev += sl.events, drop += sl.nested + sl.too_long + sl.unopened;
      dropped.push_back(ev ? 100.0 * static_cast<double>(drop) / static_cast<double>(ev) : 0);
    }
    fmt::print("{:<13} {:>7.3f} {:>7.3f} {:>7.3f} {:>7.3f} {:>7.3f} {:>10.0f} {:>10.0f} {:>22} {:>9.2f}\n", name_of(c),
               spread(per[0]).median, spread(per[1]).median, spread(per[2]).median, spread(per[3]).median,
               spread(per[4]).median, spread(hard).median, spread(proc).median,
               fmt::format("{:.0f} ({})", spread(top).median, top_label), spread(dropped).median);
    auto& jc = js["events"][name_of(c)];
    for (std::size_t tp = 0; tp < kTracepoints; ++tp) jc["per_hardirq"][kTpNames[tp]] = spread(per[tp]).median;
    jc["hardirqs_per_round"] = {{"median", spread(hard).median}, {"min", spread(hard).min}, {"max", spread(hard).max}};
    jc["proc_interrupts_per_round"] = spread(proc).median;
    jc["top_irq"] = top_label;
    jc["top_irq_per_round"] = spread(top).median;
    jc["dropped_spans_percent"] = spread(dropped).median;
  }

  // Cost per interrupt and the ratios, computed per round, then summarised.
  std::vector<double> floor_hard, floor_all, pair, full, pair_ratio, full_ratio, clock, clock_ratio, timer, timer_ratio, near,
      near_ratio, sampled, sampled_ratio, full_sampled, full_sampled_ratio;
  for (int r = 0; r < rounds; ++r) {
    const Sample* none = find(samples, r, Config::kNone);
    const Sample* fl = find(samples, r, Config::kFloor);
    const Sample* pa = find(samples, r, Config::kPair);
    const Sample* fu = find(samples, r, Config::kFull);
    const Sample* cl = find(samples, r, Config::kClockPair);
    const Sample* ti = find(samples, r, Config::kTimerPair);
    const Sample* ne = find(samples, r, Config::kFloorNear);
    const Sample* ps = find(samples, r, Config::kPairSampled);
    const Sample* fs = find(samples, r, Config::kFullSampled);
    if (!none || !fl || !pa || !fu || !cl || !ti || !ne || !ps || !fs) continue;
    const double fh = cost_per_irq(*fl, *none, 0, 2);
    const double fa = cost_per_irq(*fl, *none, 0, kTracepoints);
    const double p = cost_per_irq(*pa, *none, 0, 2);
    const double f = cost_per_irq(*fu, *none, 0, kTracepoints);
    floor_hard.push_back(fh);
    floor_all.push_back(fa);
    pair.push_back(p);
    full.push_back(f);
    pair_ratio.push_back(fh > 0 ? p / fh : 0);
    full_ratio.push_back(fa > 0 ? f / fa : 0);
    const double c = cost_per_irq(*cl, *none, 0, 2);
    clock.push_back(c);
    clock_ratio.push_back(fh > 0 ? c / fh : 0);
    const double t = cost_per_irq(*ti, *none, 0, 2);
    timer.push_back(t);
    timer_ratio.push_back(fh > 0 ? t / fh : 0);
    const double n = cost_per_irq(*ne, *none, 0, 2);
    near.push_back(n);
    near_ratio.push_back(n > 0 ? p / n : 0);
    const double sp = cost_per_irq(*ps, *none, 0, 2);
    sampled.push_back(sp);
    sampled_ratio.push_back(fh > 0 ? sp / fh : 0);
    const double fsp = cost_per_irq(*fs, *none, 0, kTracepoints);
    full_sampled.push_back(fsp);
    full_sampled_ratio.push_back(fa > 0 ? fsp / fa : 0);
  }
  const Spread s_fh = spread(floor_hard), s_fa = spread(floor_all), s_p = spread(pair), s_f = spread(full);
  const Spread s_pr = spread(pair_ratio), s_fr = spread(full_ratio), s_c = spread(clock), s_cr = spread(clock_ratio);
  const Spread s_t = spread(timer), s_tr = spread(timer_ratio), s_n = spread(near), s_nr = spread(near_ratio);
  const Spread s_s = spread(sampled), s_sr = spread(sampled_ratio);
  const Spread s_fs = spread(full_sampled), s_fsr = spread(full_sampled_ratio);
  fmt::print("\nCost per hardirq above the brackets, ns (median [min .. max] over {} rounds)\n", pair.size());
  fmt::print("  floor, irq_handler_entry+exit     {:>28}\n", fmt_spread(s_fh));
  fmt::print("  floor, all five tracepoints       {:>28}\n", fmt_spread(s_fa));
  fmt::print("  hardirq pair (entry+exit)         {:>28}\n", fmt_spread(s_p));
  fmt::print("  full set (all five)               {:>28}\n", fmt_spread(s_f));
  const double pool_p = pooled(pair, floor_hard), pool_f = pooled(full, floor_all);
  const double pool_c = pooled(clock, floor_hard), pool_t = pooled(timer, floor_hard);
  fmt::print("  ratio pair / floor(entry+exit)    {:>28}   pooled {:.2f}   target <= 1.5: {}\n", fmt_spread(s_pr, 2),
             pool_p, s_pr.median <= 1.5 ? "met" : "NOT met");
  fmt::print("  ratio full / floor(all five)      {:>28}   pooled {:.2f}\n", fmt_spread(s_fr, 2), pool_f);
  const double pool_s = pooled(sampled, floor_hard);
  fmt::print("  hardirq pair, 1 in {:<2} timed       {:>28}\n", g_sample_every, fmt_spread(s_s));
  fmt::print("  ratio sampled pair / floor        {:>28}   pooled {:.2f}   target <= 1.5: {}\n", fmt_spread(s_sr, 2),
             pool_s, s_sr.median <= 1.5 ? "met" : "NOT met");
  const double pool_fs = pooled(full_sampled, floor_all);
  fmt::print("  full set, 1 in {:<2} timed           {:>28}\n", g_sample_every, fmt_spread(s_fs));
  fmt::print("  ratio sampled full / floor(five)  {:>28}   pooled {:.2f}\n", fmt_spread(s_fsr, 2), pool_fs);
  fmt::print("  reference: clock-only pair        {:>28}\n", fmt_spread(s_c));
  fmt::print("  ratio clock-only pair / floor     {:>28}   pooled {:.2f}\n", fmt_spread(s_cr, 2), pool_c);
  fmt::print("  reference: minimal timer pair     {:>28}\n", fmt_spread(s_t));
  fmt::print("  ratio minimal timer pair / floor  {:>28}   pooled {:.2f}\n", fmt_spread(s_tr, 2), pool_t);
  const double pool_n = pooled(pair, near);
  fmt::print("  floor beside the brackets' code   {:>28}   (floor_near: the empty programs of the brackets' object)\n",
             fmt_spread(s_n));
  fmt::print("  ratio pair / floor_near           {:>28}   pooled {:.2f}\n", fmt_spread(s_nr, 2), pool_n);
  auto jspread = [](const Spread& s) { return nlohmann::json{{"median", s.median}, {"min", s.min}, {"max", s.max}}; };
  js["cost_ns_per_hardirq"] = {{"floor_hardirq_tracepoints", jspread(s_fh)},
                               {"floor_all_tracepoints", jspread(s_fa)},
                               {"hardirq_pair", jspread(s_p)},
                               {"full_set", jspread(s_f)},
                               {"hardirq_pair_sampled", jspread(s_s)},
                               {"full_set_sampled", jspread(s_fs)},
                               {"clock_only_pair", jspread(s_c)},
                               {"minimal_timer_pair", jspread(s_t)},
                               {"floor_near_hardirq_tracepoints", jspread(s_n)}};
  js["ratio"] = {{"pair_over_floor", jspread(s_pr)},
                 {"full_over_floor", jspread(s_fr)},
                 {"sampled_pair_over_floor", jspread(s_sr)},
                 {"sampled_full_over_floor", jspread(s_fsr)},
                 {"clock_only_pair_over_floor", jspread(s_cr)},
                 {"minimal_timer_pair_over_floor", jspread(s_tr)},
                 {"pair_over_floor_near", jspread(s_nr)}};
  js["pooled_ratio"] = {{"pair_over_floor", pool_p},
                        {"full_over_floor", pool_f},
                        {"sampled_pair_over_floor", pool_s},
                        {"sampled_full_over_floor", pool_fs},
                        {"clock_only_pair_over_floor", pool_c},
                        {"minimal_timer_pair_over_floor", pool_t},
                        {"pair_over_floor_near", pool_n}};
  js["target_pair_over_floor"] = 1.5;
  js["target_met"] = s_pr.median <= 1.5;
  js["sample_every"] = g_sample_every;
  js["sampled_target_met"] = s_sr.median <= 1.5;

  // Ordering checks.
  if (!no_checks) {
    std::vector<double> inside, outside, slow_own, none_entry, reversed_kept;
    for (int r = 0; r < rounds; ++r) {
      const Sample* none = find(samples, r, Config::kNone);
      const Sample* in = find(samples, r, Config::kSlowInside);
      const Sample* out = find(samples, r, Config::kSlowOutside);
      const Sample* rev = find(samples, r, Config::kReversed);
      if (!none || !in || !out || !rev) continue;
      inside.push_back(in->slots[kIrqEntry].mean_ns() - none->slots[kIrqEntry].mean_ns());
      outside.push_back(out->slots[kIrqEntry].mean_ns() - none->slots[kIrqEntry].mean_ns());
      if (in->slow.runs) slow_own.push_back(static_cast<double>(in->slow.sum_ns) / static_cast<double>(in->slow.runs));
      none_entry.push_back(none->slots[kIrqEntry].mean_ns());
      std::uint64_t kept = 0, events = 0;
      for (std::size_t tp = 0; tp < 2; ++tp) kept += rev->slots[tp].kept, events += rev->slots[tp].events;
      reversed_kept.push_back(events ? 100.0 * static_cast<double>(kept) / static_cast<double>(events) : 0);
    }
    const Spread si = spread(inside), so = spread(outside), sown = spread(slow_own), sn = spread(none_entry),
                 sr = spread(reversed_kept);
    const bool inside_ok = si.median >= 0.9 * sown.median;
    const bool outside_ok = so.median < 0.1 * sown.median;
    const bool reversed_ok = sr.max < 5.0;
    fmt::print("\nOrdering checks on irq_handler_entry (median [min .. max], ns)\n");
    fmt::print("  brackets adjacent (none), span               {:>28}\n", fmt_spread(sn));
    fmt::print("  slow program's own run time (timed inside)   {:>28}\n", fmt_spread(sown));
    fmt::print("  span growth, slow attached between brackets  {:>28}  {}\n", fmt_spread(si),
               inside_ok ? "ok: grows by at least its run time" : "UNEXPECTED");
    fmt::print("  span growth, slow attached before open       {:>28}  {}\n", fmt_spread(so),
               outside_ok ? "ok: no growth" : "UNEXPECTED");
    fmt::print("  close attached before open: spans kept, %    {:>28}  {}\n", fmt_spread(sr, 2),
               reversed_ok ? "ok: close finds no open of the same event" : "UNEXPECTED");
    js["checks"] = {{"none_span_ns", jspread(sn)},
                    {"slow_own_ns", jspread(sown)},
                    {"slow_inside_growth_ns", jspread(si)},
                    {"slow_outside_growth_ns", jspread(so)},
                    {"reversed_kept_percent", jspread(sr)},
                    {"inside_ok", inside_ok},
                    {"outside_ok", outside_ok},
                    {"reversed_ok", reversed_ok}};
  }

  if (!no_bpf_stats) {
    if (stats_view.done) {
      fmt::print("\nbpf_stats (BPF_ENABLE_STATS) of the empty programs, one extra pass: ns per run\n");
      for (std::size_t tp = 0; tp < kTracepoints; ++tp) {
        fmt::print("  {:<18} {:>6.1f} ns over {} runs\n", kTpNames[tp], stats_view.run_ns[tp], stats_view.runs[tp]);
        js["bpf_stats_empty_ns_per_run"][kTpNames[tp]] = stats_view.run_ns[tp];
      }
    } else {
      fmt::print("\nbpf_stats pass skipped: {}\n", stats_view.skipped);
    }
  }

  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << js.dump(2) << "\n";
    if (!out) {
      fmt::print(stderr, "bench_bpf_cost: writing {}: failed\n", json_path);
      return kExitFailed;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
