// TomlKeys: reads typed keys out of one TOML table (toml++) for the project's
// file formats (scenarios, /etc/irqbpfd.conf), remembering which keys were
// read so the rest can be reported as unknown, and naming the file, the
// table and the key in every error:
//   "burst.toml: event[1].irq: expected an integer"
// Header-only: only the modules that parse TOML include it.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/result.hpp"

namespace irqbpfd::core {

class TomlKeys {
 public:
  // `prefix` names the table in errors ("rule[2]." or "" at the top).
  TomlKeys(const toml::table& table, std::string prefix, std::string_view source)
      : table_(table), prefix_(std::move(prefix)), source_(source) {}

  [[nodiscard]] Error error(std::string_view key, const std::string& what) const {
    return Error{fmt::format("{}: {}{}: {}", source_, prefix_, key, what)};
  }
  const toml::node* get(std::string_view key) {
    used_.insert(std::string(key));
    return table_.get(key);
  }
  Result<std::optional<std::string>> string(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::optional<std::string>();
    if (!n->is_string()) return error(key, "expected a string");
    return std::optional<std::string>(*n->value<std::string>());
  }
  Result<std::optional<double>> number(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::optional<double>();
    if (n->is_integer()) return std::optional<double>(static_cast<double>(*n->value<std::int64_t>()));
    if (n->is_floating_point()) return std::optional<double>(*n->value<double>());
    return error(key, "expected a number");
  }
  Result<std::optional<std::int64_t>> integer(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::optional<std::int64_t>();
    if (!n->is_integer()) return error(key, "expected an integer");
    return std::optional<std::int64_t>(*n->value<std::int64_t>());
  }
  // A whole number within 0..2^32-1.
  Result<std::optional<std::uint32_t>> count(std::string_view key) {
    auto v = integer(key);
    if (!v) return v.error();
    if (!*v) return std::optional<std::uint32_t>();
    if (**v < 0 || **v > 0xffffffffLL) return error(key, fmt::format("{} is out of range", **v));
    return std::optional<std::uint32_t>(static_cast<std::uint32_t>(**v));
  }
  Result<std::optional<bool>> boolean(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::optional<bool>();
    if (!n->is_boolean()) return error(key, "expected true or false");
    return std::optional<bool>(*n->value<bool>());
  }
  // A CPU list string ("0-3,8") or one CPU number.
  Result<std::optional<CpuSet>> cpus(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::optional<CpuSet>();
    if (n->is_integer()) {
      const std::int64_t v = *n->value<std::int64_t>();
      if (v < 0) return error(key, "expected a CPU number >= 0");
      return std::optional<CpuSet>(CpuSet{static_cast<std::uint32_t>(v)});
    }
    if (!n->is_string()) return error(key, "expected a CPU list string (\"0-3,8\") or a CPU number");
    auto set = CpuSet::parse_list(*n->value<std::string>());
    if (!set) return error(key, set.error().message);
    return std::optional<CpuSet>(std::move(*set));
  }
  // An array of strings (numbers are taken as their decimal text).
  Result<std::vector<std::string>> strings(std::string_view key) {
    std::vector<std::string> out;
    const toml::node* n = get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) return error(key, "expected an array of strings or numbers");
    for (const toml::node& e : *a) {
      if (e.is_string()) {
        out.push_back(*e.value<std::string>());
      } else if (e.is_integer() && *e.value<std::int64_t>() >= 0) {
        out.push_back(std::to_string(*e.value<std::int64_t>()));
      } else {
        return error(key, "expected an array of strings or numbers");
      }
    }
    return out;
  }
  // The tables of an array of tables ([[name]]), or none.
  Result<std::vector<const toml::table*>> tables(std::string_view key) {
    std::vector<const toml::table*> out;
    const toml::node* n = get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) return error(key, fmt::format("expected [[{}]] tables", key));
    for (const toml::node& e : *a) {
      const toml::table* t = e.as_table();
      if (t == nullptr) return error(key, fmt::format("expected [[{}]] tables", key));
      out.push_back(t);
    }
    return out;
  }
  [[nodiscard]] Result<void> no_unknown_keys() const {
    for (const auto& [key, value] : table_) {
      if (used_.count(std::string(key.str())) == 0) return error(key.str(), "unknown key");
    }
    return {};
  }

 private:
  const toml::table& table_;
  std::string prefix_;
  std::string_view source_;
  std::set<std::string> used_;
};

// Parses TOML text; a syntax error names "source:line:column".
inline Result<toml::table> parse_toml(std::string_view text, std::string_view source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Error{fmt::format("{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column, e.description())};
  }
}

// Unwraps a Result into `var` or returns its error from the caller.
#define IRQBPFD_TRY(var, expr)          \
  auto var##_r = (expr);                \
  if (!var##_r) return var##_r.error(); \
  auto var = std::move(*var##_r)

}  // namespace irqbpfd::core
