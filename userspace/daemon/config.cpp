// /etc/irqbpfd.conf: TOML -> DaemonConfig, every key checked (unknown keys
// and bad values are errors naming the key), the policy built from it, and
// [[rule]] tables resolved against an inventory.
#include "irqbpfd/daemon/config.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include "irqbpfd/collect/bpf_programs.hpp"
#include "irqbpfd/core/toml_keys.hpp"

namespace irqbpfd::daemon {
namespace {

using core::Error;
using core::Result;

constexpr std::array<std::pair<LogLevel, std::string_view>, 5> kLevels{{{LogLevel::kDebug, "debug"},
                                                                        {LogLevel::kInfo, "info"},
                                                                        {LogLevel::kNotice, "notice"},
                                                                        {LogLevel::kWarning, "warning"},
                                                                        {LogLevel::kError, "error"}}};

using Table = core::TomlKeys;
#define CFG_TRY IRQBPFD_TRY

Result<balance::NumaPolicy> parse_numa(Table& t, std::string_view key, const std::string& text) {
  if (text == "strict") return balance::NumaPolicy::kStrict;
  if (text == "prefer") return balance::NumaPolicy::kPrefer;
  return t.error(key, fmt::format("expected \"strict\" or \"prefer\", found \"{}\"", text));
}

Result<Rule> parse_rule(const toml::table& tt, std::size_t index, std::string_view source) {
  Table t(tt, fmt::format("rule[{}].", index), source);
  Rule r;
  r.where = fmt::format("rule[{}]", index);
  if (const toml::node* n = t.get("irq")) {
    if (!n->is_integer() || *n->value<std::int64_t>() < 0 || *n->value<std::int64_t>() > 0xffffffLL) {
      return t.error("irq", "expected an IRQ number");
    }
    r.irq = core::irq_number(static_cast<std::uint32_t>(*n->value<std::int64_t>()));
  }
  CFG_TRY(name, t.string("name"));
  r.name = name;
  CFG_TRY(driver, t.string("driver"));
  r.driver = driver;
  CFG_TRY(cls, t.string("class"));
  if (cls) {
    auto c = core::parse_irq_class(*cls);
    if (!c) return t.error("class", fmt::format("unknown IRQ class \"{}\"", *cls));
    r.irq_class = *c;
  }
  if (!r.irq && !r.name && !r.driver && !r.irq_class) {
    return t.error("", "matches nothing: give irq, name, driver or class");
  }
  CFG_TRY(ban, t.boolean("ban"));
  r.ban = ban.value_or(false);
  CFG_TRY(pin, t.string("pin"));
  if (pin) {
    auto cpus = core::CpuSet::parse_list(*pin);
    if (!cpus) return t.error("pin", cpus.error().message);
    if (cpus->empty()) return t.error("pin", "an empty CPU list");
    r.pin = *cpus;
  }
  CFG_TRY(level, t.string("level"));
  if (level) {
    auto l = core::parse_balance_level(*level);
    if (!l) return t.error("level", fmt::format("expected none, package, cache or core, found \"{}\"", *level));
    r.level = *l;
  }
  CFG_TRY(numa, t.string("numa"));
  if (numa) {
    CFG_TRY(n, parse_numa(t, "numa", *numa));
    r.numa = n;
  }
  if (!r.ban && !r.pin && !r.level && !r.numa) return t.error("", "does nothing: give ban, pin, level or numa");
  if (r.ban && r.pin) return t.error("pin", "a rule cannot both ban and pin");
  if (auto u = t.no_unknown_keys(); !u) return u.error();
  return r;
}

}  // namespace

std::string_view to_string(LogLevel level) {
  for (const auto& [l, name] : kLevels) {
    if (l == level) return name;
  }
  return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
  for (const auto& [l, name] : kLevels) {
    if (name == text) return l;
  }
  return std::nullopt;
}

bool Rule::matches(const core::IrqDesc& d) const {
  if (irq && *irq != d.irq) return false;
  if (name && fnmatch(name->c_str(), d.name.c_str(), 0) != 0) return false;
  if (driver && *driver != d.driver) return false;
  if (irq_class && *irq_class != d.irq_class) return false;
  return true;
}

Result<DaemonConfig> parse_config(std::string_view text, std::string_view source) {
  CFG_TRY(root, core::parse_toml(text, source));
  Table t(root, "", source);
  DaemonConfig c;
  CFG_TRY(interval, t.number("interval"));
  if (interval) {
    if (!std::isfinite(*interval) || *interval <= 0 || *interval > 86400) {
      return t.error("interval", "expected a number of seconds within (0, 86400]");
    }
    c.interval_s = *interval;
  }
  CFG_TRY(collector, t.string("collector"));
  if (collector) {
    if (*collector != "auto" && *collector != "bpf" && *collector != "proc") {
      return t.error("collector", fmt::format("expected \"auto\", \"bpf\" or \"proc\", found \"{}\"", *collector));
    }
    c.collector = *collector;
  }
  CFG_TRY(sample_every, t.count("hardirq_sample_every"));
  if (sample_every) {
    if (auto bad = collect::check_hardirq_sample_every(*sample_every); !bad.empty()) {
      return t.error("hardirq_sample_every", bad);
    }
    c.hardirq_sample_every = static_cast<std::uint32_t>(*sample_every);
  }
  CFG_TRY(dry_run, t.boolean("dry_run"));
  c.dry_run = dry_run.value_or(false);
  CFG_TRY(restore, t.boolean("restore_on_exit"));
  c.restore_on_exit = restore.value_or(false);
  CFG_TRY(level, t.string("log_level"));
  if (level) {
    auto l = parse_log_level(*level);
    if (!l) return t.error("log_level", fmt::format("expected debug, info, notice, warning or error, found \"{}\"", *level));
    c.log_level = *l;
  }
  CFG_TRY(refresh, t.count("affinity_refresh_cycles"));
  if (refresh) {
    if (*refresh == 0) return t.error("affinity_refresh_cycles", "must be at least 1");
    c.affinity_refresh_cycles = *refresh;
  }
  CFG_TRY(numa, t.string("numa"));
  if (numa) {
    CFG_TRY(n, parse_numa(t, "numa", *numa));
    (void)n;
    c.numa = *numa;
  }
  CFG_TRY(banned, t.string("banned_cpus"));
  if (banned) {
    if (auto cpus = core::CpuSet::parse_list(*banned); !cpus) return t.error("banned_cpus", cpus.error().message);
    c.banned_cpus = *banned;
  }
  CFG_TRY(ban_irq, t.strings("ban_irq"));
  c.ban_irq = std::move(ban_irq);
  for (const auto& b : c.ban_irq) {
    if (b.empty()) return t.error("ban_irq", "an empty entry");
  }
  CFG_TRY(ban_driver, t.strings("ban_driver"));
  c.ban_driver = std::move(ban_driver);
  CFG_TRY(power, t.count("powerthresh"));
  c.powerthresh = power;
  CFG_TRY(gain, t.number("min_gain_pct"));
  if (gain && (*gain < 0 || *gain > 100)) return t.error("min_gain_pct", "must be within 0..100");
  c.min_gain_pct = gain;
  CFG_TRY(floor, t.number("min_gain_floor_pct"));
  if (floor && (*floor < 0 || *floor > 100)) return t.error("min_gain_floor_pct", "must be within 0..100");
  c.min_gain_floor_pct = floor;
  CFG_TRY(write_cost, t.number("write_cost_pct"));
  if (write_cost && (*write_cost < 0 || *write_cost > 100)) return t.error("write_cost_pct", "must be within 0..100");
  c.write_cost_pct = write_cost;
  CFG_TRY(cooldown, t.count("cooldown_cycles"));
  c.cooldown_cycles = cooldown;
  CFG_TRY(moves, t.count("max_moves_per_cycle"));
  if (moves && *moves == 0) return t.error("max_moves_per_cycle", "must be at least 1");
  c.max_moves_per_cycle = moves;
  CFG_TRY(rule_tables, t.tables("rule"));
  for (std::size_t i = 0; i < rule_tables.size(); ++i) {
    CFG_TRY(rule, parse_rule(*rule_tables[i], i, source));
    c.rules.push_back(std::move(rule));
  }
  if (auto u = t.no_unknown_keys(); !u) return u.error();
  return c;
}

Result<DaemonConfig> load_config(const std::filesystem::path& file, bool optional) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int err = errno != 0 ? errno : ENOENT;
    if (optional && err == ENOENT) return DaemonConfig{};
    return core::errno_error(file.string(), err);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), file.string());
}

