// build_snapshot: two readings -> one window. Pure: no files, no clock.
#include "irqbpfd/model/snapshot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace irqbpfd::model {
namespace {

// A reading's numbered rows by IRQ number: sorted (the kernel lists them in
// order, so sorting is a check), looked up with a cursor that moves forward
// while the questions come in ascending order, as the inventory asks them.
// A hash map built twice a cycle cost a tenth of build_snapshot at 2000 IRQs.
class RowIndex {
 public:
  RowIndex() = default;
  explicit RowIndex(const sys::ProcInterrupts& t) {
    rows_.reserve(t.rows.size());
    for (const auto& row : t.rows) {
      if (row.irq) rows_.emplace_back(raw(*row.irq), &row);
    }
    const auto by_irq = [](const Entry& a, const Entry& b) { return a.first < b.first; };
    // Stable: of two rows with one number (the parser refuses them) the first wins.
    if (!std::is_sorted(rows_.begin(), rows_.end(), by_irq)) std::stable_sort(rows_.begin(), rows_.end(), by_irq);
  }
  const sys::InterruptRow* find(std::uint32_t irq) {
    if (cursor_ >= rows_.size() || rows_[cursor_].first > irq) {
      cursor_ = static_cast<std::size_t>(
          std::lower_bound(rows_.begin(), rows_.end(), irq, [](const Entry& e, std::uint32_t n) { return e.first < n; }) -
          rows_.begin());
    } else {
      while (cursor_ < rows_.size() && rows_[cursor_].first < irq) ++cursor_;
    }
    return cursor_ < rows_.size() && rows_[cursor_].first == irq ? rows_[cursor_].second : nullptr;
  }

