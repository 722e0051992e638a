// The example /etc/irqbpfd.conf (scripts/packaging/irqbpfd.conf): as shipped
// it is valid TOML that sets nothing, so installing it changes no default;
// with every example line uncommented ("#key = value", a single '#' and no
// space) it is still valid TOML, names exactly the documented keys with the
// documented types and the defaults the CLI and balancer use.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include "irqbpfd/daemon/config.hpp"

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kConfPath = std::string(IRQBPFD_SOURCE_DIR) + "/scripts/packaging/irqbpfd.conf";

// "#interval = 10.0" -> "interval = 10.0"; "#" alone -> ""; "# prose" stays.
std::string uncomment_examples(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line == "#") {
      line.clear();
    } else if (line.size() > 1 && line[0] == '#' && line[1] != ' ' && line[1] != '#') {
      line.erase(0, 1);
    }
    out += line;
    out += '\n';
  }
  return out;
}

toml::table parse_or_fail(const std::string& text, const std::string& what) {
  try {
    return toml::parse(text, what);
  } catch (const toml::parse_error& e) {
    ADD_FAILURE() << what << ": " << e.description() << " at line " << e.source().begin.line;
    return {};
  }
}

TEST(PackageConf, ShippedFileIsValidTomlAndSetsNothing) {
  const std::string text = read_file(kConfPath);
  ASSERT_FALSE(text.empty()) << kConfPath;
  const toml::table conf = parse_or_fail(text, kConfPath);
  EXPECT_TRUE(conf.empty()) << "the shipped config must leave every default alone";
}

TEST(PackageConf, UncommentedExamplesUseExactlyTheDocumentedKeys) {
  const toml::table conf = parse_or_fail(uncomment_examples(read_file(kConfPath)), "uncommented irqbpfd.conf");
  const std::set<std::string> expected = {"interval",    "collector",      "hardirq_sample_every", "dry_run", "restore_on_exit",
                                          "log_level",   "numa",           "banned_cpus",     "ban_irq",
                                          "ban_driver",  "powerthresh",    "min_gain_pct",    "min_gain_floor_pct",
                                          "write_cost_pct", "cooldown_cycles",
                                          "max_moves_per_cycle", "affinity_refresh_cycles", "rule"};
  std::set<std::string> keys;
  for (const auto& [key, value] : conf) keys.insert(std::string(key.str()));
  EXPECT_EQ(keys, expected);

  // The defaults, as the CLI (--interval 10, --collector auto, ...) and
  // balance::Policy (min_gain_pct 10, cooldown 3, 1024 moves) have them.
  EXPECT_EQ(conf["interval"].value<double>(), 10.0);
  EXPECT_EQ(conf["collector"].value<std::string>(), "auto");
  EXPECT_EQ(conf["hardirq_sample_every"].value<int64_t>(), 1);
  EXPECT_EQ(conf["dry_run"].value<bool>(), false);
  EXPECT_EQ(conf["restore_on_exit"].value<bool>(), false);
  EXPECT_EQ(conf["log_level"].value<std::string>(), "info");
  EXPECT_EQ(conf["numa"].value<std::string>(), "strict");
  EXPECT_EQ(conf["banned_cpus"].value<std::string>(), "");
  ASSERT_TRUE(conf["ban_irq"].is_array());
  EXPECT_TRUE(conf["ban_irq"].as_array()->empty());
  ASSERT_TRUE(conf["ban_driver"].is_array());
  EXPECT_TRUE(conf["ban_driver"].as_array()->empty());
  EXPECT_EQ(conf["powerthresh"].value<int64_t>(), 0);
  EXPECT_EQ(conf["min_gain_pct"].value<double>(), 10.0);
  EXPECT_EQ(conf["min_gain_floor_pct"].value<double>(), 2.0);
  EXPECT_EQ(conf["write_cost_pct"].value<double>(), 0.005);
  EXPECT_EQ(conf["cooldown_cycles"].value<int64_t>(), 3);
  EXPECT_EQ(conf["max_moves_per_cycle"].value<int64_t>(), 1024);
  EXPECT_EQ(conf["affinity_refresh_cycles"].value<int64_t>(), 60);
}

