// irqbpfctl's commands against a scripted Requester: which call each makes,
// what it prints on stdout and stderr, and its exit status (0, 1 refused or
// unreachable, 2 a bad argument caught before any call).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "irqbpfd/api/client_commands.hpp"

namespace irqbpfd::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Answers "METHOD target" from a table; records every call.
class ScriptedApi : public Requester {
 public:
  explicit ScriptedApi(bool tcp = true) : tcp_(tcp) {}
  void answer(const std::string& call, int status, std::string body) { answers_[call] = Response{status, std::move(body), ""}; }
  void unreachable(std::string message) { unreachable_ = std::move(message); }

  core::Result<Response> get(const std::string& target, std::optional<std::chrono::milliseconds> read_timeout) override {
    if (read_timeout) timeouts.push_back(*read_timeout);
    return call("GET " + target);
  }
  core::Result<Response> post(const std::string& target) override { return call("POST " + target); }
  [[nodiscard]] std::string describe() const override { return "http://localhost:5000"; }
  [[nodiscard]] bool over_tcp() const override { return tcp_; }

  std::vector<std::string> calls;
  std::vector<std::chrono::milliseconds> timeouts;

 private:
  core::Result<Response> call(const std::string& c) {
    calls.push_back(c);
    if (!unreachable_.empty()) return core::Error{unreachable_};
    const auto it = answers_.find(c);
    if (it == answers_.end()) return Response{404, R"({"error": "unknown path"})", ""};
    return it->second;
  }
  bool tcp_;
  std::string unreachable_;
  std::map<std::string, Response> answers_;
};

TEST(ClientCommands, DistributionPrintsTheRawTextAsItCame) {
  ScriptedApi api;
  api.answer("GET /get_current_distribution?format=raw", 200, "           CPU0       CPU1\n  0:         21          0   IO-APIC   2-edge      timer\n");
  const auto o = view_distribution(api);
  EXPECT_EQ(o.exit_code, kExitOk);
  EXPECT_EQ(o.out, "           CPU0       CPU1\n  0:         21          0   IO-APIC   2-edge      timer\n");
  EXPECT_EQ(o.err, "");
}

TEST(ClientCommands, CpuSummaryAsksForTheWindowAndWaitsLongerThanIt) {
  ScriptedApi api;
  api.answer("GET /get_interrupt_by_cpu?cpu=all&second=3", 200,
             R"({"second": 3, "source": "measured", "cpus": [{"cpu": 1, "interrupts": 8728}, {"cpu": 0, "interrupts": 4050}]})");
  const auto o = view_cpu_summary(api, 3);
  EXPECT_EQ(o.exit_code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "Interrupt handled by CPU in last 3 seconds\nCPU0: 4050\nCPU1: 8728\n");
  ASSERT_EQ(api.timeouts.size(), 1U);
  EXPECT_GT(api.timeouts[0], std::chrono::seconds(3));
}

TEST(ClientCommands, SetAffinitySucceedsOrSaysWhyAndExitsOne) {
  ScriptedApi api;
  api.answer("GET /set_affinity/129?cpu=f", 200,
             R"({"irq": 129, "requested": "0-3", "outcome": "done", "smp_affinity": "0-3", "effective_affinity": "1", "pinned": true})");
  auto o = set_affinity(api, 129, "f");
  EXPECT_EQ(o.exit_code, kExitOk);
  EXPECT_EQ(o.out, "Successfully set affinity for IRQ 129\n");

  api.answer("GET /set_affinity/30?cpu=1", 409, R"({"error": "irq 30: smp_affinity: Operation not permitted", "outcome": "managed"})");
  o = set_affinity(api, 30, "1");
  EXPECT_EQ(o.exit_code, kExitFailed);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "Failed to set affinity for IRQ 30: irq 30: smp_affinity: Operation not permitted (HTTP 409), outcome managed\n");

  api.unreachable("cannot connect to http://localhost:5000: Connection refused (is irqbpfd running?)");
  o = set_affinity(api, 129, "f");
  EXPECT_EQ(o.exit_code, kExitFailed);
  EXPECT_EQ(o.err, "Failed to set affinity for IRQ 129: cannot connect to http://localhost:5000: Connection refused (is irqbpfd running?)\n");
}

TEST(ClientCommands, ABadMaskIsAUsageErrorBeforeAnyCall) {
  ScriptedApi api;
  for (const char* bad : {"xyz", "", "0"}) {
    const auto o = set_affinity(api, 129, bad);
    EXPECT_EQ(o.exit_code, kExitUsage) << bad;
    EXPECT_THAT(o.err, HasSubstr("--cpu")) << bad;
  }
  const auto o = act(api, Action::kPin, 40, "3-1x", false);
  EXPECT_EQ(o.exit_code, kExitUsage);
  EXPECT_THAT(o.err, HasSubstr("CPUS 3-1x"));
  EXPECT_TRUE(api.calls.empty());
}