 private:
  using Entry = std::pair<std::uint32_t, const sys::InterruptRow*>;
  std::vector<Entry> rows_;
  std::size_t cursor_ = 0;
};

using core::CpuId;
using core::raw;

const sys::CpuTimes* cpu_times(const sys::ProcStat& stat, CpuId cpu) {
  for (const auto& t : stat.cpus) {
    if (t.cpu == cpu) return &t;
  }
  return nullptr;
}

std::uint64_t minus(std::uint64_t now, std::uint64_t then) { return now >= then ? now - then : now; }

// Measured counts, times and percentiles from two BPF readings (or one, since
// the programs were loaded). Replaces the /proc counts of every IRQ inside
// the sized maps; IRQs beyond them keep /proc counts and get no load.
void apply_bpf(Snapshot& snap, const collect::BpfReading* before, const collect::BpfReading& after) {
  // Cells keyed (irq << 32 | cpu) and sorted, so one IRQ's cells form a run
  // and a cell is found by binary search: no tree of half a million nodes on
  // a 256-CPU machine.
  const auto key = [](core::IrqNumber irq, CpuId cpu) { return (std::uint64_t{raw(irq)} << 32) | raw(cpu); };
  const auto by_key = [&](const collect::BpfCell& x, const collect::BpfCell& y) {
    return key(x.irq, x.cpu) < key(y.irq, y.cpu);
  };
  std::vector<collect::BpfCell> then;
  if (before != nullptr) {
    then = before->cells;
    if (!std::is_sorted(then.begin(), then.end(), by_key)) std::sort(then.begin(), then.end(), by_key);
  }
  std::vector<collect::BpfCell> delta;
  delta.reserve(after.cells.size());
  for (const auto& c : after.cells) {
    collect::BpfCell d = c;
    auto it = std::lower_bound(then.begin(), then.end(), c, by_key);
    if (it != then.end() && it->irq == c.irq && it->cpu == c.cpu) {
      // Counters only grow while the programs stay loaded; a smaller value
      // means they were reloaded: count from zero.
      const bool reloaded = c.count < it->count;
      d.count = reloaded ? c.count : c.count - it->count;
      d.hardirq_ns = reloaded ? c.hardirq_ns : minus(c.hardirq_ns, it->hardirq_ns);
      d.softirq_ns = reloaded ? c.softirq_ns : minus(c.softirq_ns, it->softirq_ns);
    }
    delta.push_back(d);
  }
  if (!std::is_sorted(delta.begin(), delta.end(), by_key)) std::sort(delta.begin(), delta.end(), by_key);
  const auto histogram_of = [](const collect::BpfReading& r) {
    std::unordered_map<std::uint32_t, const collect::BpfHistogram*> out;
    out.reserve(r.histograms.size());
    for (const auto& h : r.histograms) out[raw(h.irq)] = &h;
    return out;
  };
  const auto hist_now = histogram_of(after);
  const auto hist_then = before != nullptr ? histogram_of(*before)
                                           : std::unordered_map<std::uint32_t, const collect::BpfHistogram*>{};

  std::uint32_t cpu_top = 0;
  for (const auto& cs : snap.cpus) cpu_top = std::max(cpu_top, raw(cs.cpu) + 1);
  std::vector<std::uint64_t> per_cpu_interrupts(cpu_top, 0);  // by CPU id
  const auto add_interrupts = [&](CpuId c, std::uint64_t n) {
    if (raw(c) >= per_cpu_interrupts.size()) per_cpu_interrupts.resize(raw(c) + 1, 0);
    per_cpu_interrupts[raw(c)] += n;
  };
  // Each IRQ's per_cpu holds only some columns (build_snapshot builds it
  // sparse), in column order; a cell of a column CPU not there yet gets an
  // entry. Column positions are indexed once.
  std::vector<int> slot;  // column position of each CPU id, -1: not a column
  for (std::size_t p = 0; p < snap.columns.size(); ++p) {
    const auto c = raw(snap.columns[p]);
    if (c >= slot.size()) slot.resize(c + 1, -1);
    slot[c] = static_cast<int>(p);
  }
  const auto position = [&slot](CpuId cpu) {
    return raw(cpu) < slot.size() ? slot[raw(cpu)] : -1;
  };
  for (auto& is : snap.irqs) {
    const std::uint32_t irq = raw(is.desc->irq);
    if (irq >= after.sizing.max_irqs) {
      is.beyond_bpf_maps = true;
      for (const auto& pc : is.per_cpu) add_interrupts(pc.cpu, pc.count);
      continue;
    }
    for (auto& pc : is.per_cpu) {
      pc.count = 0;
      pc.hardirq_ns = 0;
      pc.softirq_ns = 0;
      pc.load_ns = 0;
    }
    std::uint64_t count = 0, hard = 0, soft = 0;
    bool added = false;
    const auto first = std::lower_bound(delta.begin(), delta.end(), key(is.desc->irq, CpuId{0}),
                                        [&](const collect::BpfCell& c, std::uint64_t k) { return key(c.irq, c.cpu) < k; });
    for (auto it = first; it != delta.end() && it->irq == is.desc->irq; ++it) {
      if (position(it->cpu) < 0) continue;  // not a column CPU
      auto e = std::find_if(is.per_cpu.begin(), is.per_cpu.end(),
                            [cpu = it->cpu](const IrqCpuCount& pc) { return pc.cpu == cpu; });
      IrqCpuCount* pc = nullptr;
      if (e != is.per_cpu.end()) {
        pc = &*e;
      } else if (it->count != 0 || it->hardirq_ns != 0 || it->softirq_ns != 0) {
        // What the column held before this IRQ's BPF figures: nothing, and
        // the /proc estimate's 0 where that is known.
        pc = &is.per_cpu.emplace_back(is.idle_cell(it->cpu));
        added = true;
      } else {
        continue;  // an all-zero cell of a column the IRQ did not use: stays idle
      }
      pc->count = it->count;
      pc->hardirq_ns = it->hardirq_ns;
      pc->softirq_ns = it->softirq_ns;
      pc->load_ns = it->hardirq_ns + it->softirq_ns;
      count += it->count;
      hard += it->hardirq_ns;
      soft += it->softirq_ns;
      add_interrupts(it->cpu, it->count);
    }
    if (added) {
      std::sort(is.per_cpu.begin(), is.per_cpu.end(),
                [&](const IrqCpuCount& a, const IrqCpuCount& b) { return position(a.cpu) < position(b.cpu); });
    }
    is.count = count;
    is.hardirq_ns = hard;
    is.softirq_ns = soft;
    is.load_ns = hard + soft;
    is.load_estimated = false;
    for (auto& pc : is.per_cpu) {
      pc.share_pct = count == 0 ? 0.0 : 100.0 * static_cast<double>(pc.count) / static_cast<double>(count);
    }
    if (auto h = hist_now.find(irq); h != hist_now.end()) {
      std::array<std::uint64_t, collect::kHistBuckets> window = h->second->buckets;
      if (auto t = hist_then.find(irq); t != hist_then.end()) {
        for (std::size_t b = 0; b < window.size(); ++b) window[b] = minus(h->second->buckets[b], t->second->buckets[b]);
      }
      is.p50_ns = histogram_quantile(window, 0.50);
      is.p99_ns = histogram_quantile(window, 0.99);
    }
  }

  BpfStatus status;
  status.attach = collect::to_string(after.mode);
  status.max_irqs = after.sizing.max_irqs;
  status.nr_cpus = after.sizing.nr_cpus;
  status.map_bytes = after.map_bytes;
  status.hardirq_sample_every = after.hardirq_sample_every;
  for (const auto& c : after.cpus) {
    const collect::BpfCpu* b = nullptr;
    if (before != nullptr && raw(c.cpu) < before->cpus.size()) b = &before->cpus[raw(c.cpu)];
    const auto d = [&](std::uint64_t now, std::uint64_t collect::BpfCpu::*field) {
      return b == nullptr ? now : minus(now, b->*field);
    };
    status.dropped_irq_range += d(c.dropped_irq_range, &collect::BpfCpu::dropped_irq_range);
    status.unpaired_exits += d(c.unpaired_irq_exit, &collect::BpfCpu::unpaired_irq_exit) +
                             d(c.unpaired_softirq_exit, &collect::BpfCpu::unpaired_softirq_exit);
    status.nested_entries += d(c.nested_irq_entry, &collect::BpfCpu::nested_irq_entry);
    status.bad_vectors += d(c.bad_vector, &collect::BpfCpu::bad_vector);
    auto it = std::find_if(snap.cpus.begin(), snap.cpus.end(), [&](const CpuSnapshot& s) { return s.cpu == c.cpu; });
    if (it == snap.cpus.end()) continue;
    std::array<std::uint64_t, collect::kSoftirqVectors> vec{}, unattributed{};
    for (std::size_t v = 0; v < collect::kSoftirqVectors; ++v) {
      vec[v] = b == nullptr ? c.softirq_ns[v] : minus(c.softirq_ns[v], b->softirq_ns[v]);
      unattributed[v] = b == nullptr ? c.unattributed_ns[v] : minus(c.unattributed_ns[v], b->unattributed_ns[v]);
    }
    it->softirq_vector_ns = vec;
    it->softirq_unattributed_ns = unattributed;
  }
  for (auto& cs : snap.cpus) cs.interrupts = raw(cs.cpu) < per_cpu_interrupts.size() ? per_cpu_interrupts[raw(cs.cpu)] : 0;
  snap.bpf = status;
}

}  // namespace

