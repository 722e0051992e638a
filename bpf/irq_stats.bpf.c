// SPDX-License-Identifier: GPL-2.0
/* irqbpfd's BPF side: on the irq tracepoints, count hardirq handler runs and
 * time per (IRQ, CPU), softirq time per (vector, CPU) with nested hardirq
 * time taken out, and charge softirq time to the IRQ whose handler raised it.
 * It only adds to counters; userspace does deltas, rates and smoothing.
 *
 * Each program exists twice, as tp_btf (cheapest) and raw_tp (fallback);
 * userspace loads one set and disables the other. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "irq_stats.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by userspace before load. */
const volatile __u32 max_irqs = 1;
const volatile __u32 nr_cpus = 1;
const volatile __u8 use_fake_clock = 0; /* tests: time is fake_now_ns */
/* Handler timing, 0: every run (exact); s > 0: one run in 2^s, picked at
 * random per CPU at entry, its span added times 2^s (an unbiased estimate).
 * Counts stay exact either way. The verifier sees the frozen value, so the
 * exact build carries none of the sampling code. */
const volatile __u32 hardirq_sample_shift = 0;

__u64 fake_now_ns = 0;

/* Sized by userspace before load: cpu * max_irqs + irq. */
#define COUNTER_ARRAY(name)                  \
  struct {                                   \
    __uint(type, BPF_MAP_TYPE_ARRAY);        \
    __uint(map_flags, BPF_F_MMAPABLE);       \
    __uint(max_entries, 1);                  \
    __type(key, __u32);                      \
    __type(value, irqbpfd_counter);          \
  } name SEC(".maps")

COUNTER_ARRAY(irq_count);
COUNTER_ARRAY(irq_hardirq_ns);
COUNTER_ARRAY(irq_softirq_ns);

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct irqbpfd_cpu);
} cpu_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, irqbpfd_hist_bucket);
} hist SEC(".maps");

/* Per-CPU scratch: the open hardirq and softirq, and who raised what. Every
 * "which" field holds the number + 1, so the all-zero initial state means
 * "nothing open" and no program has to initialise it. */
struct cpu_state {
  __u64 hardirq_start_ns;
  __u64 softirq_start_ns;
  __u64 hardirq_ns_in_softirq;             /* hardirq time inside the open softirq */
  __u32 hardirq_irq1;                      /* irq + 1 of the open handler, 0: none */
  __u32 softirq_vec1;                      /* vector + 1 of the open softirq, 0: none */
  __u32 softirq_owner;                     /* irq + 1 charged for the open softirq, 0: none */
  __u32 hardirq_timed;                     /* sampling: the open handler run is timed */
  __u32 sample_rng;                        /* sampling: this CPU's LCG state */
  __u32 pending_raiser[IRQBPFD_NR_SOFTIRQS]; /* irq + 1 that first raised a vector since its last run */
  __u8 pad[128 - 84];                      /* one CPU per two whole cache lines */
};

_Static_assert(sizeof(struct cpu_state) == 128, "cpu_state: two cache lines per CPU");

/* Indexed by CPU. An mmapable array's values start page-aligned, so each
 * CPU's state starts on a cache line of its own and the hardirq fields the
 * hot path touches share that one line; a per-CPU map aligns its values to
 * 8 bytes only. Sized to the possible CPUs by userspace before load. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_state);
} state SEC(".maps");

static __always_inline __u64 now_ns(void) {
  return use_fake_clock ? fake_now_ns : bpf_ktime_get_ns();
}

static __always_inline struct cpu_state *this_state(void) {
  __u32 cpu = bpf_get_smp_processor_id();
  return bpf_map_lookup_elem(&state, &cpu);
}

static __always_inline struct irqbpfd_cpu *this_cpu_stats(void) {
  __u32 cpu = bpf_get_smp_processor_id();
  return bpf_map_lookup_elem(&cpu_stats, &cpu);
}

static __always_inline __u32 log2_bucket(__u64 v) {
  __u32 r = 0;
  if (v >> 32) { v >>= 32; r += 32; }
  if (v >> 16) { v >>= 16; r += 16; }
  if (v >> 8) { v >>= 8; r += 8; }
  if (v >> 4) { v >>= 4; r += 4; }
  if (v >> 2) { v >>= 2; r += 2; }
  if (v >> 1) { r += 1; }
  return r < IRQBPFD_HIST_BUCKETS ? r : IRQBPFD_HIST_BUCKETS - 1;
}

/* A softirq vector as a verifier-proof index: a 64-bit copy behind a compiler
 * barrier, then bounded (a bounded u32 alone can fail to verify). */
