// BpfPrograms: the loaded irq_stats BPF object (skeleton, attached links and
// mmapped counter maps) as one RAII handle, and its cumulative counters.
// Loading tries tp_btf first and falls back to raw_tp when that fails; the
// maps are sized before load from the machine (highest IRQ, possible CPUs).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"

namespace irqbpfd::collect {

inline constexpr std::size_t kSoftirqVectors = 10;  // HI .. RCU
inline constexpr std::size_t kHistBuckets = 32;     // log2(ns)
// The kernel's softirq names, in vector order.
extern const std::array<const char*, kSoftirqVectors> kSoftirqNames;

enum class AttachMode { kTpBtf, kRawTp };
const char* to_string(AttachMode mode);

struct BpfSizing {
  std::uint32_t max_irqs = 0;  // IRQ numbers 0..max_irqs-1 are counted
  std::uint32_t nr_cpus = 0;   // CPU ids 0..nr_cpus-1 (possible CPUs)
};

struct BpfOptions {
  BpfSizing sizing;
  std::optional<AttachMode> mode;  // force one; default: tp_btf, then raw_tp
  bool attach = true;              // false: load only (program tests)
  bool hardirq_only = false;       // attach only the hardirq entry/exit pair (cost benchmark)
  bool fake_clock = false;         // programs take time from set_fake_now()
  // Handler timing: 1 times every run (exact); a power of two N up to
  // kMaxHardirqSampleEvery times one run in N at random and scales its span
  // by N (counts stay exact). See BpfReading::hardirq_sample_every.
  std::uint32_t hardirq_sample_every = 1;
};
inline constexpr std::uint32_t kMaxHardirqSampleEvery = 64;

// Cumulative counters of one (IRQ, CPU) cell; only cells that ever counted.
struct BpfCell {
  core::IrqNumber irq{};
  core::CpuId cpu{};
  std::uint64_t count = 0;
  std::uint64_t hardirq_ns = 0;
  std::uint64_t softirq_ns = 0;  // softirq time raised by this IRQ on this CPU
};

struct BpfCpu {
  core::CpuId cpu{};
  std::array<std::uint64_t, kSoftirqVectors> softirq_ns{};
  std::array<std::uint64_t, kSoftirqVectors> softirq_runs{};
  std::array<std::uint64_t, kSoftirqVectors> attributed_runs{};
  std::array<std::uint64_t, kSoftirqVectors> unattributed_ns{};
  std::array<std::uint64_t, kSoftirqVectors> raises{};
  std::array<std::uint64_t, kSoftirqVectors> raises_in_hardirq{};
  std::uint64_t dropped_irq_range = 0;
  std::uint64_t unpaired_irq_exit = 0;
  std::uint64_t nested_irq_entry = 0;
  std::uint64_t unpaired_softirq_exit = 0;
  std::uint64_t bad_vector = 0;
};

struct BpfHistogram {
  core::IrqNumber irq{};
  std::array<std::uint64_t, kHistBuckets> buckets{};  // bucket b: [2^b, 2^(b+1)) ns
};

struct BpfReading {
  std::vector<BpfCell> cells;            // sorted by (irq, cpu)
  std::vector<BpfCpu> cpus;              // one per sized CPU, ascending
  std::vector<BpfHistogram> histograms;  // IRQs with any sample, ascending
  BpfSizing sizing;
  AttachMode mode = AttachMode::kTpBtf;
  std::size_t map_bytes = 0;             // memory the counter maps take
  // 1: hardirq_ns is every run's handler time. N > 1: one run in N (picked
  // at random on each CPU) was timed and its span counted N times, so
  // hardirq_ns, and the nested hardirq time taken out of softirq time, are
  // unbiased estimates; histograms hold the timed runs only. Counts are
  // exact either way.
  std::uint32_t hardirq_sample_every = 1;
};

// "" when `every` is a valid hardirq_sample_every (a power of two, 1 to
// kMaxHardirqSampleEvery), else what is wrong with it.
std::string check_hardirq_sample_every(std::uint64_t every);

class BpfPrograms {
 public:
  enum class Program { kIrqEntry, kIrqExit, kSoftirqRaise, kSoftirqEntry, kSoftirqExit };

  // Errors say what failed and why ("loading BPF programs: Operation not
  // permitted (needs CAP_BPF and CAP_PERFMON)").
  static core::Result<std::unique_ptr<BpfPrograms>> open(const BpfOptions& options);
  ~BpfPrograms();
  BpfPrograms(const BpfPrograms&) = delete;
  BpfPrograms& operator=(const BpfPrograms&) = delete;

  [[nodiscard]] AttachMode mode() const { return mode_; }
  [[nodiscard]] const BpfSizing& sizing() const { return sizing_; }
  [[nodiscard]] std::uint32_t hardirq_sample_every() const { return sample_every_; }
  // Bytes of map memory the counters take (the mmapped arrays and state).
  [[nodiscard]] std::size_t map_bytes() const;
  // Why tp_btf was not used, when the fallback to raw_tp happened.
  [[nodiscard]] const std::string& fallback_reason() const { return fallback_reason_; }

  // The cumulative counters now. Reads the mmapped arrays: no syscall per key.
  core::Result<BpfReading> read();

  // BPF_PROG_TEST_RUN of one program on `cpu` with tracepoint arguments
  // (raw_tp mode only): exact, deterministic program tests.
  core::Result<void> test_run(Program program, core::CpuId cpu, const std::vector<std::uint64_t>& args);
  // With fake_clock: the time programs see.
  void set_fake_now(std::uint64_t ns);

  struct State;  // opaque: skeleton, links, mappings

 private:
  explicit BpfPrograms(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  AttachMode mode_ = AttachMode::kTpBtf;
  BpfSizing sizing_;
  std::uint32_t sample_every_ = 1;
  std::string fallback_reason_;
};

}  // namespace irqbpfd::collect