// The daemon's own parser takes the file as shipped and with every example
// uncommented, and the defaults it documents are the daemon's defaults.
TEST(PackageConf, TheDaemonParsesItAndItsDefaultsAreTheDaemons) {
  const std::string text = read_file(kConfPath);
  auto shipped = irqbpfd::daemon::parse_config(text, kConfPath);
  ASSERT_TRUE(shipped) << shipped.error().message;
  auto examples = irqbpfd::daemon::parse_config(uncomment_examples(text), "uncommented irqbpfd.conf");
  ASSERT_TRUE(examples) << examples.error().message;
  const irqbpfd::daemon::DaemonConfig defaults;
  EXPECT_EQ(examples->interval_s, defaults.interval_s);
  EXPECT_EQ(examples->collector, defaults.collector);
  EXPECT_EQ(examples->affinity_refresh_cycles, defaults.affinity_refresh_cycles);
  const irqbpfd::balance::Policy policy;
  EXPECT_EQ(examples->min_gain_pct.value_or(-1), policy.min_gain_pct);
  EXPECT_EQ(examples->min_gain_floor_pct.value_or(-1), policy.min_gain_floor_pct);
  EXPECT_EQ(static_cast<std::uint64_t>(examples->write_cost_pct.value_or(-1) / 100.0 * 1e9 + 0.5), policy.write_cost_ns);
  EXPECT_EQ(examples->cooldown_cycles.value_or(0), policy.cooldown_cycles);
  EXPECT_EQ(examples->max_moves_per_cycle.value_or(0), policy.max_moves_per_cycle);
  EXPECT_FALSE(examples->rules.empty());
}

TEST(PackageConf, ExampleRulesMatchAndActWithDocumentedKeys) {
  const toml::table conf = parse_or_fail(uncomment_examples(read_file(kConfPath)), "uncommented irqbpfd.conf");
  const toml::array* rules = conf["rule"].as_array();
  ASSERT_NE(rules, nullptr) << "[[rule]] examples";
  ASSERT_FALSE(rules->empty());
  const std::set<std::string> match = {"irq", "name", "driver", "class"};
  const std::set<std::string> action = {"ban", "pin", "level", "numa"};
  const std::set<std::string> classes = {"other",         "legacy",          "storage",   "video", "ethernet",
                                         "gbit-ethernet", "10gbit-ethernet", "virt-event"};
  for (std::size_t i = 0; i < rules->size(); ++i) {
    const toml::table* rule = rules->get(i)->as_table();
    ASSERT_NE(rule, nullptr) << "rule " << i;
    int matches = 0, actions = 0;
    for (const auto& [key, value] : *rule) {
      const std::string k(key.str());
      if (match.count(k) != 0) {
        ++matches;
      } else if (action.count(k) != 0) {
        ++actions;
      } else {
        ADD_FAILURE() << "rule " << i << ": unknown key " << k;
      }
    }
    EXPECT_GE(matches, 1) << "rule " << i << " matches nothing";
    EXPECT_GE(actions, 1) << "rule " << i << " does nothing";
    if (auto c = (*rule)["class"].value<std::string>()) {
      EXPECT_EQ(classes.count(*c), 1u) << *c;
    }
    if (auto l = (*rule)["level"].value<std::string>()) {
      EXPECT_TRUE(*l == "none" || *l == "package" || *l == "cache" || *l == "core") << *l;
    }
    if (auto n = (*rule)["numa"].value<std::string>()) {
      EXPECT_TRUE(*n == "strict" || *n == "prefer") << *n;
    }
    if (rule->contains("ban")) {
      EXPECT_EQ((*rule)["ban"].value<bool>(), true);
    }
    if (rule->contains("pin")) {
      EXPECT_TRUE((*rule)["pin"].is_string());
    }
  }
}

}  // namespace