Result<balance::Policy> make_policy(const DaemonConfig& c, const char* env_banned_mask, const char* env_banned_list) {
  balance::Policy policy;
  policy.numa = c.numa == "prefer" ? balance::NumaPolicy::kPrefer : balance::NumaPolicy::kStrict;
  if (c.numa != "prefer" && c.numa != "strict") {
    return Error{fmt::format("numa: '{}' is not strict or prefer", c.numa)};
  }
  auto env = balance::banned_cpus_from_env(env_banned_mask, env_banned_list);
  if (!env) return env.error();
  policy.banned_cpus = *env;
  if (!c.banned_cpus.empty()) {
    auto cpus = core::CpuSet::parse_list(c.banned_cpus);
    if (!cpus) return cpus.error().with_context("banned_cpus");
    policy.banned_cpus |= *cpus;
  }
  for (const auto& ban : c.ban_irq) {
    std::uint32_t n = 0;
    auto [ptr, ec] = std::from_chars(ban.data(), ban.data() + ban.size(), n);
    if (ec == std::errc() && ptr == ban.data() + ban.size()) {
      policy.banned_irqs.insert(core::irq_number(n));
    } else if (!ban.empty()) {
      policy.banned_names.push_back(ban);
    } else {
      return Error{"ban_irq: empty value"};
    }
  }
  policy.banned_drivers = c.ban_driver;
  // powerthresh = 0 is irqbalance's "off".
  if (c.powerthresh && *c.powerthresh > 0) policy.power_threshold = c.powerthresh;
  if (c.min_gain_pct) policy.min_gain_pct = *c.min_gain_pct;
  if (c.min_gain_floor_pct) policy.min_gain_floor_pct = *c.min_gain_floor_pct;
  if (c.write_cost_pct) policy.write_cost_ns = static_cast<std::uint64_t>(*c.write_cost_pct / 100.0 * 1e9 + 0.5);
  if (c.cooldown_cycles) policy.cooldown_cycles = *c.cooldown_cycles;
  if (c.max_moves_per_cycle) policy.max_moves_per_cycle = *c.max_moves_per_cycle;
  return policy;
}

Resolved apply_rules(const std::vector<Rule>& rules, const std::vector<core::IrqDesc>& irqs, balance::Policy& policy) {
  Resolved out;
  for (const core::IrqDesc& d : irqs) {
    bool banned = false, pinned = false, numa = false, level = false;
    for (const Rule& r : rules) {
      if (!r.matches(d)) continue;
      if (r.ban && !banned && !pinned) {
        policy.banned_irqs.insert(d.irq);
        banned = true;
      }
      if (r.pin && !pinned && !banned) {
        policy.pinned[d.irq] = *r.pin;
        pinned = true;
      }
      if (r.numa && !numa) {
        policy.numa_of[d.irq] = *r.numa;
        numa = true;
      }
      if (r.level && !level) {
        out.levels[d.irq] = *r.level;
        level = true;
      }
    }
  }
  return out;
}

}  // namespace irqbpfd::daemon

namespace irqbpfd::daemon {

tick::Rules resolve_rules(const std::vector<Rule>& rules, const sys::IrqInventory& inventory, balance::Policy base) {
  tick::Rules out;
  out.policy = std::move(base);
  out.levels = apply_rules(rules, inventory.irqs, out.policy).levels;
  return out;
}

}  // namespace irqbpfd::daemon
