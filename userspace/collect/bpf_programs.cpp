// BpfPrograms: owns the irq_stats skeleton, its links and the mmapped counter
// arrays. The only file that includes the generated skeleton.
//
// Reading: the three per-(IRQ, CPU) arrays are mmapped read-only. The count
// array is compared with a shadow copy in 512-byte chunks (memcmp); only
// cells whose count ever moved are "active", and only active cells have
// their times read. A full 4096 IRQ x 256 CPU sizing is one 8 MiB scan.
#include "irqbpfd/collect/bpf_programs.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "irq_stats.h"
#include "irq_stats.skel.h"

namespace irqbpfd::collect {

const std::array<const char*, kSoftirqVectors> kSoftirqNames = {"HI",       "TIMER",   "NET_TX", "NET_RX",  "BLOCK",
                                                                "IRQ_POLL", "TASKLET", "SCHED",  "HRTIMER", "RCU"};

static_assert(kSoftirqVectors == IRQBPFD_NR_SOFTIRQS, "softirq vectors differ from the BPF ABI");
static_assert(kHistBuckets == IRQBPFD_HIST_BUCKETS, "histogram buckets differ from the BPF ABI");
static_assert(sizeof(irqbpfd_cpu) == IRQBPFD_CPU_SIZE, "irqbpfd_cpu ABI");

const char* to_string(AttachMode mode) { return mode == AttachMode::kTpBtf ? "tp_btf" : "raw_tp"; }

std::string check_hardirq_sample_every(std::uint64_t every) {
  if (every >= 1 && every <= kMaxHardirqSampleEvery && std::has_single_bit(every)) return "";
  return fmt::format("{} is not a power of two from 1 (time every handler run) to {}", every, kMaxHardirqSampleEvery);
}

namespace {

// libbpf's own messages (verifier logs among them) are kept, not printed:
// the last lines go into the error that explains a failed load.
std::mutex g_log_mutex;
std::string g_log;

int capture_libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  const int n = std::vsnprintf(line, sizeof line, format, args);
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_log += line;
  if (g_log.size() > 8192) g_log.erase(0, g_log.size() - 8192);
  return n;
}

std::string take_log() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::string out;
  out.swap(g_log);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  const auto cut = out.size() > 600 ? out.size() - 600 : 0;
  return out.substr(cut);
}

std::string errno_hint(int err) {
  if (err == EPERM || err == EACCES) return " (needs root, or CAP_BPF and CAP_PERFMON)";
  if (err == ENOENT || err == ESRCH) return " (tracepoint or kernel BTF not found)";
  if (err == EINVAL) return " (rejected by the kernel: verifier or unsupported program type)";
  return "";
}

struct Mapping {
  void* addr = MAP_FAILED;
  std::size_t length = 0;
  ~Mapping() {
    if (addr != MAP_FAILED) munmap(addr, length);
  }
};

core::Result<void> map_readonly(bpf_map* map, Mapping& out) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t bytes = static_cast<std::size_t>(bpf_map__value_size(map)) * bpf_map__max_entries(map);
  out.length = (bytes + page - 1) / page * page;
  out.addr = mmap(nullptr, out.length, PROT_READ, MAP_SHARED, bpf_map__fd(map), 0);
  if (out.addr == MAP_FAILED) return core::errno_error(fmt::format("mmap of BPF map {}", bpf_map__name(map)), errno);
  return {};
}

template <class T>
std::uint64_t load(const T* p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

struct SkeletonHandle {
  irq_stats* skel = nullptr;
  ~SkeletonHandle() {
    if (skel != nullptr) irq_stats__destroy(skel);
  }
};

struct LinkHandles {
  std::vector<bpf_link*> links;
  ~LinkHandles() {
    for (bpf_link* link : links) bpf_link__destroy(link);
  }
};

}  // namespace

// Members are destroyed in reverse order: mappings, then links, then the
// skeleton (which closes the map and program fds).
struct BpfPrograms::State {
  SkeletonHandle handle;
  irq_stats* skel = nullptr;
  LinkHandles links;
  Mapping count, hardirq, softirq, cpu_stats, hist;
  std::vector<std::uint64_t> shadow_count;
  std::vector<std::uint32_t> active;  // cell indices (cpu * max_irqs + irq) that ever counted
  std::vector<bool> is_active;

