// The programs' softirq charging rule replayed on a stream of interrupts
// (see softirq_charge.hpp).
#include "irqbpfd/sim/softirq_charge.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <random>

namespace irqbpfd::sim {
namespace {

struct Run {
  std::size_t owner = 0;
  double end_ns = 0;
  std::vector<double> work;  // per raiser, ns
};

class Replay {
 public:
  Replay(const std::vector<Raiser>& raisers, std::uint64_t seed)
      : raisers_(raisers), gen_(seed), pending_(raisers.size(), 0.0), charged_(raisers.size(), std::vector<double>(raisers.size(), 0.0)) {
    for (const Raiser& r : raisers) total_rate_ += std::max(0.0, r.interrupts_per_s);
  }

  void run(std::size_t events) {
    if (total_rate_ <= 0) return;
    std::exponential_distribution<double> gap(total_rate_ / 1e9);  // per ns
    std::uniform_real_distribution<double> pick(0.0, total_rate_);
    double t = 0;
    for (std::size_t e = 0; e < events; ++e) {
      t += gap(gen_);
      const std::size_t i = which(pick(gen_));
      while (run_ && run_->end_ns <= t) finish_and_continue();
      // The hardirq: it delays a run under way (the programs take nested
      // hardirq time out of the run) and raises the vector. The kernel
      // cleared the pending bit when the run began, so the raise belongs to
      // the next run; with none under way, the softirq runs at the exit of
      // this hardirq.
      if (run_) run_->end_ns += raisers_[i].hardirq_ns;
      pending_[i] += raisers_[i].softirq_ns;
      if (!raiser_) raiser_ = i;
      if (!run_) start(t + raisers_[i].hardirq_ns);
    }
    while (run_) finish_and_continue();
  }

  [[nodiscard]] std::vector<std::vector<double>> shares() const {
    std::vector<std::vector<double>> out = charged_;
    for (std::size_t j = 0; j < out.size(); ++j) {
      const double sum = std::accumulate(out[j].begin(), out[j].end(), 0.0);
      if (sum <= 0) {
        std::fill(out[j].begin(), out[j].end(), 0.0);
        out[j][j] = 1.0;  // it never ran in the replay: its own
        continue;
      }
      for (double& v : out[j]) v /= sum;
    }
    return out;
  }

 private:
  std::size_t which(double x) const {
    for (std::size_t i = 0; i < raisers_.size(); ++i) {
      x -= std::max(0.0, raisers_[i].interrupts_per_s);
      if (x < 0) return i;
    }
    return raisers_.size() - 1;
  }
  void start(double at_ns) {
    Run r;
    r.owner = *raiser_;
    r.work = pending_;
    r.end_ns = at_ns + std::accumulate(pending_.begin(), pending_.end(), 0.0);
    std::fill(pending_.begin(), pending_.end(), 0.0);
    raiser_.reset();
    run_ = std::move(r);
  }
  void finish_and_continue() {
    const Run done = std::move(*run_);
    run_.reset();
    for (std::size_t j = 0; j < done.work.size(); ++j) charged_[j][done.owner] += done.work[j];
    if (raiser_) start(done.end_ns);  // raised during the run: the kernel runs the vector again
  }

  const std::vector<Raiser>& raisers_;
  std::mt19937_64 gen_;
  double total_rate_ = 0;
  std::vector<double> pending_;          // work raised since the vector's last run began
  std::optional<std::size_t> raiser_;    // the first raiser since then
  std::optional<Run> run_;
  std::vector<std::vector<double>> charged_;  // [work of j][charged to o], ns
};

}  // namespace

std::vector<std::vector<double>> first_raiser_shares(const std::vector<Raiser>& raisers, std::uint64_t seed,
                                                     std::size_t events) {
  Replay replay(raisers, seed);
  replay.run(events);
  return replay.shares();
}

}  // namespace irqbpfd::sim
