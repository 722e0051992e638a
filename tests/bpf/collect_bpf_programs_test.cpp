// The real irq_stats programs run with BPF_PROG_TEST_RUN on chosen CPUs, with
// a fake clock: exact counts and times for crafted tracepoint sequences.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>

#include "irqbpfd/collect/bpf_programs.hpp"
#include "privileges.hpp"

namespace irqbpfd::collect {
namespace {

using P = BpfPrograms::Program;
using core::cpu_id;
using core::irq_number;

constexpr std::uint64_t kNetRx = 3, kTimer = 1, kBlock = 4;

class ProgramTest : public ::testing::Test {
 protected:
  // The programs' hardirq_sample_every (1: every run timed).
  virtual std::uint32_t sample_every() const { return 1; }

  void SetUp() override {
    if (const std::string missing = testing::bpf_privilege_missing(); !missing.empty()) GTEST_SKIP() << missing;
    BpfOptions options;
    options.sizing = {64, 2};
    options.mode = AttachMode::kRawTp;  // test runs need raw_tp programs
    options.attach = false;
    options.fake_clock = true;
    options.hardirq_sample_every = sample_every();
    auto p = BpfPrograms::open(options);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    programs_ = std::move(*p);
  }

  void run(std::uint64_t at_ns, P program, std::uint32_t cpu, std::uint64_t arg) {
    programs_->set_fake_now(at_ns);
    auto r = programs_->test_run(program, cpu_id(cpu), {arg, 0, 0});
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }
  // A hardirq of `irq` on `cpu` from `start` to `end`.
  void hardirq(std::uint32_t cpu, std::uint64_t irq, std::uint64_t start, std::uint64_t end) {
    run(start, P::kIrqEntry, cpu, irq);
    run(end, P::kIrqExit, cpu, irq);
  }

  BpfReading reading() {
    auto r = programs_->read();
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? *r : BpfReading{};
  }

  static const BpfCell* cell(const BpfReading& r, std::uint32_t irq, std::uint32_t cpu) {
    auto it = std::find_if(r.cells.begin(), r.cells.end(),
                           [&](const BpfCell& c) { return c.irq == irq_number(irq) && c.cpu == cpu_id(cpu); });
    return it == r.cells.end() ? nullptr : &*it;
  }