  bpf_program* program(AttachMode mode, Program which) const {
    const bool btf = mode == AttachMode::kTpBtf;
    switch (which) {
      case Program::kIrqEntry: return btf ? skel->progs.btf_irq_entry : skel->progs.raw_irq_entry;
      case Program::kIrqExit: return btf ? skel->progs.btf_irq_exit : skel->progs.raw_irq_exit;
      case Program::kSoftirqRaise: return btf ? skel->progs.btf_softirq_raise : skel->progs.raw_softirq_raise;
      case Program::kSoftirqEntry: return btf ? skel->progs.btf_softirq_entry : skel->progs.raw_softirq_entry;
      case Program::kSoftirqExit: return btf ? skel->progs.btf_softirq_exit : skel->progs.raw_softirq_exit;
    }
    return nullptr;
  }
};

namespace {

constexpr std::array<BpfPrograms::Program, 5> kAllPrograms = {
    BpfPrograms::Program::kIrqEntry, BpfPrograms::Program::kIrqExit, BpfPrograms::Program::kSoftirqRaise,
    BpfPrograms::Program::kSoftirqEntry, BpfPrograms::Program::kSoftirqExit};

// Opens, sizes, loads (and attaches) one program set.
core::Result<std::unique_ptr<BpfPrograms::State>> try_load(const BpfOptions& options, AttachMode mode) {
  auto state = std::make_unique<BpfPrograms::State>();
  state->handle.skel = irq_stats__open();
  state->skel = state->handle.skel;
  if (state->skel == nullptr) return core::errno_error("opening the BPF object", errno);
  irq_stats* skel = state->skel;
  const std::uint32_t cells = options.sizing.max_irqs * options.sizing.nr_cpus;
  skel->rodata->max_irqs = options.sizing.max_irqs;
  skel->rodata->nr_cpus = options.sizing.nr_cpus;
  skel->rodata->use_fake_clock = options.fake_clock ? 1 : 0;
  skel->rodata->hardirq_sample_shift = static_cast<std::uint32_t>(std::countr_zero(options.hardirq_sample_every));
  for (bpf_map* map : {skel->maps.irq_count, skel->maps.irq_hardirq_ns, skel->maps.irq_softirq_ns}) {
    if (int err = bpf_map__set_max_entries(map, cells); err != 0) return core::errno_error("sizing BPF maps", -err);
  }
  if (int err = bpf_map__set_max_entries(skel->maps.cpu_stats, options.sizing.nr_cpus); err != 0) {
    return core::errno_error("sizing BPF maps", -err);
  }
  if (int err = bpf_map__set_max_entries(skel->maps.state, options.sizing.nr_cpus); err != 0) {
    return core::errno_error("sizing BPF maps", -err);
  }
  if (int err = bpf_map__set_max_entries(skel->maps.hist, options.sizing.max_irqs * IRQBPFD_HIST_BUCKETS); err != 0) {
    return core::errno_error("sizing BPF maps", -err);
  }
  const AttachMode other = mode == AttachMode::kTpBtf ? AttachMode::kRawTp : AttachMode::kTpBtf;
  for (auto which : kAllPrograms) bpf_program__set_autoload(state->program(other, which), false);

  if (int err = irq_stats__load(skel); err != 0) {
    const std::string log = take_log();
    return core::Error{fmt::format("loading BPF programs ({}): {}{}{}", to_string(mode), std::strerror(-err),
                                   errno_hint(-err), log.empty() ? "" : "; libbpf: " + log),
                       -err};
  }
  if (options.attach) {
    for (auto which : kAllPrograms) {
      if (options.hardirq_only && which != BpfPrograms::Program::kIrqEntry && which != BpfPrograms::Program::kIrqExit) {
        continue;
      }
      bpf_program* prog = state->program(mode, which);
      bpf_link* link = bpf_program__attach(prog);
      if (link == nullptr) {
        const int err = errno;
        return core::Error{fmt::format("attaching BPF program {} ({}): {}{}", bpf_program__name(prog),
                                       to_string(mode), std::strerror(err), errno_hint(err)),
                           err};
      }
      state->links.links.push_back(link);
    }
  }
  for (auto [map, mapping] : {std::pair{skel->maps.irq_count, &state->count},
                              std::pair{skel->maps.irq_hardirq_ns, &state->hardirq},
                              std::pair{skel->maps.irq_softirq_ns, &state->softirq},
                              std::pair{skel->maps.cpu_stats, &state->cpu_stats},
                              std::pair{skel->maps.hist, &state->hist}}) {
    if (auto r = map_readonly(map, *mapping); !r) return r.error();
  }
  state->shadow_count.assign(cells, 0);
  state->is_active.assign(cells, false);
  return state;
}

}  // namespace

