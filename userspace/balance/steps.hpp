// The steps plan() runs, one unit each (see the overview in balancer.cpp),
// and the plain data they hand each other. Internal to balance/.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "irqbpfd/balance/balancer.hpp"
#include "load_index.hpp"

namespace irqbpfd::balance::detail {

// --- 1. CPUs: which may take IRQs this cycle.
struct Frame {
  std::uint32_t top = 1;  // CPU ids are below this
  CpuSet online;
  CpuSet forbidden;  // online, and isolated, nohz_full or banned
  CpuSet usable;     // online - forbidden
  CpuSet powersave;  // usable CPUs drained for powersave
  CpuSet targets;    // usable - powersave: where movable IRQs may go
  bool single = false;  // the machine delivers an IRQ to one CPU of its mask (x86, GICv3)
};
Frame cpu_frame(const model::Snapshot& snap, const Policy& policy);

// Where an IRQ's interrupts landed in the window and how its load split
// over those CPUs (by interrupt count); an idle IRQ lands where its
// effective (else smp) affinity says, its (zero) load spread there.
struct Now {
  CpuSet cpus;
  std::vector<std::pair<CpuId, double>> load;  // ns per s per CPU
};

// --- 2. Loads now: background softirq work no device raised, and every IRQ
// where its interrupts landed.
struct LoadsNow {
  LoadMap background;
  LoadMap before;           // background + every IRQ where it landed
  std::vector<Now> now_of;  // per snapshot IRQ
  std::vector<double> load_of;  // per snapshot IRQ, ns per s
  explicit LoadsNow(std::size_t cpus) : background(cpus), before(cpus) {}
};
LoadsNow loads_now(const model::Snapshot& snap, const Frame& frame);
// Powersave: with few loaded CPUs, drain one so it can sleep; leave
// powersave as soon as any CPU is over-loaded. Sets frame.powersave and
// frame.targets.
void choose_powersave(Frame& frame, const LoadMap& before, const State& state, const Policy& policy);

// --- 3. Candidates: the masks an IRQ may be given, per (level, home node).
struct Candidate {
  CpuSet cpus;                  // the mask to write
  std::string label;            // "cpu3", "cache #1", "package 0"
  std::optional<CpuId> single;  // its one CPU, when it has one
  int node = -1;                // the NUMA node holding all of it, -1 when it spans nodes
};
struct CandidateList {
  std::vector<std::size_t> indices;  // into Pool::all
  std::vector<std::int32_t> by_cpu;  // CPU id -> index of its single-CPU candidate, -1 none
};
// A list's key: (level, home node or -1, 0 for the node's CPUs / 1 for the
// merged home-then-anywhere list of numa=prefer).
using ListKey = std::tuple<int, int, int>;
struct Pool {
  std::vector<Candidate> all;
  std::map<ListKey, CandidateList> lists;  // a map: lists stay put while more are added
};
// The candidate list for an IRQ at `level` whose home is `home` (-1: none),
// allowed on `allowed` (its node's targets) and, with numa=prefer, `spill`
// (every target; home candidates first, so ties stay home).
const CandidateList& candidate_list(Pool& pool, const topology::Machine& m, core::BalanceLevel level, int home,
                                    const CpuSet& allowed, const CpuSet& spill, std::uint32_t top);

// --- 4. Eligibility: holds, pins, bans, cooldown; the movable items.
struct Item {
  const model::IrqSnapshot* irq = nullptr;
  double load = 0;                 // ns per s
  const Now* now = nullptr;        // where its interrupts land now, and its load there
  std::optional<CpuId> effective;  // the one CPU the kernel delivers it to now
  int home = -1;                   // its device's NUMA node, -1: anywhere
  const CandidateList* list = nullptr;
  std::optional<std::size_t> current;  // candidate it already is on, if any
  bool mandatory = false;              // on a forbidden or powersave CPU, or off its node under strict: must move
};
// A write decided before placement: a pin, or a banned IRQ's mask with the
// forbidden CPUs taken out. It is written whatever the gate says.
struct Forced {
  Move move;
  CpuSet lands_before, lands_after;
  double load = 0;
};
struct Eligible {
  std::vector<Item> items;
  std::vector<Forced> forced;
  std::vector<Hold> held;
  LoadMap base;  // background + every IRQ that does not move (held, pinned, narrowed where it lands after)
  Vectors vectors_now;
  explicit Eligible(std::size_t cpus) : base(cpus), vectors_now(cpus) {}
};
Eligible eligible_items(const model::Snapshot& snap, const State& state, const Policy& policy, const Frame& frame,
                        const LoadsNow& now, Pool& pool);

// --- 5. Placement: where each item should be.
struct Landing {
  std::optional<CpuId> cpu;  // its one CPU, or
  std::size_t spread = 0;    // the candidate it spreads over, when !cpu
};
struct Assignment {
  std::vector<std::size_t> target;  // per item: candidate index
  std::vector<Landing> lands;       // per item
  LoadIndex load;
  Vectors vectors;
  std::vector<std::vector<std::size_t>> on_cpu;  // items landing on one CPU, per CPU
  std::vector<std::size_t> spread_items;         // items spread over a mask
};
// What placement reads, fixed for one plan.
class Placer {
 public:
  Placer(const std::vector<Item>& items, const Pool& pool, const Policy& policy, const Frame& frame,
         const topology::Machine& machine);
  // Longest first onto the cheapest candidate, improved, evened out.
  [[nodiscard]] Assignment fresh(const LoadMap& base, const Vectors& vectors) const;
  // Every IRQ where it runs (or where `unfinished` says), the rest placed
  // longest first, improved, evened out.
  [[nodiscard]] Assignment kept(const LoadMap& base, const Vectors& vectors,
                                const std::map<core::IrqNumber, CpuSet>* unfinished) const;
  // The mandatory items only, each to the cheapest candidate given `load`
  // (loads now, the others staying), heaviest first; other items keep
  // target 0 and an empty landing.
  void place_mandatory(LoadMap load, Vectors vectors, std::vector<std::size_t>& target,
                       std::vector<Landing>& lands) const;
  [[nodiscard]] Landing landing(const Item& item, std::size_t cand, const Vectors& v) const;
  [[nodiscard]] CpuSet lands_set(const Landing& l) const;
  [[nodiscard]] bool in_home(const Item& item, std::size_t cand) const;
  [[nodiscard]] const Candidate& candidate(std::size_t i) const { return pool_.all[i]; }
  void add_load(LoadIndex& load, const Landing& l, double ns) const;
  void add_load(LoadMap& load, const Landing& l, double ns) const;