TEST(ClientCommands, ViewsFormatOrPassTheJsonThrough) {
  ScriptedApi api;
  api.answer("GET /v1/status", 200, R"({"state":"running","cycle":3,"collector":"proc"})");
  auto o = show(api, View::kStatus, false);
  EXPECT_EQ(o.exit_code, kExitOk) << o.err;
  EXPECT_THAT(o.out, HasSubstr("state      running\n"));
  o = show(api, View::kStatus, true);
  EXPECT_EQ(o.out, "{\n  \"state\": \"running\",\n  \"cycle\": 3,\n  \"collector\": \"proc\"\n}\n");
  EXPECT_THAT(api.calls, ElementsAre("GET /v1/status", "GET /v1/status"));

  api.answer("GET /v1/plan", 503, R"({"error": "no status yet"})");
  o = show(api, View::kPlan, false);
  EXPECT_EQ(o.exit_code, kExitFailed);
  EXPECT_EQ(o.err, "irqbpfctl: no status yet (HTTP 503)\n");

  api.answer("GET /v1/cpus", 200, "<html>proxy</html>");
  o = show(api, View::kCpus, false);
  EXPECT_EQ(o.exit_code, kExitFailed);
  EXPECT_THAT(o.err, HasSubstr("not JSON"));
  api.answer("GET /v1/irqs", 200, R"({"irqs": "none"})");
  o = show(api, View::kIrqs, false);
  EXPECT_EQ(o.exit_code, kExitFailed);
  EXPECT_THAT(o.err, HasSubstr("unexpected answer from irqbpfd"));
}

TEST(ClientCommands, ActionsPostAndConfirm) {
  ScriptedApi api;
  api.answer("POST /v1/irqs/40/pin?cpus=2-3", 200, R"({"irq": 40, "pinned": "2-3"})");
  api.answer("POST /v1/irqs/40/unpin", 200, "{}");
  api.answer("POST /v1/irqs/41/ban", 200, "{}");
  api.answer("POST /v1/irqs/41/unban", 200, "{}");
  api.answer("POST /v1/rescan", 202, R"({"rescan": "requested"})");
  EXPECT_EQ(act(api, Action::kPin, 40, "3,2", false).out, "IRQ 40 pinned to CPUs 2-3\n");
  EXPECT_EQ(act(api, Action::kPin, 40, "2-3", true).out, "{\n  \"irq\": 40,\n  \"pinned\": \"2-3\"\n}\n");
  EXPECT_THAT(act(api, Action::kUnpin, 40, "", false).out, HasSubstr("IRQ 40 unpinned"));
  EXPECT_THAT(act(api, Action::kBan, 41, "", false).out, HasSubstr("IRQ 41 banned"));
  EXPECT_THAT(act(api, Action::kUnban, 41, "", false).out, HasSubstr("IRQ 41 unbanned"));
  const auto o = act(api, Action::kRescan, 0, "", false);
  EXPECT_EQ(o.exit_code, kExitOk);
  EXPECT_THAT(o.out, HasSubstr("rescan requested"));
}

TEST(ClientCommands, ARefusedChangeOverTcpSaysHowToBeLetIn) {
  ScriptedApi tcp(true);
  tcp.answer("POST /v1/irqs/40/ban", 403, R"({"error": "a change needs root or the API token"})");
  auto o = act(tcp, Action::kBan, 40, "", false);
  EXPECT_EQ(o.exit_code, kExitFailed);
  EXPECT_THAT(o.err, HasSubstr("irqbpfctl: a change needs root or the API token (HTTP 403)"));
  EXPECT_THAT(o.err, HasSubstr("--token-file"));
  ScriptedApi unix_socket(false);
  unix_socket.answer("POST /v1/irqs/40/ban", 403, R"({"error": "not root"})");
  o = act(unix_socket, Action::kBan, 40, "", false);
  EXPECT_EQ(o.err, "irqbpfctl: not root (HTTP 403)\n");
  ScriptedApi missing;
  o = act(missing, Action::kUnban, 999, "", false);
  EXPECT_EQ(o.exit_code, kExitFailed);
  EXPECT_EQ(o.err, "irqbpfctl: unknown path (HTTP 404)\n");
}

}  // namespace
}  // namespace irqbpfd::api