  std::unique_ptr<BpfPrograms> programs_;
};

TEST_F(ProgramTest, HardirqPairCountsTimeAndHistogramPerCpu) {
  hardirq(1, 5, 1000, 1600);
  hardirq(1, 5, 5000, 5100);
  hardirq(0, 5, 7000, 7003);
  const BpfReading r = reading();
  const BpfCell* c1 = cell(r, 5, 1);
  const BpfCell* c0 = cell(r, 5, 0);
  ASSERT_NE(c1, nullptr);
  ASSERT_NE(c0, nullptr);
  EXPECT_EQ(c1->count, 2U);
  EXPECT_EQ(c1->hardirq_ns, 700U);
  EXPECT_EQ(c0->count, 1U);
  EXPECT_EQ(c0->hardirq_ns, 3U);
  EXPECT_EQ(c1->softirq_ns, 0U);
  ASSERT_EQ(r.histograms.size(), 1U);
  EXPECT_EQ(r.histograms[0].irq, irq_number(5));
  EXPECT_EQ(r.histograms[0].buckets[9], 1U);  // 600 ns: [512, 1024)
  EXPECT_EQ(r.histograms[0].buckets[6], 1U);  // 100 ns: [64, 128)
  EXPECT_EQ(r.histograms[0].buckets[1], 1U);  // 3 ns: [2, 4)
  EXPECT_EQ(r.cells.size(), 2U);  // cells are listed sorted by (irq, cpu)
  EXPECT_EQ(r.cells[0].cpu, cpu_id(0));
}

TEST_F(ProgramTest, SoftirqChargedToRaisingIrqWithNestedHardirqTimeRemoved) {
  run(0, P::kIrqEntry, 1, 7);
  run(100, P::kSoftirqRaise, 1, kNetRx);
  run(300, P::kIrqExit, 1, 7);
  run(400, P::kSoftirqEntry, 1, kNetRx);
  hardirq(1, 8, 500, 550);  // nested inside the softirq: 50 ns not softirq time
  run(1400, P::kSoftirqExit, 1, kNetRx);
  const BpfReading r = reading();
  const BpfCell* raiser = cell(r, 7, 1);
  ASSERT_NE(raiser, nullptr);
  EXPECT_EQ(raiser->hardirq_ns, 300U);
  EXPECT_EQ(raiser->softirq_ns, 950U);
  const BpfCell* nested = cell(r, 8, 1);
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->hardirq_ns, 50U);
  EXPECT_EQ(nested->softirq_ns, 0U);
  const BpfCpu& cpu1 = r.cpus.at(1);
  EXPECT_EQ(cpu1.softirq_ns[kNetRx], 950U);
  EXPECT_EQ(cpu1.softirq_runs[kNetRx], 1U);
  EXPECT_EQ(cpu1.attributed_runs[kNetRx], 1U);
  EXPECT_EQ(cpu1.unattributed_ns[kNetRx], 0U);
  EXPECT_EQ(cpu1.raises[kNetRx], 1U);
  EXPECT_EQ(cpu1.raises_in_hardirq[kNetRx], 1U);
  EXPECT_EQ(r.cpus.at(0).softirq_ns[kNetRx], 0U);
}

TEST_F(ProgramTest, SoftirqRaisedOutsideHardirqIsUnattributed) {
  run(0, P::kSoftirqRaise, 0, kTimer);
  run(10, P::kSoftirqEntry, 0, kTimer);
  run(310, P::kSoftirqExit, 0, kTimer);
  const BpfReading r = reading();
  EXPECT_TRUE(r.cells.empty());
  EXPECT_EQ(r.cpus.at(0).softirq_ns[kTimer], 300U);
  EXPECT_EQ(r.cpus.at(0).unattributed_ns[kTimer], 300U);
  EXPECT_EQ(r.cpus.at(0).raises_in_hardirq[kTimer], 0U);
}

TEST_F(ProgramTest, FirstRaiserSinceTheLastRunIsCharged) {
  hardirq(0, 10, 0, 10);
  run(5, P::kSoftirqRaise, 0, kBlock);  // outside: the hardirq above already exited
  run(20, P::kIrqEntry, 0, 11);
  run(25, P::kSoftirqRaise, 0, kBlock);
  run(30, P::kIrqExit, 0, 11);
  run(40, P::kIrqEntry, 0, 12);
  run(45, P::kSoftirqRaise, 0, kBlock);
  run(50, P::kIrqExit, 0, 12);
  run(60, P::kSoftirqEntry, 0, kBlock);
  run(260, P::kSoftirqExit, 0, kBlock);
  // The next run has no raiser: the pending one was consumed.
  run(300, P::kSoftirqEntry, 0, kBlock);
  run(350, P::kSoftirqExit, 0, kBlock);
  const BpfReading r = reading();
  EXPECT_EQ(cell(r, 11, 0)->softirq_ns, 200U);
  EXPECT_EQ(cell(r, 12, 0)->softirq_ns, 0U);
  EXPECT_EQ(cell(r, 10, 0)->softirq_ns, 0U);
  EXPECT_EQ(r.cpus.at(0).softirq_ns[kBlock], 250U);
  EXPECT_EQ(r.cpus.at(0).unattributed_ns[kBlock], 50U);
}

TEST_F(ProgramTest, UnpairedExitsAreCountedNotTimed) {
  run(100, P::kIrqExit, 0, 9);                    // exit with no entry
  run(200, P::kIrqEntry, 0, 9);
  run(300, P::kIrqExit, 0, 10);                   // exit of another IRQ
  run(400, P::kSoftirqExit, 0, kNetRx);           // softirq exit with no entry
  run(500, P::kSoftirqEntry, 0, kTimer);
  run(600, P::kSoftirqExit, 0, kNetRx);           // exit of another vector
  const BpfReading r = reading();
  EXPECT_TRUE(r.cells.empty());
  EXPECT_EQ(r.cpus.at(0).unpaired_irq_exit, 2U);
  EXPECT_EQ(r.cpus.at(0).unpaired_softirq_exit, 2U);
  EXPECT_EQ(r.cpus.at(0).softirq_ns[kTimer], 0U);
  EXPECT_EQ(r.cpus.at(0).softirq_ns[kNetRx], 0U);
}

TEST_F(ProgramTest, NestedEntryLosesTheOuterIrqAndSaysSo) {
  run(0, P::kIrqEntry, 1, 3);
  run(10, P::kIrqEntry, 1, 4);
  run(30, P::kIrqExit, 1, 4);
  run(40, P::kIrqExit, 1, 3);
  const BpfReading r = reading();
  EXPECT_EQ(r.cpus.at(1).nested_irq_entry, 1U);
  EXPECT_EQ(cell(r, 4, 1)->hardirq_ns, 20U);
  EXPECT_EQ(cell(r, 3, 1), nullptr);
  EXPECT_EQ(r.cpus.at(1).unpaired_irq_exit, 1U);
}

TEST_F(ProgramTest, IrqBeyondTheSizedMapsAndBadVectorsAreDropped) {
  hardirq(0, 64, 0, 100);    // max_irqs is 64: IRQ 64 is out of range
  hardirq(0, 4000, 0, 100);
  run(0, P::kSoftirqEntry, 0, 12);
  run(0, P::kSoftirqRaise, 0, 10);
  const BpfReading r = reading();
  EXPECT_TRUE(r.cells.empty());
  EXPECT_TRUE(r.histograms.empty());
  EXPECT_EQ(r.cpus.at(0).dropped_irq_range, 2U);
  EXPECT_EQ(r.cpus.at(0).bad_vector, 2U);
}

TEST_F(ProgramTest, ReadingsAreCumulative) {
  hardirq(1, 20, 0, 100);
  const BpfReading first = reading();
  hardirq(1, 20, 200, 250);
  hardirq(1, 21, 300, 310);
  const BpfReading second = reading();
  EXPECT_EQ(cell(first, 20, 1)->count, 1U);
  EXPECT_EQ(cell(second, 20, 1)->count, 2U);
  EXPECT_EQ(cell(second, 20, 1)->hardirq_ns, 150U);
  EXPECT_EQ(cell(second, 21, 1)->hardirq_ns, 10U);
  EXPECT_EQ(second.cells.size(), 2U);
}

// Sampled handler timing. The expected picks come from a copy of the
// programs' per-CPU generator (bpf/irq_stats.bpf.c, on_irq_entry): each
// hardirq entry on a CPU advances that CPU's LCG, starting from 0, and the
// run is timed when the top log2(N) bits come out zero.
class SampleMirror {
 public:
  explicit SampleMirror(std::uint32_t every) : shift_(static_cast<unsigned>(__builtin_ctz(every))) {}
  bool next_timed(std::uint32_t cpu) {
    std::uint32_t& r = state_[cpu];
    r = r * 1664525U + 1013904223U;
    return (r >> (32 - shift_)) == 0;
  }