 private:
  struct Cool;
  [[nodiscard]] std::unique_ptr<Cool> make_cool(const LoadMap& load, double sibling_weight) const;
  [[nodiscard]] double cost(const LoadMap& load, const Item& item, std::size_t cand, const Landing& l) const;
  void place_best(std::size_t idx, LoadMap& load, Vectors& vec, bool prefer_current, std::vector<std::size_t>& target,
                  std::vector<Landing>& lands, Cool* cool) const;
  [[nodiscard]] Assignment assemble(const LoadMap& loads, Vectors vec, std::vector<std::size_t> target,
                                    std::vector<Landing> lands) const;
  void relocate(Assignment& a, std::size_t i, std::size_t cand, const Landing& to) const;
  [[nodiscard]] double max_after_move(const LoadIndex& load, const Landing& from, const Landing& to,
                                      double amount) const;
  struct Swap {
    std::size_t x, cx, y, cy;  // item x to candidate cx, item y to candidate cy
  };
  [[nodiscard]] std::optional<Swap> find_swap(const Assignment& a, CpuId hot, double limit) const;
  void improve(Assignment& a) const;
  void even_out(Assignment& a) const;
  void improve_and_even(Assignment& a) const;

  const std::vector<Item>& items_;
  const Pool& pool_;
  const Policy& policy_;
  const Frame& frame_;
  std::vector<std::vector<CpuId>> siblings_;  // per CPU: its SMT siblings
  // Candidate lists made only of single CPUs of one node: the CPUs, per
  // list, in the order of the first item that uses each (never in pointer
  // order: even_out works through them in turn, and a plan must not depend
  // on where the heap put a list).
  std::vector<std::pair<const CandidateList*, std::vector<CpuId>>> single_lists_;
  std::vector<std::size_t> order_;  // items, heaviest first, then ascending IRQ
};
// Fresh, kept, or finishing last cycle's capped plan: the one with the
// fewest writes that is about as good as fresh.
Assignment choose_target(const Placer& placer, const Eligible& el, const State& state);

// --- 6. Path and cap: the writes from here to the target, in write order,
// each step never raising the hottest CPU (mandatory moves excepted), capped.
enum class StepKind { kMandatory = 0, kRelocate = 1, kNarrow = 2 };  // narrow: already runs inside its target
struct Step {
  std::size_t item = 0;
  std::size_t target = 0;  // candidate
  Landing lands;
  StepKind kind = StepKind::kRelocate;
  double max_before = 0, max_after = 0;  // hottest CPU before and after this step
  double cost_after = 0;                 // the objective after this step (see objective())
  double from_load = 0, to_load = 0;     // hottest CPU it leaves and lands on, before the step
};
struct Path {
  std::vector<Step> steps;
  std::vector<std::size_t> left;  // items pending but not walked (the cap, or a step that never fitted)
  LoadIndex end;                  // loads after every step
};
// `target` gives each item's candidate; `pending` the items to write.
Path walk_path(const Placer& placer, const std::vector<Item>& items, const Frame& frame, const LoadMap& start,
               const Vectors& vectors, const std::vector<std::size_t>& target, std::vector<std::size_t> pending,
               const Policy& policy);
// The items whose target differs from where they are (and the mandatory ones).
std::vector<std::size_t> differing(const Placer& placer, const std::vector<Item>& items,
                                   const std::vector<std::size_t>& target);

// --- 7. The gate: is the path worth its writes?
// The objective a plan lowers: the hottest CPU's load plus the spread (std
// over the CPUs that may take IRQs), ns per s.
double objective(const LoadIndex& load);
struct Gate {
  double floor_ns = 0;       // a plan must gain more than this ...
  double write_cost_ns = 0;  // ... plus this per IRQ it moves
  double noise = -1;         // the measured noise share it was set from
};
Gate gate_for(const Policy& policy, double hottest_ns, double noise);
// How many of the path's steps to take: the whole path when it pays, else
// the prefix that pays most, else only its mandatory steps (the caller then
// places those on their own). A prefix pays when the objective after it is
// below `objective_without` (the objective after the mandatory moves alone,
// placed where loads are lowest now) by more than the floor plus the price
// of its relocations. The count includes the mandatory steps.
std::size_t steps_worth_taking(const Path& path, double objective_without, const Gate& gate);

// --- 8. Moves: each step as a Move with its reason, in write order.
Move move_of(const Step& step, const Item& item, const Placer& placer, const Frame& frame);

std::string pct(double ns_per_s);

}  // namespace irqbpfd::balance::detail
