// SPDX-License-Identifier: GPL-2.0
/* Measurement-only programs for tests/bench/bpf_cost.cpp (never loaded by the
 * daemon): bracket programs that time everything the kernel runs between them
 * on one tracepoint, empty programs (the floor) and a deliberately slow
 * program (to check the bracket ordering).
 *
 * Programs on one raw tracepoint run in attach order (equal priority: a new
 * probe is appended). Attach bench_open_X first, the programs under test
 * next, bench_close_X last: the open->close span then holds the dispatch of
 * every program in between plus its run time. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Tracepoint slots, in this order everywhere (userspace too). */
#define TP_IRQ_ENTRY 0
#define TP_IRQ_EXIT 1
#define TP_SOFTIRQ_RAISE 2
#define TP_SOFTIRQ_ENTRY 3
#define TP_SOFTIRQ_EXIT 4
#define NR_TP 5

/* Spans longer than this were interrupted by something untraced (a local
 * timer interrupt, an NMI, a VM exit): not the cost of the programs. */
const volatile __u64 span_cap_ns = 50000;
/* Iterations of the slow program's loop. */
const volatile __u32 slow_loops = 64;

/* Map `results`, per CPU, index = tracepoint slot. */
struct bench_result {
  __u64 sum_ns;      /* sum of the kept spans */
  __u64 kept;        /* spans in sum_ns */
  __u64 events;      /* every close run: events of this tracepoint */
  __u64 unopened;    /* close ran with no open before it (order check) */
  __u64 nested;      /* another bracketed event began inside the span */
  __u64 too_long;    /* span > span_cap_ns */
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NR_TP);
  __type(key, __u32);
  __type(value, struct bench_result);
} results SEC(".maps");

/* Per-CPU scratch: the open time and sequence number per slot. */
struct bench_scratch {
  __u64 open_ns[NR_TP]; /* 0: no open span */
  __u64 open_seq[NR_TP];
  __u64 seq;            /* bumped by every open on this CPU */
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bench_scratch);
} scratch SEC(".maps");

/* Map `slow_stats`, per CPU: the slow program's own run time, timed inside. */
struct bench_slow {
  __u64 sum_ns;
  __u64 runs;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bench_slow);
} slow_stats SEC(".maps");

static __always_inline int bracket_open(__u32 tp) {
  __u32 zero = 0;
  struct bench_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
  if (!s || tp >= NR_TP) return 0;
  s->seq += 1;
  s->open_seq[tp] = s->seq;
  /* Last: as little as possible of this program lies inside the span. */
  s->open_ns[tp] = bpf_ktime_get_ns();
  return 0;
}