 private:
  unsigned shift_;
  std::uint32_t state_[2] = {0, 0};
};

class SampledProgramTest : public ProgramTest {
 protected:
  std::uint32_t sample_every() const override { return 4; }
};

TEST_F(SampledProgramTest, OneRunInNIsTimedAndCountedNTimesCountsStayExact) {
  SampleMirror mirror(4);
  std::uint64_t expect_ns = 0, timed = 0;
  std::array<std::uint64_t, kHistBuckets> expect_hist{};
  for (std::uint64_t i = 0; i < 64; ++i) {
    const std::uint64_t start = 10000 * i, dur = 100 + 37 * i;
    hardirq(1, 5, start, start + dur);
    if (mirror.next_timed(1)) {
      expect_ns += 4 * dur;
      ++timed;
      ++expect_hist[63 - __builtin_clzll(dur)];
    }
  }
  hardirq(0, 5, 0, 500);  // CPU 0 draws from its own generator
  const bool cpu0_timed = mirror.next_timed(0);
  if (cpu0_timed) ++expect_hist[8];  // 500 ns: [256, 512)
  // The copy of the generator must pick some runs and skip others, or this
  // test would not tell sampling from "all" or "none".
  ASSERT_GT(timed, 0U);
  ASSERT_LT(timed, 64U);

  const BpfReading r = reading();
  EXPECT_EQ(r.hardirq_sample_every, 4U);
  const BpfCell* c1 = cell(r, 5, 1);
  ASSERT_NE(c1, nullptr);
  EXPECT_EQ(c1->count, 64U);
  EXPECT_EQ(c1->hardirq_ns, expect_ns);
  const BpfCell* c0 = cell(r, 5, 0);
  ASSERT_NE(c0, nullptr);
  EXPECT_EQ(c0->count, 1U);
  EXPECT_EQ(c0->hardirq_ns, cpu0_timed ? 2000U : 0U);
  ASSERT_EQ(r.histograms.size(), 1U);
  EXPECT_EQ(r.histograms[0].buckets, expect_hist);  // timed runs only, once each
}

TEST_F(SampledProgramTest, NestedHardirqTimeIsTakenOutOfSoftirqTimeScaled) {
  SampleMirror mirror(4);
  run(0, P::kIrqEntry, 1, 7);
  mirror.next_timed(1);
  run(100, P::kSoftirqRaise, 1, kNetRx);
  run(300, P::kIrqExit, 1, 7);
  run(400, P::kSoftirqEntry, 1, kNetRx);
  std::uint64_t nested_estimate = 0;
  for (std::uint64_t i = 0; i < 12; ++i) {
    hardirq(1, 8, 500 + 100 * i, 530 + 100 * i);  // 30 ns each, inside the softirq
    if (mirror.next_timed(1)) nested_estimate += 4 * 30;
  }
  run(10400, P::kSoftirqExit, 1, kNetRx);
  const BpfReading r = reading();
  const std::uint64_t expect = 10000 - nested_estimate;
  EXPECT_EQ(r.cpus.at(1).softirq_ns[kNetRx], expect);
  EXPECT_EQ(cell(r, 7, 1)->softirq_ns, expect);
  EXPECT_EQ(cell(r, 8, 1)->count, 12U);
  EXPECT_EQ(cell(r, 8, 1)->hardirq_ns, nested_estimate);
}

class SampledBy8ProgramTest : public ProgramTest {
 protected:
  std::uint32_t sample_every() const override { return 8; }
};

TEST_F(SampledBy8ProgramTest, TheEstimateOfManyRunsIsNearTheTruth) {
  // 4000 runs of 1 us: about 500 timed. The generator's picks must behave
  // like fair coin flips: the timed share within 5 sigma of 1/8, and the
  // estimate within 20% of the 4 ms spent.
  constexpr std::uint64_t kRuns = 4000, kDur = 1000;
  for (std::uint64_t i = 0; i < kRuns; ++i) hardirq(0, 9, 5000 * i, 5000 * i + kDur);
  const BpfReading r = reading();
  const BpfCell* c = cell(r, 9, 0);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->count, kRuns);
  ASSERT_EQ(c->hardirq_ns % (8 * kDur), 0U);
  const std::uint64_t timed = c->hardirq_ns / (8 * kDur);
  EXPECT_NEAR(static_cast<double>(timed), 500.0, 5 * 20.9);
  EXPECT_NEAR(static_cast<double>(c->hardirq_ns), static_cast<double>(kRuns * kDur), 0.2 * kRuns * kDur);
  ASSERT_EQ(r.histograms.size(), 1U);
  EXPECT_EQ(r.histograms[0].buckets[9], timed);  // 1000 ns: [512, 1024)
}

