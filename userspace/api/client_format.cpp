// irqbpfctl's texts from the API's JSON. Required fields are read with at()
// and a missing or mistyped one becomes an Error at each formatter's edge
// (nlohmann throws; nothing escapes); optional ones print as "-".
#include "irqbpfd/api/client_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "irqbpfd/core/text_table.hpp"

namespace irqbpfd::api {
namespace {

using core::Error;
using core::Result;
using core::TextTable;
using Align = TextTable::Align;

// Runs a formatter, turning nlohmann's exceptions into an Error
// ("unexpected answer from irqbpfd: key 'cpus' not found").
template <class F>
Result<std::string> guarded(F&& format) {
  try {
    return format();
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (const auto close = what.find("] "); what.rfind("[json.exception", 0) == 0 && close != std::string::npos) {
      what = what.substr(close + 2);
    }
    return Error{"unexpected answer from irqbpfd: " + what};
  }
}

const Json* field(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

// A JSON number as people write it: 5, 2.5.
std::string number_text(const Json& v) {
  if (v.is_number_float()) return fmt::format("{:g}", v.get<double>());
  return v.dump();
}

// An optional field as text: strings as they are, numbers and booleans as
// JSON prints them, "-" when absent or null.
std::string text(const Json& j, const char* key) {
  const Json* v = field(j, key);
  if (v == nullptr) return "-";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_boolean()) return v->get<bool>() ? "yes" : "no";
  return v->is_number() ? number_text(*v) : v->dump();
}

bool flag(const Json& j, const char* key) {
  const Json* v = field(j, key);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

// "key  value" lines, keys padded to the longest.
std::string key_values(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  std::string out;
  for (const auto& [k, v] : rows) out += fmt::format("{:<{}}  {}\n", k, width, v);
  return out;
}

// Array elements sorted by an unsigned key field ("irq", "cpu").
std::vector<const Json*> sorted_by(const Json& array, const char* key) {
  std::vector<const Json*> out;
  for (const auto& e : array) out.push_back(&e);
  std::stable_sort(out.begin(), out.end(),
                   [key](const Json* a, const Json* b) { return a->at(key).get<std::uint64_t>() < b->at(key).get<std::uint64_t>(); });
  return out;
}

// Sum of a {"HI": ns, ...} map; nullopt when null.
std::optional<std::uint64_t> vector_sum(const Json& j, const char* key) {
  const Json* v = field(j, key);
  if (v == nullptr || !v->is_object()) return std::nullopt;
  std::uint64_t sum = 0;
  for (const auto& [name, ns] : v->items()) sum += ns.is_number() ? ns.get<std::uint64_t>() : 0;
  return sum;
}

std::string cpu_text(std::optional<std::uint32_t> cpu) { return cpu ? std::to_string(*cpu) : "-"; }

}  // namespace

std::optional<std::uint64_t> json_u64(const Json& j, const char* key) {
  const Json* v = field(j, key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<std::uint64_t>();
  const double d = v->get<double>();
  return d < 0 ? std::nullopt : std::optional<std::uint64_t>(static_cast<std::uint64_t>(d));
}

std::optional<std::uint32_t> busiest_cpu(const Json& irq) {
  const Json* per_cpu = field(irq, "per_cpu");
  if (per_cpu == nullptr || !per_cpu->is_array()) return std::nullopt;
  std::optional<std::uint32_t> best_cpu;
  std::uint64_t best = 0;
  for (const auto& pc : *per_cpu) {
    const std::uint64_t n = json_u64(pc, "count").value_or(0);
    if (n > best) {
      best = n;
      best_cpu = pc.at("cpu").get<std::uint32_t>();
    }
  }
  return best_cpu;
}

Result<Json> parse_body(std::string_view body) {
  Json parsed = Json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    std::string start(body.substr(0, std::min(body.find('\n'), std::size_t{60})));
    return Error{fmt::format("unexpected answer from irqbpfd: not JSON ('{}')", start)};
  }
  return parsed;
}

std::string format_json(std::string_view body) {
  const Json parsed = Json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return std::string(body);
  return parsed.dump(2) + "\n";
}

Result<std::string> format_cpu_summary(const Json& body) {
  return guarded([&]() -> Result<std::string> {
    std::string out = fmt::format("Interrupt handled by CPU in last {} seconds\n", number_text(body.at("second")));
    for (const Json* c : sorted_by(body.at("cpus"), "cpu")) {
      out += fmt::format("CPU{}: {}\n", c->at("cpu").get<std::uint64_t>(), c->at("interrupts").get<std::uint64_t>());
    }
    return out;
  });
}

std::string format_set_affinity_ok(std::uint32_t irq) { return fmt::format("Successfully set affinity for IRQ {}\n", irq); }

std::string format_set_affinity_failed(std::uint32_t irq, std::string_view error) {
  return fmt::format("Failed to set affinity for IRQ {}: {}\n", irq, error);
}

Result<std::string> format_status(const Json& body) {
  return guarded([&]() -> Result<std::string> {
    std::string state = body.at("state").get<std::string>();
    if (flag(body, "dry_run")) state += " (dry run: plans only, writes nothing)";
    std::string collector = text(body, "collector");
    if (const Json* why = field(body, "collector_fallback_reason")) collector += fmt::format(" (fallback: {})", why->get<std::string>());
    if (const Json* every = field(body, "hardirq_sample_every"); every != nullptr && every->get<std::uint64_t>() > 1) {
      collector += fmt::format(", handler time sampled 1 in {}", every->get<std::uint64_t>());
    }
    std::string cycle = text(body, "cycle");
    if (const Json* s = field(body, "interval_s")) cycle += fmt::format(", every {:g} s", s->get<double>());
    if (const Json* ms = field(body, "cycle_ms")) cycle += fmt::format(", the last took {:.1f} ms", ms->get<double>());
    std::string pinned;
    if (const Json* pins = field(body, "pinned")) {
      for (const Json* p : sorted_by(*pins, "irq")) {
        pinned += fmt::format("{}{} -> {}", pinned.empty() ? "" : ", ", p->at("irq").get<std::uint64_t>(), p->at("cpus").get<std::string>());
      }
    }
    std::string banned;
    if (const Json* bans = field(body, "banned")) {
      std::vector<std::uint64_t> irqs;
      for (const auto& b : *bans) irqs.push_back(b.get<std::uint64_t>());
      std::sort(irqs.begin(), irqs.end());
      for (auto irq : irqs) banned += fmt::format("{}{}", banned.empty() ? "" : ", ", irq);
    }
    return key_values({{"version", text(body, "version")},
                       {"state", state},
                       {"collector", collector},
                       {"cycle", cycle},
                       {"rescans", text(body, "rescans")},
                       {"moves", fmt::format("{} written, {} failed", text(body, "moves_total"), text(body, "writes_failed_total"))},
                       {"plan", text(body, "plan_summary")},
                       {"pinned", pinned.empty() ? "none" : pinned},
                       {"banned", banned.empty() ? "none" : banned}});
  });
}

Result<std::string> format_irqs(const Json& body) {
  return guarded([&]() -> Result<std::string> {
    const double window_s = body.at("window_s").get<double>();
    const Json& irqs = body.at("irqs");
    bool estimated = false;
    TextTable t;
    for (const char* h : {"IRQ", "NAME", "CLASS", "CPU", "IRQ/S", "LOAD%"}) {
      t.add_column(h, std::string_view(h) == "NAME" || std::string_view(h) == "CLASS" ? Align::kLeft : Align::kRight);
    }
    for (const char* h : {"AFFINITY", "EFFECTIVE", "PLANNED", "VERDICT"}) t.add_column(h, Align::kLeft);
    for (const Json* irq : sorted_by(irqs, "irq")) {
      const bool est = flag(*irq, "load_estimated");
      estimated = estimated || est;
      const double count = static_cast<double>(json_u64(*irq, "count").value_or(0));
      std::string affinity = text(*irq, "smp_affinity");
      if (flag(*irq, "managed")) affinity += " (managed)";
      t.add_row({std::to_string(irq->at("irq").get<std::uint64_t>()), text(*irq, "name"), text(*irq, "class"), cpu_text(busiest_cpu(*irq)),
                 window_s > 0 ? rate_text(count / window_s) : "-", core::load_pct_text(json_u64(*irq, "load_ns"), window_s, est),
                 affinity, text(*irq, "effective_affinity"), text(*irq, "planned_affinity"), text(*irq, "verdict")});
    }
    std::string out = fmt::format("{} IRQs, collector {}, window {:.2f} s{}\n", irqs.size(), text(body, "collector"), window_s,
                                  estimated ? "; '~': load estimated from /proc/stat" : "");
    return out + t.render();
  });
}

Result<std::string> format_cpus(const Json& body) {
  return guarded([&]() -> Result<std::string> {
    TextTable t;
    for (const char* h : {"CPU", "NODE", "PKG", "CORE"}) t.add_column(h, Align::kRight);
    t.add_column("STATE", Align::kLeft);
    for (const char* h : {"IRQS", "SYSTEM", "IRQ TIME", "SOFTIRQ", "SOFTIRQ(BPF)", "UNATTRIBUTED"}) t.add_column(h, Align::kRight);
    for (const Json* c : sorted_by(body.at("cpus"), "cpu")) {
      std::string state = flag(*c, "online") ? "online" : "offline";
      if (flag(*c, "isolated")) state += ",isolated";
      if (flag(*c, "nohz_full")) state += ",nohz_full";
      const std::string node = json_u64(*c, "node") ? text(*c, "node") : "-";  // -1: unknown
      t.add_row({std::to_string(c->at("cpu").get<std::uint64_t>()), node, text(*c, "package"), text(*c, "core"), state,
                 text(*c, "interrupts"), text(*c, "system_interrupts"), core::duration_text(json_u64(*c, "irq_ns")),
                 core::duration_text(json_u64(*c, "softirq_ns")), core::duration_text(vector_sum(*c, "softirq_vector_ns")),
                 core::duration_text(vector_sum(*c, "softirq_unattributed_ns"))});
    }
    return t.render();
  });
}

Result<std::string> format_plan(const Json& body) {
  return guarded([&]() -> Result<std::string> {
    const Json& moves = body.at("plan");
    const bool dry_run = flag(body, "dry_run");
    std::string out = fmt::format("Plan{}: {}\n", dry_run ? " (dry run)" : "", text(body, "plan_summary"));
    if (!moves.empty()) {
      TextTable t;
      t.add_column("IRQ", Align::kRight);
      t.add_column("FROM", Align::kLeft);
      t.add_column("TO", Align::kLeft);
      t.add_column("GAIN", Align::kRight);
      t.add_column("REASON", Align::kLeft);
      for (const Json* m : sorted_by(moves, "irq")) {
        const auto gain = json_u64(*m, "gain_ns_per_s");
        t.add_row({std::to_string(m->at("irq").get<std::uint64_t>()), text(*m, "from"), text(*m, "to"),
                   gain ? core::duration_text(gain) + "/s" : "-", text(*m, "reason")});
      }
      out += t.render();
    }
    if (const Json* held = field(body, "held"); held != nullptr && !held->empty()) {
      out += "\nHeld:\n";
      TextTable t;
      t.add_column("IRQ", Align::kRight);
      t.add_column("REASON", Align::kLeft);
      for (const Json* h : sorted_by(*held, "irq")) t.add_row({std::to_string(h->at("irq").get<std::uint64_t>()), text(*h, "reason")});
      out += t.render();
    }
    if (const Json* applied = field(body, "applied"); applied != nullptr && !applied->empty()) {
      out += "\nApplied:\n";
      TextTable t;
      t.add_column("IRQ", Align::kRight);
      t.add_column("TO", Align::kLeft);
      t.add_column("OUTCOME", Align::kLeft);
      t.add_column("MESSAGE", Align::kLeft);
      for (const Json* a : sorted_by(*applied, "irq")) {
        const std::string message = text(*a, "message");
        t.add_row({std::to_string(a->at("irq").get<std::uint64_t>()), text(*a, "to"), text(*a, "outcome"), message.empty() ? "-" : message});
      }
      out += t.render();
    }
    return out;
  });
}

std::string rate_text(double per_s) {
  if (!(per_s > 0)) return "0";
  if (per_s < 10) return fmt::format("{:.1f}", per_s);
  if (per_s < 10'000) return fmt::format("{:.0f}", std::round(per_s));
  if (per_s < 1e6) return fmt::format("{:.1f}k", per_s / 1e3);
  return fmt::format("{:.2f}M", per_s / 1e6);
}

}  // namespace irqbpfd::api