static __always_inline int bracket_close(__u32 tp) {
  /* First: as little as possible of this program lies inside the span. */
  __u64 now = bpf_ktime_get_ns();
  __u32 zero = 0;
  struct bench_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
  if (!s || tp >= NR_TP) return 0;
  __u32 key = tp; /* a copy: `tp` itself must stay a constant offset below */
  struct bench_result *r = bpf_map_lookup_elem(&results, &key);
  if (!r) return 0;
  r->events += 1;
  __u64 open = s->open_ns[tp];
  s->open_ns[tp] = 0;
  if (open == 0) {
    r->unopened += 1;
    return 0;
  }
  if (s->open_seq[tp] != s->seq) {
    r->nested += 1;
    return 0;
  }
  __u64 span = now - open;
  if (span > span_cap_ns) {
    r->too_long += 1;
    return 0;
  }
  r->sum_ns += span;
  r->kept += 1;
  return 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(bench_open_irq_entry) { return bracket_open(TP_IRQ_ENTRY); }
SEC("tp_btf/irq_handler_exit")
int BPF_PROG(bench_open_irq_exit) { return bracket_open(TP_IRQ_EXIT); }
SEC("tp_btf/softirq_raise")
int BPF_PROG(bench_open_softirq_raise) { return bracket_open(TP_SOFTIRQ_RAISE); }
SEC("tp_btf/softirq_entry")
int BPF_PROG(bench_open_softirq_entry) { return bracket_open(TP_SOFTIRQ_ENTRY); }
SEC("tp_btf/softirq_exit")
int BPF_PROG(bench_open_softirq_exit) { return bracket_open(TP_SOFTIRQ_EXIT); }

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(bench_close_irq_entry) { return bracket_close(TP_IRQ_ENTRY); }
SEC("tp_btf/irq_handler_exit")
int BPF_PROG(bench_close_irq_exit) { return bracket_close(TP_IRQ_EXIT); }
SEC("tp_btf/softirq_raise")
int BPF_PROG(bench_close_softirq_raise) { return bracket_close(TP_SOFTIRQ_RAISE); }
SEC("tp_btf/softirq_entry")
int BPF_PROG(bench_close_softirq_entry) { return bracket_close(TP_SOFTIRQ_ENTRY); }
SEC("tp_btf/softirq_exit")
int BPF_PROG(bench_close_softirq_exit) { return bracket_close(TP_SOFTIRQ_EXIT); }

/* The floor: what any program on these tracepoints costs at least. */
SEC("tp_btf/irq_handler_entry")
int BPF_PROG(bench_empty_irq_entry) { return 0; }
SEC("tp_btf/irq_handler_exit")
int BPF_PROG(bench_empty_irq_exit) { return 0; }
SEC("tp_btf/softirq_raise")
int BPF_PROG(bench_empty_softirq_raise) { return 0; }
SEC("tp_btf/softirq_entry")
int BPF_PROG(bench_empty_softirq_entry) { return 0; }
SEC("tp_btf/softirq_exit")
int BPF_PROG(bench_empty_softirq_exit) { return 0; }

/* Ordering check: a program that takes a known, measurable time. */
SEC("tp_btf/irq_handler_entry")
int BPF_PROG(bench_slow_irq_entry) {
  __u64 start = bpf_ktime_get_ns();
  __u64 last = start;
  for (__u32 i = 0; i < slow_loops && i < 4096; i++) last = bpf_ktime_get_ns();
  __u32 zero = 0;
  struct bench_slow *s = bpf_map_lookup_elem(&slow_stats, &zero);
  if (s) {
    s->sum_ns += last - start;
    s->runs += 1;
  }
  return 0;
}

/* Reference: a hardirq pair that only reads the clock, as any timing design
 * must (entry and exit). The helper call cannot be optimised away. */
SEC("tp_btf/irq_handler_entry")
int BPF_PROG(bench_clock_irq_entry) {
  bpf_ktime_get_ns();
  return 0;
}
SEC("tp_btf/irq_handler_exit")
int BPF_PROG(bench_clock_irq_exit) {
  bpf_ktime_get_ns();
  return 0;
}

/* Reference: the least any handler timer can do. Entry stores the clock in a
 * per-CPU slot; exit reads the clock again and adds the span and a count to
 * that slot. No per-IRQ cells, no histogram, no pairing checks: a lower bound
 * for any design that measures handler time with two clock reads. */
struct timer_slot {
  __u64 start_ns;
  __u64 sum_ns;
  __u64 count;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct timer_slot);
} timer_slots SEC(".maps");

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(bench_timer_irq_entry) {
  __u32 zero = 0;
  struct timer_slot *t = bpf_map_lookup_elem(&timer_slots, &zero);
  if (t) t->start_ns = bpf_ktime_get_ns();
  return 0;
}
SEC("tp_btf/irq_handler_exit")
int BPF_PROG(bench_timer_irq_exit) {
  const __u64 now = bpf_ktime_get_ns();
  __u32 zero = 0;
  struct timer_slot *t = bpf_map_lookup_elem(&timer_slots, &zero);
  if (t) {
    t->sum_ns += now - t->start_ns;
    t->count += 1;
  }
  return 0;
}