const IrqSnapshot* Snapshot::find(core::IrqNumber irq) const {
  auto it = std::lower_bound(irqs.begin(), irqs.end(), irq,
                             [](const IrqSnapshot& s, core::IrqNumber n) { return raw(s.desc->irq) < raw(n); });
  return (it != irqs.end() && it->desc->irq == irq) ? &*it : nullptr;
}

std::vector<core::CpuId> Snapshot::column_cpus() const {
  if (!columns.empty() || irqs.empty()) return columns;
  std::vector<core::CpuId> out;
  out.reserve(irqs.front().per_cpu.size());
  for (const auto& pc : irqs.front().per_cpu) out.push_back(pc.cpu);
  return out;
}

const std::shared_ptr<const core::IrqDesc>& IrqSnapshot::empty_desc() {
  static const std::shared_ptr<const core::IrqDesc> empty = std::make_shared<const core::IrqDesc>();
  return empty;
}

core::IrqDesc& IrqSnapshot::edit_desc() {
  auto own = std::make_shared<core::IrqDesc>(*desc);
  core::IrqDesc& out = *own;
  desc = std::move(own);
  return out;
}

IrqCpuCount IrqSnapshot::idle_cell(core::CpuId cpu) const {
  IrqCpuCount c;
  c.cpu = cpu;
  const auto zero_if_known = [](const std::optional<std::uint64_t>& irq_level) {
    return irq_level ? std::optional<std::uint64_t>(0) : std::nullopt;
  };
  c.load_ns = zero_if_known(load_ns);
  c.hardirq_ns = zero_if_known(hardirq_ns);
  c.softirq_ns = zero_if_known(softirq_ns);
  c.estimate_load_ns = zero_if_known(estimate_load_ns);
  return c;
}

