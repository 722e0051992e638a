// What irqbpfctl prints for each of the daemon's answers: the seed tool's
// lines (cpu-summary, set-affinity) and tables for status, irqs, cpus and the
// plan. Pure functions of the parsed JSON body (same body, same text); a body
// that lacks a field the text needs is an Error naming the field.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "irqbpfd/core/result.hpp"

namespace irqbpfd::api {

using Json = nlohmann::ordered_json;

// A body as JSON (key order kept); an Error quoting its start when it is not.
core::Result<Json> parse_body(std::string_view body);

// `--json`: the body pretty-printed with two spaces and a final newline; a
// body that is not JSON, as it is.
std::string format_json(std::string_view body);

// GET /get_interrupt_by_cpu: "Interrupt handled by CPU in last 5 seconds"
// then "CPU0: 10486" per CPU, ascending.
core::Result<std::string> format_cpu_summary(const Json& body);

// The seed tool's answers to --irq N --cpu MASK.
std::string format_set_affinity_ok(std::uint32_t irq);
std::string format_set_affinity_failed(std::uint32_t irq, std::string_view error);

// GET /v1/status: one "key  value" line per fact (state, collector, cycle,
// moves, the last plan, pins and bans).
core::Result<std::string> format_status(const Json& body);

// GET /v1/irqs: a line on the window, then per IRQ (ascending) its number,
// name, class, the CPU that served it most, interrupts per second, load (% of
// one CPU, "~" when estimated), affinity (effective, planned) and verdict.
core::Result<std::string> format_irqs(const Json& body);

// GET /v1/cpus: per CPU its place in the topology, state, interrupts and
// interrupt time.
core::Result<std::string> format_cpus(const Json& body);

// GET /v1/plan: the summary, the moves with their reasons, the IRQs held and
// the writes applied.
core::Result<std::string> format_plan(const Json& body);

// Readers the formatters and top's model share. A non-negative number
// (nullopt when absent, null, not a number or negative, such as node -1):
std::optional<std::uint64_t> json_u64(const Json& object, const char* key);
// The CPU that served most of an IRQ object's per_cpu counts (nullopt when
// none served any).
std::optional<std::uint32_t> busiest_cpu(const Json& irq);

// "rate" cells: "0", "0.5", "12.3", "1234", "12.3k", "4.56M" (per second).
std::string rate_text(double per_s);

}  // namespace irqbpfd::api