BpfPrograms::BpfPrograms(std::unique_ptr<State> state) : state_(std::move(state)) {}
BpfPrograms::~BpfPrograms() = default;

core::Result<std::unique_ptr<BpfPrograms>> BpfPrograms::open(const BpfOptions& options) {
  if (options.sizing.max_irqs == 0 || options.sizing.nr_cpus == 0) return core::Error{"BPF maps sized to zero"};
  if (auto bad = check_hardirq_sample_every(options.hardirq_sample_every); !bad.empty()) {
    return core::Error{"hardirq_sample_every: " + bad, EINVAL};
  }
  if (std::uint64_t{options.sizing.max_irqs} * options.sizing.nr_cpus > (1U << 26)) {
    return core::Error{fmt::format("BPF maps too large: {} IRQs x {} CPUs", options.sizing.max_irqs,
                                   options.sizing.nr_cpus)};
  }
  libbpf_set_print(capture_libbpf_print);
  std::string fallback_reason;
  std::vector<AttachMode> modes;
  if (options.mode) {
    modes = {*options.mode};
  } else {
    modes = {AttachMode::kTpBtf, AttachMode::kRawTp};
  }
  core::Error last{"no BPF attach mode tried"};
  for (AttachMode mode : modes) {
    auto state = try_load(options, mode);
    if (state) {
      std::unique_ptr<BpfPrograms> programs(new BpfPrograms(std::move(*state)));
      programs->mode_ = mode;
      programs->sizing_ = options.sizing;
      programs->sample_every_ = options.hardirq_sample_every;
      programs->fallback_reason_ = fallback_reason;
      return programs;
    }
    last = state.error();
    if (fallback_reason.empty()) fallback_reason = last.message;
    // Without the privilege, the other program type fails the same way.
    if (last.errno_value == EPERM || last.errno_value == EACCES) break;
  }
  return last;
}

std::size_t BpfPrograms::map_bytes() const {
  return state_->count.length + state_->hardirq.length + state_->softirq.length + state_->cpu_stats.length +
         state_->hist.length;
}