const CpuSnapshot* Snapshot::find(core::CpuId cpu) const {
  auto it = std::lower_bound(cpus.begin(), cpus.end(), cpu,
                             [](const CpuSnapshot& s, core::CpuId c) { return raw(s.cpu) < raw(c); });
  return (it != cpus.end() && it->cpu == cpu) ? &*it : nullptr;
}

core::Result<Snapshot> build_snapshot(const WindowInput& input) {
  if (input.after == nullptr || input.inventory == nullptr || input.cpu_state == nullptr ||
      input.machine == nullptr) {
    return core::Error{"build_snapshot: missing input"};
  }
  const collect::RawSample& after = *input.after;
  const collect::RawSample* before = input.before;
  const std::uint32_t user_hz = input.user_hz == 0 ? 100 : input.user_hz;

  Snapshot snap;
  snap.collector = input.collector;
  snap.collector_fallback_reason = input.fallback_reason;
  snap.machine = *input.machine;
  snap.cumulative = before == nullptr;
  if (before != nullptr) {
    if (after.monotonic_ns < before->monotonic_ns) {
      return core::Error{"build_snapshot: second reading is older than the first"};
    }
    snap.window_s = static_cast<double>(after.monotonic_ns - before->monotonic_ns) / 1e9;
  } else {
    snap.window_s = after.uptime_s.value_or(0.0);
  }

  // Columns: the CPUs the last reading's header lists (the online ones).
  const std::vector<CpuId>& columns = after.interrupts.cpus;
  core::CpuSet column_set;
  for (CpuId c : columns) column_set.insert(c);
  snap.online = input.cpu_state->online.empty() ? column_set : input.cpu_state->online;

  // CPUs: everything present or online or in a column.
  core::CpuSet all = input.cpu_state->present | input.cpu_state->online | column_set;
  std::unordered_map<std::uint32_t, std::size_t> cpu_index;
  for (CpuId c : all.to_vector()) {
    CpuSnapshot cs;
    cs.cpu = c;
    cs.online = snap.online.contains(c);
    cs.isolated = input.cpu_state->isolated.contains(c);
    cs.nohz_full = input.cpu_state->nohz_full.contains(c);
    if (auto place = input.machine->place(c)) {
      cs.node = place->node;
      cs.package = place->package;
      cs.core = place->core_index;
    }
    cpu_index[raw(c)] = snap.cpus.size();
    snap.cpus.push_back(cs);
  }

  // Per-CPU irq+softirq time in the window, from /proc/stat.
  std::vector<std::optional<std::uint64_t>> cpu_time_ns;  // by CPU id; nullopt: not in /proc/stat
  bool any_cpu_time = false;
  if (after.stat && (before == nullptr || before->stat)) {
    const double ns_per_tick = 1e9 / static_cast<double>(user_hz);
    for (const auto& t : after.stat->cpus) {
      auto it = cpu_index.find(raw(t.cpu));
      if (it == cpu_index.end()) continue;
      std::uint64_t irq_ticks = t.irq, softirq_ticks = t.softirq;
      if (before != nullptr) {
        const sys::CpuTimes* b = cpu_times(*before->stat, t.cpu);
        if (b == nullptr) continue;  // CPU came online inside the window: no baseline
        irq_ticks = t.irq >= b->irq ? t.irq - b->irq : 0;
        softirq_ticks = t.softirq >= b->softirq ? t.softirq - b->softirq : 0;
      }
      CpuSnapshot& cs = snap.cpus[it->second];
      cs.irq_ns = static_cast<std::uint64_t>(static_cast<double>(irq_ticks) * ns_per_tick);
      cs.softirq_ns = static_cast<std::uint64_t>(static_cast<double>(softirq_ticks) * ns_per_tick);
      if (raw(t.cpu) >= cpu_time_ns.size()) cpu_time_ns.resize(raw(t.cpu) + 1);
      cpu_time_ns[raw(t.cpu)] = *cs.irq_ns + *cs.softirq_ns;
      any_cpu_time = true;
    }
  }

  // Per-IRQ deltas, then per-CPU sums. Columns are matched by CPU id, never
  // by position: each reading's header says which CPU a column is.
  const auto column_of = [](const sys::ProcInterrupts& t) {
    std::uint32_t top = 0;
    for (CpuId c : t.cpus) top = std::max(top, raw(c) + 1);
    std::vector<int> pos(top, -1);
    for (std::size_t i = 0; i < t.cpus.size(); ++i) pos[raw(t.cpus[i])] = static_cast<int>(i);
    return pos;
  };
  RowIndex after_rows(after.interrupts);
  RowIndex before_rows;
  std::vector<int> before_column;
  if (before != nullptr) {
    before_rows = RowIndex(before->interrupts);
    before_column = column_of(before->interrupts);
  }
  std::uint32_t cpu_top = 0;
  for (CpuId c : columns) cpu_top = std::max(cpu_top, raw(c) + 1);
  std::vector<std::uint64_t> device_counts(cpu_top, 0);  // per CPU id
  // Where the estimate below will want an entry although the IRQ did not
  // run there: a column CPU without /proc/stat time keeps load nullopt, which
  // is not its idle_cell() (load 0) once the IRQ's load is known.
  const bool measured = after.bpf.has_value() && (before == nullptr || before->bpf.has_value());
  const bool estimate = any_cpu_time && (!measured || input.compare_estimate);
  std::vector<char> keep_column(columns.size(), 0);
  std::vector<int> then_column(columns.size(), -1);  // a column of `after` -> the same CPU's in `before`
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const std::uint32_t c = raw(columns[i]);
    if (estimate && (c >= cpu_time_ns.size() || !cpu_time_ns[c])) keep_column[i] = 1;
    if (c < before_column.size()) then_column[i] = before_column[c];
  }
  // An IRQ's entries are built sparse: only the columns it ran on (count >
  // 0) and the keep_column ones. Every other column would be idle_cell()
  // after the estimate and apply_bpf() alike, and is left out from the start
  // (the compaction below then only checks the few entries built).
  std::vector<std::uint64_t> row_counts(columns.size(), 0);  // scratch: this row's window counts
  std::vector<std::pair<std::uint32_t, std::uint64_t>> hits;  // scratch: (column, window count) of the entries
  hits.reserve(columns.size());
  const bool any_keep = std::any_of(keep_column.begin(), keep_column.end(), [](char k) { return k != 0; });
  // Both readings list the same columns in the same order (CPUs did not go
  // on or off line): then a row's deltas need no column mapping.
  bool aligned = before != nullptr && before->interrupts.cpus.size() == columns.size();
  for (std::size_t i = 0; aligned && i < columns.size(); ++i) aligned = then_column[i] == static_cast<int>(i);
  snap.irqs.reserve(input.inventory->irqs.size());  // grown by doubling it briefly held 1.5x the list twice
  const auto* shared = input.shared_descs;
  if (shared != nullptr && shared->size() != input.inventory->irqs.size()) {
    return core::Error{fmt::format("snapshot: {} shared IRQ descriptions for an inventory of {}", shared->size(),
                                   input.inventory->irqs.size())};
  }
  for (std::size_t k = 0; k < input.inventory->irqs.size(); ++k) {
    const core::IrqDesc& desc = input.inventory->irqs[k];
    const sys::InterruptRow* found = after_rows.find(raw(desc.irq));
    if (found == nullptr) continue;  // vanished before the last reading
    const sys::InterruptRow& row = *found;
    IrqSnapshot& is = snap.irqs.emplace_back();
    is.desc = shared != nullptr ? (*shared)[k] : std::make_shared<const core::IrqDesc>(desc);
    const sys::InterruptRow* then_row = nullptr;
    if (before != nullptr) {
      then_row = before_rows.find(raw(desc.irq));
      if (then_row == nullptr) is.appeared = true;
    }
    // One pass over the columns. A counter that went backwards means the IRQ
    // was freed and allocated again between the readings: its counts
    // restarted at zero, so the whole row then counts from zero.
    const bool cumulative = before == nullptr || is.appeared;
    const std::size_t have = std::min(row.counts.size(), columns.size());
    const std::uint32_t* const now = row.counts.data();
    hits.clear();
    if (!cumulative && !any_keep && aligned && then_row->counts.size() >= have) {
      // The common case, in blocks of 8 columns: a block where nothing
      // changed (most of them: an IRQ runs on one or a few CPUs) costs one
      // branch.
      const std::uint32_t* const then = then_row->counts.data();
      bool went_back = false;
      const auto cell = [&](std::size_t i) {
        if (then[i] > now[i]) {
          went_back = true;
        } else if (now[i] != then[i]) {
          hits.emplace_back(static_cast<std::uint32_t>(i), now[i] - then[i]);
        }
      };
      std::size_t i = 0;
      for (; i + 8 <= have; i += 8) {
        std::uint32_t differ = 0;
        for (std::size_t k = 0; k < 8; ++k) differ |= now[i + k] ^ then[i + k];
        if (differ == 0) continue;
        for (std::size_t k = 0; k < 8; ++k) cell(i + k);
      }
      for (; i < have; ++i) cell(i);
      if (went_back) {
        is.counter_reset = true;
        hits.clear();
        for (std::size_t c = 0; c < have; ++c) {
          if (now[c] != 0) hits.emplace_back(static_cast<std::uint32_t>(c), now[c]);
        }
      }
    } else {
      if (cumulative) {
        for (std::size_t i = 0; i < have; ++i) row_counts[i] = now[i];
      } else {
        for (std::size_t i = 0; i < have; ++i) {
          const int j = then_column[i];
          if (j < 0 || static_cast<std::size_t>(j) >= then_row->counts.size()) {
            row_counts[i] = 0;  // CPU came online inside the window: no baseline for it
            continue;
          }
          const std::uint64_t n = now[i], b = then_row->counts[static_cast<std::size_t>(j)];
          if (b > n) is.counter_reset = true;
          row_counts[i] = n - std::min(n, b);
        }
        if (is.counter_reset) {
          for (std::size_t i = 0; i < have; ++i) row_counts[i] = now[i];
        }
      }
      for (std::size_t i = have; i < columns.size(); ++i) row_counts[i] = 0;  // a short row: absent is 0
      for (std::size_t i = 0; i < columns.size(); ++i) {
        if (row_counts[i] > 0 || keep_column[i] != 0) hits.emplace_back(static_cast<std::uint32_t>(i), row_counts[i]);
      }
    }
    if (hits.empty()) continue;
    is.per_cpu.reserve(hits.size());
    for (const auto& [column, count] : hits) {
      IrqCpuCount& pc = is.per_cpu.emplace_back();
      pc.cpu = columns[column];
      pc.count = count;
      is.count += count;
      device_counts[raw(pc.cpu)] += count;
    }
    for (auto& pc : is.per_cpu) {
      pc.share_pct = is.count == 0 ? 0.0 : 100.0 * static_cast<double>(pc.count) / static_cast<double>(is.count);
    }
  }
  const auto device_count = [&](CpuId c) { return raw(c) < device_counts.size() ? device_counts[raw(c)] : 0; };

  // irqbalance's estimate: a CPU's irq+softirq time split over the IRQs it
  // served, in proportion to their interrupt counts (from /proc).
  if (estimate) {
    for (auto& is : snap.irqs) {
      std::uint64_t total = 0;
      for (auto& pc : is.per_cpu) {
        if (raw(pc.cpu) >= cpu_time_ns.size() || !cpu_time_ns[raw(pc.cpu)]) continue;
        const std::uint64_t cpu_ns = *cpu_time_ns[raw(pc.cpu)];
        const std::uint64_t served = device_count(pc.cpu);
        const std::uint64_t ns =
            served == 0 || pc.count == 0
                ? 0
                : static_cast<std::uint64_t>(static_cast<long double>(cpu_ns) * pc.count / served);
        (measured ? pc.estimate_load_ns : pc.load_ns) = ns;
        total += ns;
      }
      if (measured) {
        is.estimate_load_ns = total;
      } else {
        is.load_ns = total;
        is.load_estimated = true;
      }
    }
  }
  snap.columns = columns;
  if (measured) apply_bpf(snap, before != nullptr ? &*before->bpf : nullptr, *after.bpf);

  // Keep per IRQ only the CPUs that are not its idle_cell(): the rest say
  // nothing that the columns and the IRQ's own fields do not.
  for (auto& is : snap.irqs) {
    const IrqCpuCount idle = is.idle_cell(CpuId{0});
    const auto is_idle = [&idle](const IrqCpuCount& pc) {
      return pc.count == 0 && pc.share_pct == 0.0 && pc.load_ns == idle.load_ns && pc.hardirq_ns == idle.hardirq_ns &&
             pc.softirq_ns == idle.softirq_ns && pc.estimate_load_ns == idle.estimate_load_ns;
    };
    std::size_t kept = 0;
    for (const auto& pc : is.per_cpu) {
      if (!is_idle(pc)) is.per_cpu[kept++] = pc;
    }
    is.per_cpu.resize(kept);
    is.per_cpu.shrink_to_fit();
    is.active.clear();
    for (std::size_t i = 0; i < is.per_cpu.size(); ++i) {
      if (is.per_cpu[i].count > 0) is.active.push_back(static_cast<std::uint32_t>(i));
    }
  }

  // Per-CPU interrupt totals: device rows and named rows.
  for (auto& cs : snap.cpus) {
    if (!measured) cs.interrupts = device_count(cs.cpu);
  }
  // Named rows (NMI, LOC, ...) are matched by label, their columns by CPU id.
  constexpr std::size_t kNoCpu = SIZE_MAX;
  std::vector<std::size_t> column_cpu(columns.size(), kNoCpu);  // column -> index in snap.cpus
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (auto ci = cpu_index.find(raw(columns[i])); ci != cpu_index.end()) column_cpu[i] = ci->second;
  }
  std::unordered_map<std::string_view, const sys::InterruptRow*> before_named;
  if (before != nullptr) {
    for (const auto& row : before->interrupts.rows) {
      if (!row.irq) before_named[row.label] = &row;
    }
  }
  for (const auto& row : after.interrupts.rows) {
    if (row.irq) continue;
    const sys::InterruptRow* then_row = nullptr;
    if (before != nullptr) {
      auto it = before_named.find(row.label);
      if (it == before_named.end()) continue;
      then_row = it->second;
    }
    const std::size_t have = std::min(row.counts.size(), columns.size());
    for (std::size_t i = 0; i < have; ++i) {
      const std::size_t ci = column_cpu[i];
      if (ci == kNoCpu) continue;
      const std::uint64_t n = row.counts[i];
      std::uint64_t delta = n;
      if (then_row != nullptr) {
        const int j = then_column[i];
        const bool known = j >= 0 && static_cast<std::size_t>(j) < then_row->counts.size();
        const std::uint64_t b = known ? then_row->counts[static_cast<std::size_t>(j)] : 0;
        delta = (!known || b > n) ? 0 : n - b;
      }
      snap.cpus[ci].system_interrupts += delta;
    }
  }

  snap.vanished = input.inventory->vanished;
  // IRQs in the first reading that the last one no longer lists vanished too.
  if (before != nullptr) {
    for (const auto& row : before->interrupts.rows) {
      if (row.irq && after_rows.find(raw(*row.irq)) == nullptr) snap.vanished.push_back(*row.irq);
    }
  }
  std::sort(snap.vanished.begin(), snap.vanished.end(), [](auto a, auto b) { return raw(a) < raw(b); });
  snap.vanished.erase(std::unique(snap.vanished.begin(), snap.vanished.end()), snap.vanished.end());
  const auto by_irq = [](const IrqSnapshot& a, const IrqSnapshot& b) { return raw(a.desc->irq) < raw(b.desc->irq); };
  if (!std::is_sorted(snap.irqs.begin(), snap.irqs.end(), by_irq)) std::sort(snap.irqs.begin(), snap.irqs.end(), by_irq);
  return snap;
}

