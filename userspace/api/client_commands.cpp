// The commands behind irqbpfctl: one or two API calls each, the answer
// formatted, and the exit status (0 done, 1 failed or refused, 2 bad
// argument). Arguments are checked here with core's CpuSet parsers before
// any call, so a typo is a usage error rather than the daemon's 400.
#include "irqbpfd/api/client_commands.hpp"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "irqbpfd/core/cpu_set.hpp"

namespace irqbpfd::api {
namespace {

using core::Result;

CommandOutput failed(std::string message, int code = kExitFailed) {
  CommandOutput o;
  o.exit_code = code;
  o.err = "irqbpfctl: " + message + "\n";
  return o;
}

CommandOutput printed(std::string text) {
  CommandOutput o;
  o.out = std::move(text);
  return o;
}

// "no status yet (HTTP 503)"; a refused change over TCP says how to be let in.
std::string refusal(const Requester& api, const Response& r) {
  std::string message = fmt::format("{} (HTTP {})", error_text(r), r.status);
  const auto body = Json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("outcome") && body["outcome"].is_string()) {
    message += fmt::format(", outcome {}", body["outcome"].get<std::string>());
  }
  if (r.status == 403 && api.over_tcp()) {
    message += fmt::format("; over TCP a change needs the API token (--token-file, default {}, readable by root), "
                           "or run as root to use the Unix socket",
                           kDefaultTokenFile);
  }
  return message;
}

// The answer to a call: itself when 2xx, else the failure to report.
Result<Response> answered(const Requester& api, Result<Response> r) {
  if (!r) return r;
  if (!r->ok()) return core::Error{refusal(api, *r)};
  return r;
}

// A formatted answer, or the --json text.
CommandOutput render(const Requester& api, const Result<Response>& r, bool json, Result<std::string> (*format)(const Json&)) {
  if (json) {
    const auto raw = answered(api, r);
    return raw ? printed(format_json(raw->body)) : failed(raw.error().message);
  }
  const auto body = answer_json(api, r);
  if (!body) return failed(body.error().message);
  auto text = format(*body);
  if (!text) return failed(text.error().message);
  return printed(std::move(*text));
}

}  // namespace

Result<Json> answer_json(const Requester& api, const Result<Response>& answer) {
  const auto r = answered(api, answer);
  if (!r) return r.error();
  return parse_body(r->body);
}

CommandOutput view_distribution(Requester& api) {
  auto r = answered(api, api.get("/get_current_distribution?format=raw"));
  if (!r) return failed(r.error().message);
  std::string text = std::move(r->body);
  if (!text.empty() && text.back() != '\n') text += '\n';
  return printed(std::move(text));
}

CommandOutput view_cpu_summary(Requester& api, unsigned second) {
  // The daemon may measure the window on the spot: wait for it.
  const auto wait = std::chrono::seconds(second) + std::chrono::seconds(10);
  const auto r = api.get(fmt::format("/get_interrupt_by_cpu?cpu=all&second={}", second),
                         std::chrono::duration_cast<std::chrono::milliseconds>(wait));
  return render(api, r, false, format_cpu_summary);
}

CommandOutput set_affinity(Requester& api, std::uint32_t irq, std::string_view mask) {
  auto parsed = core::CpuSet::parse_mask(mask);
  if (!parsed) return failed(fmt::format("--cpu {}: {}", mask, parsed.error().message), kExitUsage);
  if (parsed->empty()) return failed(fmt::format("--cpu {}: names no CPU", mask), kExitUsage);
  auto r = api.get(fmt::format("/set_affinity/{}?cpu={}", irq, mask));
  CommandOutput o;
  if (!r) {
    o.exit_code = kExitFailed;
    o.err = format_set_affinity_failed(irq, r.error().message);
  } else if (!r->ok()) {
    o.exit_code = kExitFailed;
    o.err = format_set_affinity_failed(irq, refusal(api, *r));
  } else {
    o.out = format_set_affinity_ok(irq);
  }
  return o;
}

CommandOutput show(Requester& api, View view, bool json) {
  struct Route {
    const char* target;
    Result<std::string> (*format)(const Json&);
  };
  const Route route = view == View::kStatus ? Route{"/v1/status", format_status}
                      : view == View::kIrqs ? Route{"/v1/irqs", format_irqs}
                      : view == View::kCpus ? Route{"/v1/cpus", format_cpus}
                                            : Route{"/v1/plan", format_plan};
  return render(api, api.get(route.target), json, route.format);
}

CommandOutput act(Requester& api, Action action, std::uint32_t irq, std::string_view cpus, bool json) {
  std::string target;
  std::string done;
  switch (action) {
    case Action::kPin: {
      auto set = core::CpuSet::parse_list(cpus);
      if (!set) return failed(fmt::format("CPUS {}: {}", cpus, set.error().message), kExitUsage);
      if (set->empty()) return failed(fmt::format("CPUS '{}': names no CPU", cpus), kExitUsage);
      target = fmt::format("/v1/irqs/{}/pin?cpus={}", irq, set->to_list());
      done = fmt::format("IRQ {} pinned to CPUs {}", irq, set->to_list());
      break;
    }
    case Action::kUnpin:
      target = fmt::format("/v1/irqs/{}/unpin", irq);
      done = fmt::format("IRQ {} unpinned: the balancer places it again", irq);
      break;
    case Action::kBan:
      target = fmt::format("/v1/irqs/{}/ban", irq);
      done = fmt::format("IRQ {} banned: the balancer leaves it where it is", irq);
      break;
    case Action::kUnban:
      target = fmt::format("/v1/irqs/{}/unban", irq);
      done = fmt::format("IRQ {} unbanned: the balancer places it again", irq);
      break;
    case Action::kRescan:
      target = "/v1/rescan";
      done = "rescan requested: the daemon re-reads the IRQs, CPUs and devices before its next cycle";
      break;
  }
  auto r = answered(api, api.post(target));
  if (!r) return failed(r.error().message);
  return printed(json ? format_json(r->body) : done + "\n");
}

}  // namespace irqbpfd::api
