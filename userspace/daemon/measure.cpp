// run_once: `irqbpfd --once`: one measured window through the daemon's tick.
// measure_file: a saved /proc/interrupts, analysed on a flat machine.
#include "irqbpfd/daemon/measure.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "irqbpfd/collect/collector.hpp"
#include "irqbpfd/sys/cpus.hpp"
#include "irqbpfd/sys/irq_inventory.hpp"
#include "irqbpfd/topology/flat.hpp"

namespace irqbpfd::daemon {

sys::IrqInventory inventory_from_rows(const sys::ProcInterrupts& interrupts) {
  sys::IrqInventory inv;
  for (const auto& row : interrupts.rows) {
    if (!row.irq) continue;
    core::IrqDesc d;
    d.irq = *row.irq;
    d.name = row.name;
    d.actions = row.actions;
    d.chip = row.chip;
    d.hwirq = row.hwirq;
    d.trigger = row.trigger;
    d.irq_class = core::IrqClass::kLegacy;
    d.level = core::default_level(d.irq_class);
    inv.irqs.push_back(std::move(d));
  }
  std::sort(inv.irqs.begin(), inv.irqs.end(),
            [](const core::IrqDesc& a, const core::IrqDesc& b) { return core::raw(a.irq) < core::raw(b.irq); });
  return inv;
}

namespace {

constexpr double kMinBpfWindowS = 0.5;

// Waits out the window; a stop signal ends it with an error, and the caller
// unwinds, closing BPF links and maps.
core::Result<void> wait_window(core::Clock& clock, double seconds) {
  const int sig = clock.sleep_ns(static_cast<std::int64_t>(seconds * 1e9));
  if (sig == 0) return {};
  return core::Error{fmt::format("interrupted by {}", sig == SIGINT ? "SIGINT" : "SIGTERM")};
}

core::Result<model::Snapshot> measure_file(const MeasureOptions& options) {
  collect::FileCollector collector(*options.interrupts_file);
  auto sample = collector.read();
  if (!sample) return sample.error();
  const sys::IrqInventory inventory = inventory_from_rows(sample->interrupts);
  sys::CpuState cpus;
  for (core::CpuId c : sample->interrupts.cpus) cpus.online.insert(c);
  cpus.present = cpus.possible = cpus.online;
  const topology::Machine machine =
      topology::flat_machine(cpus.online, fmt::format("flat, from {}", options.interrupts_file->string()));
  model::WindowInput in;
  in.collector = std::string(collector.name());
  in.after = &*sample;
  in.inventory = &inventory;
  in.cpu_state = &cpus;
  in.machine = &machine;
  return model::build_snapshot(in);
}

}  // namespace

core::Result<OnceResult> run_once(const MeasureOptions& options,
                                  const std::function<tick::Rules(const sys::IrqInventory&)>& rules,
                                  apply::AffinityWriter* writer, core::Clock& clock) {
  if (!std::isfinite(options.sample_s) || options.sample_s < 0) {
    return core::Error{fmt::format("--sample: {} is not a number of seconds >= 0", options.sample_s)};
  }
  if (options.collector != "auto" && options.collector != "proc" && options.collector != "bpf") {
    return core::Error{fmt::format("--collector: unknown collector '{}' (expected auto, bpf or proc)", options.collector)};
  }
  if (options.interrupts_file) {
    // A capture from elsewhere: no affinities to change and no CPU time.
    auto snapshot = measure_file(options);
    if (!snapshot) return snapshot.error();
    OnceResult out;
    out.snapshot = std::move(*snapshot);
    out.plan.summary = "none: a saved /proc/interrupts has no affinities to change";
    return out;
  }

  const sys::SysRoot root(options.root);
  if (!std::filesystem::is_directory(options.root)) {
    return core::Error{fmt::format("--root {}: not a directory", options.root.string())};
  }
  auto opened = collect::open_collector(options.collector, root, clock, options.hardirq_sample_every);
  if (!opened) return opened.error();
  collect::Collector& collector = *opened->collector;

  std::optional<collect::RawSample> first;
  const bool measured = collector.name() == "bpf";
  // BPF counts from the moment the programs attach: even --sample 0 needs a
  // window, so it gets a short one.
  const double window_s = options.sample_s > 0 ? options.sample_s : (measured ? kMinBpfWindowS : 0.0);
  if (window_s > 0) {
    auto r = collector.read();
    if (!r) return r.error();
    first = std::move(*r);
    if (auto waited = wait_window(clock, window_s); !waited) return waited.error();
  }
  auto second = collector.read();
  if (!second) return second.error();

  tick::MachineView view(root, [](const sys::SysRoot& r) {
    auto machine = r.is_live() ? topology::load_live() : topology::load_from_root(r.root());
    if (!machine) return core::Result<topology::Machine>(machine.error().with_context("topology"));
    return machine;
  });
  tick::TickInput in;
  in.collector = std::string(collector.name());
  in.fallback_reason = opened->fallback_reason;
  in.before = first ? &*first : nullptr;
  in.after = &*second;
  const long hz = sysconf(_SC_CLK_TCK);
  in.user_hz = hz > 0 ? static_cast<std::uint32_t>(hz) : 100;
  in.compare_estimate = options.compare_estimate;
  in.rules = rules;
  auto ticked = tick::run_tick(view, in, balance::State{}, writer);
  if (!ticked) return ticked.error();
  OnceResult out;
  out.snapshot = std::move(ticked->snapshot);
  out.plan = std::move(ticked->planned.plan);
  if (writer != nullptr) out.applied = std::move(ticked->applied);
  return out;
}

}  // namespace irqbpfd::daemon