static __always_inline int vector_index(unsigned int vec, __u64 *out) {
  __u64 v = vec;
  asm volatile("" : "+r"(v));
  if (v >= IRQBPFD_NR_SOFTIRQS) return -1;
  *out = v;
  return 0;
}

/* The vector as an index, or -1 after counting it as bad. */
static __always_inline int checked_vector(unsigned int vec, struct irqbpfd_cpu *cs, __u64 *out) {
  if (vector_index(vec, out) == 0) return 0;
  if (cs) cs->bad_vector += 1;
  return -1;
}

/* The hardirq pair is the hot path (every device interrupt): the normal
 * case does one state lookup at entry and, at exit, the state, two counter
 * cells and one histogram bucket; the per-CPU stats are touched only when
 * something was wrong. */
static __always_inline int on_irq_entry(int irq) {
  struct cpu_state *st = this_state();
  if (!st) return 0;
  if (st->hardirq_irq1 != 0) {
    struct irqbpfd_cpu *cs = this_cpu_stats();
    if (cs) cs->nested_irq_entry += 1;
  }
  st->hardirq_irq1 = (__u32)irq + 1;
  if (hardirq_sample_shift != 0) {
    /* Numerical Recipes' LCG; its top bits decide, P(all zero) = 2^-shift. */
    const __u32 r = st->sample_rng * 1664525U + 1013904223U;
    st->sample_rng = r;
    st->hardirq_timed = (r >> (32 - hardirq_sample_shift)) == 0;
    if (!st->hardirq_timed) return 0;
  }
  st->hardirq_start_ns = now_ns();
  return 0;
}

static __always_inline int on_irq_exit(int irq) {
  /* Exact mode reads the clock first, nearest the handler's end; sampling
   * reads it only for a timed run. */
  __u64 now = hardirq_sample_shift == 0 ? now_ns() : 0;
  struct cpu_state *st = this_state();
  if (!st) return 0;
  if (st->hardirq_irq1 != (__u32)irq + 1 || st->hardirq_irq1 == 0) {
    struct irqbpfd_cpu *cs = this_cpu_stats();
    if (cs) cs->unpaired_irq_exit += 1;
    st->hardirq_irq1 = 0;
    return 0;
  }
  st->hardirq_irq1 = 0;
  const int timed = hardirq_sample_shift == 0 || st->hardirq_timed;
  __u64 dur = 0;
  if (timed) {
    if (hardirq_sample_shift != 0) now = now_ns();
    dur = now - st->hardirq_start_ns;
    if (st->softirq_vec1 != 0) st->hardirq_ns_in_softirq += dur << hardirq_sample_shift;
  }

  if ((__u32)irq >= max_irqs) {
    struct irqbpfd_cpu *cs = this_cpu_stats();
    if (cs) cs->dropped_irq_range += 1;
    return 0;
  }
  __u32 idx = bpf_get_smp_processor_id() * max_irqs + (__u32)irq;
  __u64 *count = bpf_map_lookup_elem(&irq_count, &idx);
  if (count) *count += 1;
  if (!timed) return 0;
  __u64 *ns = bpf_map_lookup_elem(&irq_hardirq_ns, &idx);
  if (ns) *ns += dur << hardirq_sample_shift;
  /* Plain add, not atomic: an IRQ runs on one CPU at a time, so two CPUs
   * adding to the same IRQ's bucket at the same instant is rare, and costs
   * at most a lost histogram sample, never a count or a time. */
  __u32 hidx = (__u32)irq * IRQBPFD_HIST_BUCKETS + log2_bucket(dur);
  __u64 *bucket = bpf_map_lookup_elem(&hist, &hidx);
  if (bucket) *bucket += 1;
  return 0;
}

