/* The ABI between bpf/irq_stats.bpf.c and the userspace BPF collector: map
 * value layouts and sizes. Fixed-width types only; both sides static-assert
 * the sizes, so a change here that one side misses fails the build. */
#ifndef IRQBPFD_IRQ_STATS_H
#define IRQBPFD_IRQ_STATS_H

#include <linux/types.h>

#define IRQBPFD_NR_SOFTIRQS 10    /* HI TIMER NET_TX NET_RX BLOCK IRQ_POLL TASKLET SCHED HRTIMER RCU */
#define IRQBPFD_HIST_BUCKETS 32   /* log2(handler ns): bucket b holds [2^b, 2^(b+1)) ns, b=0 holds 0-1 */

/* Per (IRQ, CPU) counters live in three u64 arrays, each indexed
 * cpu * max_irqs + irq, so userspace can find what changed by scanning the
 * counts alone (a struct-per-cell layout makes that scan read 4x the memory):
 *   irq_count       hardirq handler runs (once per action of a shared line)
 *   irq_hardirq_ns  time inside the handler, entry to exit
 *   irq_softirq_ns  softirq time raised by this IRQ's handler on this CPU
 * Each cell is written only by programs running on its CPU: plain adds. */
typedef __u64 irqbpfd_counter;

/* Map `cpu_stats`, index cpu: softirq time per vector and what was dropped. */
struct irqbpfd_cpu {
  __u64 softirq_ns[IRQBPFD_NR_SOFTIRQS];      /* all softirq time, nested hardirq time subtracted */
  __u64 softirq_runs[IRQBPFD_NR_SOFTIRQS];
  __u64 attributed_runs[IRQBPFD_NR_SOFTIRQS]; /* runs charged to a raising IRQ */
  __u64 unattributed_ns[IRQBPFD_NR_SOFTIRQS]; /* the part no hardirq raised (timers, RCU, ...) */
  __u64 raises[IRQBPFD_NR_SOFTIRQS];          /* softirq_raise events */
  __u64 raises_in_hardirq[IRQBPFD_NR_SOFTIRQS];
  __u64 dropped_irq_range;   /* IRQ number >= max_irqs: not counted */
  __u64 unpaired_irq_exit;   /* hardirq exit with no matching entry */
  __u64 nested_irq_entry;    /* hardirq entry while one was open (lost the outer one) */
  __u64 unpaired_softirq_exit;
  __u64 bad_vector;          /* softirq vector >= IRQBPFD_NR_SOFTIRQS */
};

/* Map `hist`, index irq * IRQBPFD_HIST_BUCKETS + bucket: handler durations of
 * IRQ `irq` over all CPUs (atomic adds). */
typedef __u64 irqbpfd_hist_bucket;

#define IRQBPFD_COUNTER_SIZE 8
#define IRQBPFD_CPU_SIZE (8 * (6 * IRQBPFD_NR_SOFTIRQS + 5))

#ifdef __cplusplus
static_assert(sizeof(irqbpfd_counter) == IRQBPFD_COUNTER_SIZE, "irqbpfd_counter ABI");
static_assert(sizeof(struct irqbpfd_cpu) == IRQBPFD_CPU_SIZE, "irqbpfd_cpu ABI");
#else
_Static_assert(sizeof(irqbpfd_counter) == IRQBPFD_COUNTER_SIZE, "irqbpfd_counter ABI");
_Static_assert(sizeof(struct irqbpfd_cpu) == IRQBPFD_CPU_SIZE, "irqbpfd_cpu ABI");
#endif

#endif