TEST(BpfLoad, SampleRatesThatAreNotPowersOfTwoUpTo64AreRefused) {
  for (std::uint32_t every : {0U, 3U, 12U, 128U}) {
    BpfOptions options;
    options.sizing = {64, 2};
    options.hardirq_sample_every = every;
    auto r = BpfPrograms::open(options);
    ASSERT_FALSE(r.has_value()) << every;
    EXPECT_NE(r.error().message.find("hardirq_sample_every: " + std::to_string(every) + " is not a power of two"),
              std::string::npos)
        << r.error().message;
  }
  EXPECT_EQ(check_hardirq_sample_every(64), "");
  EXPECT_EQ(check_hardirq_sample_every(1), "");
}

TEST(BpfLoad, TpBtfLoadsHereAndMapsAreSizedAsAsked) {
  if (const std::string missing = testing::bpf_privilege_missing(); !missing.empty()) GTEST_SKIP() << missing;
  BpfOptions options;
  options.sizing = {4096, 256};
  options.mode = AttachMode::kTpBtf;
  options.attach = false;
  auto p = BpfPrograms::open(options);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ((*p)->mode(), AttachMode::kTpBtf);
  // Three u64 arrays of 4096 x 256 cells plus the histogram and CPU stats.
  EXPECT_GE((*p)->map_bytes(), 3U * 4096 * 256 * 8 + 4096U * 32 * 8);
  auto r = (*p)->read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->cpus.size(), 256U);
}

TEST(BpfLoad, SizesThatCannotWorkAreRefused) {
  BpfOptions options;
  options.sizing = {0, 2};
  EXPECT_FALSE(BpfPrograms::open(options).has_value());
  options.sizing = {1U << 20, 1024};
  auto r = BpfPrograms::open(options);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("too large"), std::string::npos);
}

}  // namespace
}  // namespace irqbpfd::collect
