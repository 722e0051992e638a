// Scenario: what the closed-loop simulator runs, as plain data: a topology
// (hwloc synthetic string), IRQs with class, node, rate and cost per
// interrupt, CPU state, policy knobs and events at ticks. Loaded from TOML
// files (tests/sim/scenarios/*.toml); errors name the file and the key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/balance/balancer.hpp"
#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/irq_desc.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"
#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::sim {

struct SimIrq {
  core::IrqNumber irq{};
  std::string name;                   // the action name printed in /proc/interrupts: "eth0-TxRx-0"
  core::IrqClass irq_class = core::IrqClass::kLegacy;
  // Balance level the driver imposes after reading the inventory (as a policy
  // hint would); nullopt: the class's default, as the real inventory gives.
  std::optional<core::BalanceLevel> level;
  int node = -1;                      // the device's NUMA node (-1: none)
  double interrupts_per_s = 0;        // rate
  double cost_ns = 1000;              // CPU time per interrupt (handler + the softirq it raises)
  double softirq_share = 0;           // part of cost_ns spent in softirq (0..1)
  core::CpuSet affinity;              // initial smp_affinity
  bool managed = false;               // kernel-managed: smp_affinity mode 0444
  // The PCI device that owns it ("0000:03:00.0"); IRQs with the same device
  // share it. Empty: legacy and virt-event IRQs have none; other classes get
  // one device per IRQ.
  std::string device;
  std::string driver;                 // "" picks one from the class ("ixgbe", "nvme", ...)
  bool present_at_start = true;       // false when its first lifecycle event is "irq-appears"
};

enum class EventKind {
  kRate,         // irq's rate becomes `rate`
  kCost,         // irq's cost per interrupt becomes `cost_ns`
  kBurst,        // irq's rate times `factor` for `duration_ticks` ticks
  kHot,          // irq's rate times `factor` from now on (a NIC queue going hot)
  kCpuOffline,   // `cpu` goes offline
  kCpuOnline,    // `cpu` comes back
  kIrqAppears,   // irq is allocated (its /proc rows and files appear)
  kIrqVanishes,  // irq is freed
};
std::string_view to_string(EventKind kind);  // "rate", "cost", "burst", "hot", "cpu-offline", ...

struct SimEvent {
  std::uint32_t at_tick = 0;  // applied at the start of this tick, before it counts
  EventKind kind = EventKind::kRate;
  std::optional<core::IrqNumber> irq;
  std::optional<core::CpuId> cpu;
  double rate = 0;
  double cost_ns = 0;
  double factor = 1;
  std::uint32_t duration_ticks = 1;
};

struct Scenario {
  std::string name;                 // file stem unless given
  std::string description;
  std::string topology;             // hwloc synthetic: "pack:2 [numa] l3:2 core:8 pu:2" ("capture DIR" with capture)
  // Or a real machine's /sys capture (an unpacked root, e.g. one of
  // ../shared/machines/hwloc-linux), loaded with hwloc; relative to the file.
  std::optional<std::filesystem::path> capture;
  std::uint32_t ticks = 30;
  double tick_s = 10;               // window per tick, seconds
  double noise_pct = 0;             // +- uniform noise on every IRQ's count per tick
  std::uint64_t seed = 1;
  core::CpuSet offline;             // CPUs offline at the start
  core::CpuSet isolated;            // /sys/devices/system/cpu/isolated
  core::CpuSet nohz_full;
  balance::Policy policy;
  std::vector<SimIrq> irqs;         // ascending IRQ number
  std::vector<SimEvent> events;     // ascending tick, file order within a tick
};

// Pure: `source` names the text in errors ("burst.toml: irq[2].rate: expected
// a number").
// `base_dir` resolves a relative `capture` (load_scenario passes the file's
// directory).
core::Result<Scenario> parse_scenario(std::string_view text, std::string_view source, std::string_view base_dir = {});
// The scenario's topology: its synthetic string or its capture, through hwloc.
core::Result<topology::Machine> scenario_machine(const Scenario& s);
core::Result<Scenario> load_scenario(const std::filesystem::path& file);

}  // namespace irqbpfd::sim
