// Who the BPF programs charge softirq time to, on a CPU where several IRQs
// raise the same vector. bpf/irq_stats.bpf.c charges a whole softirq run to
// the first IRQ that raised its vector since the vector's last run on that
// CPU; work raised while a run is under way goes to the next run, which the
// first raiser during the run owns. So where queues share a CPU, some of one
// queue's softirq time is charged to another. This replays that rule on a
// short stream of interrupts (Poisson arrivals at the IRQs' rates; the
// softirq runs at the exit of the hardirq that raised it unless a run is
// under way; a hardirq during a run delays its end) and returns the shares.
#pragma once

#include <cstdint>
#include <vector>

namespace irqbpfd::sim {

struct Raiser {
  double interrupts_per_s = 0;
  double hardirq_ns = 0;  // per interrupt
  double softirq_ns = 0;  // per interrupt: the work it raises
};

// shares[j][o]: the part of raiser j's softirq work charged to raiser o
// (each row sums to 1). `events` interrupts are replayed, drawn with `seed`:
// the same input gives the same shares.
std::vector<std::vector<double>> first_raiser_shares(const std::vector<Raiser>& raisers, std::uint64_t seed,
                                                     std::size_t events = 1000);

}  // namespace irqbpfd::sim