static __always_inline int on_softirq_raise(unsigned int vec) {
  struct cpu_state *st = this_state();
  struct irqbpfd_cpu *cs = this_cpu_stats();
  if (!st || !cs) return 0;
  __u64 v;
  if (checked_vector(vec, cs, &v) < 0) return 0;
  cs->raises[v] += 1;
  if (st->hardirq_irq1 != 0) {
    cs->raises_in_hardirq[v] += 1;
    if (st->pending_raiser[v] == 0) st->pending_raiser[v] = st->hardirq_irq1;
  }
  return 0;
}

static __always_inline int on_softirq_entry(unsigned int vec) {
  struct cpu_state *st = this_state();
  if (!st) return 0;
  __u64 v;
  if (checked_vector(vec, this_cpu_stats(), &v) < 0) return 0;
  st->softirq_vec1 = (__u32)v + 1;
  st->softirq_start_ns = now_ns();
  st->hardirq_ns_in_softirq = 0;
  /* The kernel clears a vector's pending bit before running it: raises from
   * here on belong to the next run. */
  st->softirq_owner = st->pending_raiser[v];
  st->pending_raiser[v] = 0;
  return 0;
}

static __always_inline int on_softirq_exit(unsigned int vec) {
  struct cpu_state *st = this_state();
  struct irqbpfd_cpu *cs = this_cpu_stats();
  if (!st || !cs) return 0;
  __u64 v;
  if (checked_vector(vec, cs, &v) < 0) return 0;
  if (st->softirq_vec1 == 0 || (__u64)st->softirq_vec1 != v + 1) {
    cs->unpaired_softirq_exit += 1;
    st->softirq_vec1 = 0;
    return 0;
  }
  __u64 elapsed = now_ns() - st->softirq_start_ns;
  __u64 dur = elapsed > st->hardirq_ns_in_softirq ? elapsed - st->hardirq_ns_in_softirq : 0;
  st->softirq_vec1 = 0;
  cs->softirq_ns[v] += dur;
  cs->softirq_runs[v] += 1;

  __u32 owner = st->softirq_owner;
  st->softirq_owner = 0;
  if (owner == 0 || owner > max_irqs) {
    cs->unattributed_ns[v] += dur;
    return 0;
  }
  __u32 idx = bpf_get_smp_processor_id() * max_irqs + (owner - 1);
  __u64 *ns = bpf_map_lookup_elem(&irq_softirq_ns, &idx);
  if (ns) {
    *ns += dur;
    cs->attributed_runs[v] += 1;
  } else {
    cs->unattributed_ns[v] += dur;
  }
  return 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(btf_irq_entry, int irq) { return on_irq_entry(irq); }
SEC("tp_btf/irq_handler_exit")
int BPF_PROG(btf_irq_exit, int irq) { return on_irq_exit(irq); }
SEC("tp_btf/softirq_raise")
int BPF_PROG(btf_softirq_raise, unsigned int vec) { return on_softirq_raise(vec); }
SEC("tp_btf/softirq_entry")
int BPF_PROG(btf_softirq_entry, unsigned int vec) { return on_softirq_entry(vec); }
SEC("tp_btf/softirq_exit")
int BPF_PROG(btf_softirq_exit, unsigned int vec) { return on_softirq_exit(vec); }

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(raw_irq_entry, int irq) { return on_irq_entry(irq); }
SEC("raw_tp/irq_handler_exit")
int BPF_PROG(raw_irq_exit, int irq) { return on_irq_exit(irq); }
SEC("raw_tp/softirq_raise")
int BPF_PROG(raw_softirq_raise, unsigned int vec) { return on_softirq_raise(vec); }
SEC("raw_tp/softirq_entry")
int BPF_PROG(raw_softirq_entry, unsigned int vec) { return on_softirq_entry(vec); }
SEC("raw_tp/softirq_exit")
int BPF_PROG(raw_softirq_exit, unsigned int vec) { return on_softirq_exit(vec); }
