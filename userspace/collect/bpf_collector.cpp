// BpfCollector: /proc readings joined with the BPF counters; map sizing from
// the machine; the auto/bpf/proc choice.
#include <fmt/format.h>
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
    auto entries = root.list("/sys/kernel/irq");
    if (entries) {
      for (const auto& e : *entries) {
        std::uint32_t n = 0;
        auto [p, ec] = std::from_chars(e.data(), e.data() + e.size(), n);
        if (ec == std::errc() && p == e.data() + e.size()) highest = std::max(highest, n);
      }
    }
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

core::Result<RawSample> BpfCollector::read() {
  // BPF counters first, then /proc: an interrupt that lands between the two
  // shows in /proc's count a moment early, never the other way round.
  auto bpf = programs_->read();
  if (!bpf) return bpf.error();
  auto sample = proc_.read();
  if (!sample) return sample.error();
  sample->bpf = std::move(*bpf);
  return sample;
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