std::optional<std::uint64_t> histogram_quantile(const std::array<std::uint64_t, collect::kHistBuckets>& buckets,
                                                double q) {
  std::uint64_t total = 0;
  for (std::uint64_t n : buckets) total += n;
  if (total == 0) return std::nullopt;
  const long double rank = static_cast<long double>(q) * static_cast<long double>(total);
  std::uint64_t below = 0;
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    if (buckets[b] == 0) continue;
    if (static_cast<long double>(below + buckets[b]) >= rank) {
      const long double lo = b == 0 ? 0.0L : static_cast<long double>(std::uint64_t{1} << b);
      const long double hi = static_cast<long double>(std::uint64_t{1} << (b + 1));
      const long double within = (rank - static_cast<long double>(below)) / static_cast<long double>(buckets[b]);
      return static_cast<std::uint64_t>(lo + (hi - lo) * std::clamp(within, 0.0L, 1.0L));
    }
    below += buckets[b];
  }
  return std::uint64_t{1} << buckets.size();
}

Verdict seed_verdict(const IrqSnapshot& irq, const core::CpuSet& cpus, double threshold_pct) {
  std::optional<double> hi, lo;
  Verdict v;
  cpus.for_each([&](core::CpuId cpu) {
    auto it = std::find_if(irq.per_cpu.begin(), irq.per_cpu.end(), [cpu](const IrqCpuCount& pc) { return pc.cpu == cpu; });
    const double share = it == irq.per_cpu.end() ? 0.0 : it->share_pct;
    if (!hi || share > *hi) hi = share;
    if (!lo || share < *lo) {
      lo = share;
      v.target = cpu;
    }
  });
  if (!hi || *hi - *lo <= threshold_pct) return Verdict{true, {}};
  v.balanced = false;
  return v;
}

}  // namespace irqbpfd::model
