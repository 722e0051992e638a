// The daemon's configuration: /etc/irqbpfd.conf (TOML), overridden by
// command-line flags, plus irqbalance's IRQBALANCE_BANNED_CPUS/_CPULIST.
// Parsing is pure (text in, DaemonConfig or an error naming the key out);
// rules that match IRQs by number, name, driver or class are resolved
// against each cycle's inventory.
//   interval = 10
//   ban_driver = ["mlx5_core"]
//   [[rule]]
//   name = "eth0-TxRx-*"
//   pin = "2-5"
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/balance/balancer.hpp"
#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/irq_desc.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/tick/tick.hpp"

namespace irqbpfd::daemon {

enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError };
std::string_view to_string(LogLevel level);
std::optional<LogLevel> parse_log_level(std::string_view text);

// A rule: what it matches (every given field must match) and what it does.
struct Rule {
  std::optional<core::IrqNumber> irq;
  std::optional<std::string> name;    // shell glob on the IRQ's name ("eth0-TxRx-*")
  std::optional<std::string> driver;  // the device's driver ("ixgbe")
  std::optional<core::IrqClass> irq_class;
  bool ban = false;                          // leave it alone (off forbidden CPUs only)
  std::optional<core::CpuSet> pin;           // always this mask
  std::optional<core::BalanceLevel> level;   // balance at this level instead of its class's
  std::optional<balance::NumaPolicy> numa;   // strict / prefer for this IRQ
  std::string where;                         // "rule[2]" for messages

  [[nodiscard]] bool matches(const core::IrqDesc& irq) const;
};

struct DaemonConfig {
  double interval_s = 10;
  std::string collector = "auto";  // auto | bpf | proc
  // BPF: time one hardirq handler run in this many (a power of two, 1 to
  // 64); 1 times every run. See collect::BpfOptions.
  std::uint32_t hardirq_sample_every = 1;
  bool dry_run = false;
  bool restore_on_exit = false;
  LogLevel log_level = LogLevel::kInfo;
  // Re-read every IRQ's smp_affinity and effective_affinity this often (in
  // cycles) besides rescans; in between, the masks the writer read back
  // stand (so 2000 IRQs cost 4000 file reads a minute, not a cycle).
  std::uint32_t affinity_refresh_cycles = tick::kDefaultRefreshCycles;
  // Policy: the flags' names.
  std::string numa = "strict";
  std::string banned_cpus;                 // CPU list
  std::vector<std::string> ban_irq;        // numbers or name globs
  std::vector<std::string> ban_driver;
  std::optional<std::uint32_t> powerthresh;
  std::optional<double> min_gain_pct;
  std::optional<double> min_gain_floor_pct;
  std::optional<double> write_cost_pct;  // of one CPU, per IRQ a plan moves
  std::optional<std::uint32_t> cooldown_cycles;
  std::optional<std::uint32_t> max_moves_per_cycle;
  std::vector<Rule> rules;
};

// Pure: `source` names the text in errors ("/etc/irqbpfd.conf: interval:
// expected a number of seconds > 0"). Unknown keys are errors.
core::Result<DaemonConfig> parse_config(std::string_view text, std::string_view source);
// A missing file gives the defaults when `optional` (the default path);
// otherwise it is an error.
core::Result<DaemonConfig> load_config(const std::filesystem::path& file, bool optional);

// The balance policy from a configuration and irqbalance's environment
// variables (nullptr: unset). Errors name the key or variable.
core::Result<balance::Policy> make_policy(const DaemonConfig& config, const char* env_banned_mask,
                                          const char* env_banned_list);

// Rules resolved against one inventory: banned IRQs, pins, NUMA policies and
// level overrides by IRQ number (the first rule that sets a thing wins).
struct Resolved {
  std::map<core::IrqNumber, core::BalanceLevel> levels;
};
// Adds the rules' bans, pins and NUMA policies to `policy` and returns the
// level overrides to apply to the snapshot's IRQs.
Resolved apply_rules(const std::vector<Rule>& rules, const std::vector<core::IrqDesc>& irqs, balance::Policy& policy);
// A tick's rules: `base` with the rules' bans, pins and NUMA policies for
// this inventory, and their levels.
tick::Rules resolve_rules(const std::vector<Rule>& rules, const sys::IrqInventory& inventory, balance::Policy base);

}  // namespace irqbpfd::daemon