core::Result<BpfReading> BpfPrograms::read() {
  State& s = *state_;
  const std::uint32_t max_irqs = sizing_.max_irqs;
  const std::uint32_t nr_cpus = sizing_.nr_cpus;
  const std::size_t cells = std::size_t{max_irqs} * nr_cpus;
  const auto* count = static_cast<const std::uint64_t*>(s.count.addr);
  const auto* hard = static_cast<const std::uint64_t*>(s.hardirq.addr);
  const auto* soft = static_cast<const std::uint64_t*>(s.softirq.addr);

  // 1. Find counts that moved, 64 cells at a time.
  constexpr std::size_t kChunk = 64;
  bool new_active = false;
  for (std::size_t base = 0; base < cells; base += kChunk) {
    const std::size_t n = std::min(kChunk, cells - base);
    if (std::memcmp(count + base, s.shadow_count.data() + base, n * sizeof(std::uint64_t)) == 0) continue;
    for (std::size_t i = base; i < base + n; ++i) {
      const std::uint64_t now = load(count + i);
      if (now == s.shadow_count[i]) continue;
      s.shadow_count[i] = now;
      if (!s.is_active[i]) {
        s.is_active[i] = true;
        // Keep `active` ordered by (irq, cpu) for the output.
        s.active.push_back(static_cast<std::uint32_t>(i));
        new_active = true;
      }
    }
  }
  if (new_active) {
    std::sort(s.active.begin(), s.active.end(), [max_irqs](std::uint32_t a, std::uint32_t b) {
      const std::uint32_t ia = a % max_irqs, ib = b % max_irqs;
      return ia != ib ? ia < ib : a / max_irqs < b / max_irqs;
    });
  }

  // 2. Times of the active cells.
  BpfReading out;
  out.sizing = sizing_;
  out.mode = mode_;
  out.map_bytes = map_bytes();
  out.hardirq_sample_every = sample_every_;
  out.cells.reserve(s.active.size());
  for (std::uint32_t i : s.active) {
    BpfCell c;
    c.irq = core::irq_number(i % max_irqs);
    c.cpu = core::cpu_id(i / max_irqs);
    c.count = s.shadow_count[i];
    c.hardirq_ns = load(hard + i);
    c.softirq_ns = load(soft + i);
    out.cells.push_back(c);
  }

  // 3. Per-CPU softirq time and drop counters.
  const auto* cpu_stats = static_cast<const irqbpfd_cpu*>(s.cpu_stats.addr);
  out.cpus.resize(nr_cpus);
  for (std::uint32_t c = 0; c < nr_cpus; ++c) {
    const irqbpfd_cpu& src = cpu_stats[c];
    BpfCpu& dst = out.cpus[c];
    dst.cpu = core::cpu_id(c);
    for (std::size_t v = 0; v < kSoftirqVectors; ++v) {
      dst.softirq_ns[v] = load(&src.softirq_ns[v]);
      dst.softirq_runs[v] = load(&src.softirq_runs[v]);
      dst.attributed_runs[v] = load(&src.attributed_runs[v]);
      dst.unattributed_ns[v] = load(&src.unattributed_ns[v]);
      dst.raises[v] = load(&src.raises[v]);
      dst.raises_in_hardirq[v] = load(&src.raises_in_hardirq[v]);
    }
    dst.dropped_irq_range = load(&src.dropped_irq_range);
    dst.unpaired_irq_exit = load(&src.unpaired_irq_exit);
    dst.nested_irq_entry = load(&src.nested_irq_entry);
    dst.unpaired_softirq_exit = load(&src.unpaired_softirq_exit);
    dst.bad_vector = load(&src.bad_vector);
  }

  // 4. Histograms of IRQs with samples.
  const auto* hist = static_cast<const std::uint64_t*>(s.hist.addr);
  static const std::array<std::uint64_t, kHistBuckets> kZero{};
  for (std::uint32_t irq = 0; irq < max_irqs; ++irq) {
    const std::uint64_t* row = hist + std::size_t{irq} * kHistBuckets;
    if (std::memcmp(row, kZero.data(), sizeof kZero) == 0) continue;
    BpfHistogram h;
    h.irq = core::irq_number(irq);
    for (std::size_t b = 0; b < kHistBuckets; ++b) h.buckets[b] = load(row + b);
    out.histograms.push_back(h);
  }
  return out;
}

core::Result<void> BpfPrograms::test_run(Program program, core::CpuId cpu, const std::vector<std::uint64_t>& args) {
  bpf_program* prog = state_->program(mode_, program);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args.data(), .ctx_size_in = static_cast<__u32>(args.size() * sizeof(std::uint64_t)),
              .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = core::raw(cpu));
  if (int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts); err != 0) {
    return core::errno_error(fmt::format("BPF_PROG_TEST_RUN of {} on CPU {}", bpf_program__name(prog), core::raw(cpu)),
                             -err);
  }
  return {};
}

void BpfPrograms::set_fake_now(std::uint64_t ns) { __atomic_store_n(&state_->skel->bss->fake_now_ns, ns, __ATOMIC_RELAXED); }

}  // namespace irqbpfd::collect
