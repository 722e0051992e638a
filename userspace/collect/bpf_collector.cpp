// BpfCollector: /proc readings joined with the BPF counters; map sizing from
// the machine; the auto/bpf/proc choice.
#include <fmt/format.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/sys/cpus.hpp"

namespace irqbpfd::collect {
namespace {

std::uint32_t round_up_pow2(std::uint32_t v) {
  std::uint32_t p = 64;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

core::Result<BpfSizing> size_for_machine(const sys::SysRoot& root) {
  auto interrupts = sys::read_proc_interrupts(root);
  if (!interrupts) return interrupts.error();
  std::uint32_t highest = 0;
  for (const auto& row : interrupts->rows) {
    if (row.irq) highest = std::max(highest, core::raw(*row.irq));
  }
  // /sys/kernel/irq lists every allocated descriptor, shown or not.
  if (root.exists("/sys/kernel/irq")) {
    if (auto listed = list_kernel_irqs(root); listed && !listed->empty()) highest = std::max(highest, listed->back());
  }
  BpfSizing sizing;
  sizing.max_irqs = round_up_pow2(highest + 1 + 64);
  auto cpus = sys::read_cpu_state(root);
  if (!cpus) return cpus.error();
  const auto last = cpus->possible.last();
  sizing.nr_cpus = last ? core::raw(*last) + 1 : 1;
  return sizing;
}

core::Result<std::unique_ptr<BpfCollector>> BpfCollector::open(sys::SysRoot root, const core::Clock& clock,
                                                              std::optional<AttachMode> mode,
                                                              std::uint32_t hardirq_sample_every) {
  if (!root.is_live()) {
    return core::Error{fmt::format("BPF measures only the running kernel; --root {} is not /", root.root().string())};
  }
  auto sizing = size_for_machine(root);
  if (!sizing) return sizing.error();
  BpfOptions options;
  options.sizing = *sizing;
  options.mode = mode;
  options.hardirq_sample_every = hardirq_sample_every;
  auto programs = BpfPrograms::open(options);
  if (!programs) return programs.error();
  return std::unique_ptr<BpfCollector>(new BpfCollector(std::move(root), clock, std::move(*programs)));
}

core::Result<std::vector<std::uint32_t>> list_kernel_irqs(const sys::SysRoot& root) {
  const std::filesystem::path dir = root.path("/sys/kernel/irq");
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return core::errno_error(dir.string(), errno);
  std::vector<std::uint32_t> out;
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name(e->d_name);
    std::uint32_t n = 0;
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
    if (ec == std::errc() && p == name.data() + name.size()) out.push_back(n);
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return core::errno_error(dir.string(), err);
  std::sort(out.begin(), out.end());
  return out;
}

core::Result<RawSample> BpfCollector::read() {
  // BPF counters first, then /proc: an interrupt that lands between the two
  // shows in /proc's count a moment early, never the other way round.
  auto bpf = programs_->read();
  if (!bpf) return bpf.error();
  std::optional<std::vector<std::uint32_t>> listing;
  if (full_every_ > 0) {
    auto listed = list_kernel_irqs(root_);
    if (listed) listing = std::move(*listed);  // unreadable: every reading is full
    if (listing && rows_ && *listing == listing_ && ++since_full_ < full_every_) {
      RawSample sample;
      sample.interrupts = *rows_;
      sample.counts_read = false;
      if (auto r = proc_.read_times(sample); !r) return r.error();
      sample.bpf = std::move(*bpf);
      return sample;
    }
  }
  auto sample = proc_.read();
  if (!sample) return sample.error();
  sample->bpf = std::move(*bpf);
  if (listing) {
    // Remember the rows without counts for the light readings to come:
    // each row copied whole but for its counts, set aside meanwhile.
    listing_ = std::move(*listing);
    since_full_ = 0;
    sys::ProcInterrupts rows;
    rows.cpus = sample->interrupts.cpus;
    rows.rows.reserve(sample->interrupts.rows.size());
    for (sys::InterruptRow& row : sample->interrupts.rows) {
      std::vector<std::uint32_t> counts = std::move(row.counts);
      row.counts = {};
      rows.rows.push_back(row);
      row.counts = std::move(counts);
    }
    rows_ = std::move(rows);
  } else {
    rows_.reset();
  }
  return sample;
}

void BpfCollector::recycle(RawSample&& old) {
  // Only a full reading's rows are worth parsing into again.
  if (old.counts_read) proc_.recycle(std::move(old));
}

core::Result<OpenedCollector> open_collector(std::string_view kind, const sys::SysRoot& root,
                                             const core::Clock& clock, std::uint32_t hardirq_sample_every) {
  if (auto bad = check_hardirq_sample_every(hardirq_sample_every); !bad.empty()) {
    return core::Error{"hardirq_sample_every: " + bad, EINVAL};
  }
  OpenedCollector out;
  if (kind == "proc") {
    out.collector = std::make_unique<ProcCollector>(root, clock);
    return out;
  }
  if (kind != "auto" && kind != "bpf") {
    return core::Error{fmt::format("unknown collector '{}' (expected auto, bpf or proc)", kind)};
  }
  auto bpf = BpfCollector::open(root, clock, std::nullopt, hardirq_sample_every);
  if (bpf) {
    out.collector = std::move(*bpf);
    return out;
  }
  if (kind == "bpf") return bpf.error().with_context("--collector bpf");
  out.collector = std::make_unique<ProcCollector>(root, clock);
  out.fallback_reason = bpf.error().message;
  return out;
}

}  // namespace irqbpfd::collect
