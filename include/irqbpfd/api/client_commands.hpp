// irqbpfctl's commands: each makes its calls through a Requester, formats
// the answer (client_format.hpp) and says what to print and how to exit.
// Nothing here prints: irqbpfctl's main writes `out` and `err`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "irqbpfd/api/client.hpp"
#include "irqbpfd/api/client_format.hpp"

namespace irqbpfd::api {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the call failed or the daemon refused
inline constexpr int kExitUsage = 2;   // a bad argument

struct CommandOutput {
  int exit_code = kExitOk;
  std::string out;  // stdout
  std::string err;  // stderr, each line starting "irqbpfctl: " (or the seed's "Failed to ...")
};

// An answer's body as JSON when it is a 2xx; otherwise the Error to show:
// the transport's ("cannot connect to ..."), the daemon's refusal ("no status
// yet (HTTP 503)"), or a body that is not JSON.
core::Result<Json> answer_json(const Requester& api, const core::Result<Response>& answer);

// The seed tool's views: /proc/interrupts as the daemon last read it, and
// the interrupts per CPU over the last `second` seconds.
CommandOutput view_distribution(Requester& api);
CommandOutput view_cpu_summary(Requester& api, unsigned second);
// --irq N --cpu MASK: sets (and pins) the IRQ's affinity to a hex mask.
CommandOutput set_affinity(Requester& api, std::uint32_t irq, std::string_view mask);

// Read-only views: the table, or with `json` the daemon's JSON pretty-printed.
enum class View { kStatus, kIrqs, kCpus, kPlan };
CommandOutput show(Requester& api, View view, bool json);

// Changes: pin IRQ to CPUs (a list, "2-3"), unpin, ban, unban, rescan (no IRQ).
enum class Action { kPin, kUnpin, kBan, kUnban, kRescan };
CommandOutput act(Requester& api, Action action, std::uint32_t irq, std::string_view cpus, bool json);

}  // namespace irqbpfd::api
