// The API contract against the real daemon on a fake machine root: every
// endpoint's status codes and JSON fields (the report's names), the earlier
// tool's calls and its raw format, mutations refused without credentials and
// accepted with them (nothing changes on a refusal), bad input answered 4xx
// without a crash, /metrics valid for promtool, and a slow client that
// cannot stall the balancing loop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "daemon_test_util.hpp"
#include "run_command.hpp"

namespace irqbpfd::daemon {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// A daemon with the API on an ephemeral loopback port and a Unix socket.
class Api {
 public:
  explicit Api(std::vector<std::string> extra = {}) : host_("skewed-nic") {
    extra.insert(extra.end(), {"--listen", "127.0.0.1:0", "--socket", (host_.dir() / "api.sock").string(), "--token-file",
                               (host_.dir() / "api.token").string()});
    service_ = std::make_unique<Service>(host_, extra, "api");
    if (!service_->wait_for("API on http://127.0.0.1:")) throw std::runtime_error("no API: " + service_->log());
    std::smatch m;
    const std::string log = service_->log();
    std::regex_search(log, m, std::regex("API on http://127.0.0.1:([0-9]+)"));
    port_ = std::stoi(m[1].str());
    // The first measured window (two readings) makes the status complete.
    for (int i = 0; i < 100 && tcp().Get("/v1/irqs")->status != 200; ++i) std::this_thread::sleep_for(50ms);
  }
  ~Api() {
    service_->signal(SIGTERM);
    service_->wait_exit();
  }
  httplib::Client tcp() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c;
  }
  httplib::Client unix_socket() const {
    httplib::Client c((host_.dir() / "api.sock").string());
    c.set_address_family(AF_UNIX);
    c.set_read_timeout(10, 0);
    return c;
  }
  [[nodiscard]] std::string token() const {
    std::string t = read_text(host_.dir() / "api.token");
    while (!t.empty() && t.back() == '\n') t.pop_back();
    return t;
  }
  [[nodiscard]] const FakeHost& host() const { return host_; }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string log() const { return service_->log(); }

 private:
  FakeHost host_;
  std::unique_ptr<Service> service_;
  int port_ = 0;
};

json body(const httplib::Result& r) { return json::parse(r->body); }

TEST(DaemonApi, V1EndpointsSpeakTheReportsFieldNames) {
  Api api;
  auto c = api.tcp();
  auto status = c.Get("/v1/status");
  ASSERT_TRUE(status);
  ASSERT_EQ(status->status, 200) << status->body;
  const json s = body(status);
  for (const char* k : {"version", "collector", "collector_fallback_reason", "hardirq_sample_every", "cycle", "state", "dry_run", "interval_s",
                        "rescans", "moves_total", "writes_failed_total", "cycle_ms", "plan_summary", "pinned", "banned"}) {
    EXPECT_TRUE(s.contains(k)) << k << " in " << s.dump();
  }
  EXPECT_EQ(s["collector"], "proc");
  EXPECT_TRUE(s["hardirq_sample_every"].is_null());  // not a BPF collector
  EXPECT_EQ(s["interval_s"], 0.2);

  const json irqs = body(c.Get("/v1/irqs"));
  ASSERT_EQ(irqs["irqs"].size(), 10U) << irqs.dump();
  for (const char* k : {"irq", "name", "class", "level", "node", "managed", "count", "per_cpu", "load_ns", "smp_affinity",
                        "effective_affinity", "verdict", "planned_affinity"}) {
    EXPECT_TRUE(irqs["irqs"][0].contains(k)) << k;
  }
  // per_cpu: by default only the CPUs each IRQ was active on (their counts
  // still add up to the IRQ's); ?per_cpu=all lists all 8.
  const json every = body(c.Get("/v1/irqs?per_cpu=all"));
  ASSERT_EQ(every["irqs"].size(), irqs["irqs"].size());
  std::size_t listed = 0;
  for (std::size_t i = 0; i < irqs["irqs"].size(); ++i) {
    const json& sparse = irqs["irqs"][i];
    EXPECT_EQ(every["irqs"][i]["per_cpu"].size(), 8U);
    std::uint64_t sum = 0;
    for (const auto& pc : sparse["per_cpu"]) {
      EXPECT_TRUE(pc["count"].get<std::uint64_t>() > 0 || pc["load_ns"].get<std::uint64_t>() > 0) << pc.dump();
      sum += pc["count"].get<std::uint64_t>();
    }
    EXPECT_EQ(sum, sparse["count"].get<std::uint64_t>()) << sparse.dump();
    listed += sparse["per_cpu"].size();
  }
  EXPECT_LT(listed, 8 * irqs["irqs"].size());  // the skewed NIC runs on few CPUs
  EXPECT_EQ(body(c.Get("/v1/irqs/40?per_cpu=all"))["per_cpu"].size(), 8U);
  auto one = c.Get("/v1/irqs/40");
  ASSERT_EQ(one->status, 200);
  EXPECT_EQ(body(one)["name"], "eth0-TxRx-0");
  EXPECT_TRUE(body(one).contains("pinned"));
  EXPECT_EQ(c.Get("/v1/irqs/999")->status, 404);
  const json cpus = body(c.Get("/v1/cpus"));
  ASSERT_EQ(cpus["cpus"].size(), 8U);
  for (const char* k : {"cpu", "node", "package", "core", "online", "isolated", "interrupts", "system_interrupts"}) {
    EXPECT_TRUE(cpus["cpus"][0].contains(k)) << k;
  }
  EXPECT_TRUE(body(c.Get("/v1/topology")).contains("nodes"));
  const json plan = body(c.Get("/v1/plan"));
  for (const char* k : {"plan", "plan_summary", "held", "applied", "dry_run"}) EXPECT_TRUE(plan.contains(k)) << k;
  std::this_thread::sleep_for(500ms);
  const json history = body(c.Get("/v1/history?seconds=60"));
  ASSERT_GE(history["cycles"].size(), 2U) << history.dump();
  EXPECT_TRUE(history["cycles"][0].contains("hottest_cpu_load_pct"));
}

TEST(DaemonApi, TheEarlierToolsCallsAnswerAsItDid) {
  Api api;
  auto c = api.tcp();
  auto raw = c.Get("/get_current_distribution?format=raw");
  ASSERT_EQ(raw->status, 200);
  EXPECT_EQ(raw->get_header_value("Content-Type"), "text/plain");
  EXPECT_EQ(raw->body, read_text(api.host().root() / "proc" / "interrupts"));
  const json dist = body(c.Get("/get_current_distribution?format=json"));
  EXPECT_EQ(dist["cpus"].size(), 8U);
  EXPECT_EQ(dist["rows"][0]["irq"], 40);
  EXPECT_EQ(dist["rows"][0]["counts"].size(), 8U);
  EXPECT_EQ(c.Get("/get_current_distribution")->status, 200);  // json by default

  std::this_thread::sleep_for(1200ms);  // the history covers a second
  const json by_cpu = body(c.Get("/get_interrupt_by_cpu?second=1"));
  EXPECT_EQ(by_cpu["source"], "history");
  EXPECT_EQ(by_cpu["cpus"].size(), 8U);
  const json one = body(c.Get("/get_interrupt_by_cpu?cpu=3&second=1"));
  ASSERT_EQ(one["cpus"].size(), 1U);
  EXPECT_EQ(one["cpus"][0]["cpu"], 3);
  const json measured = body(c.Get("/get_interrupt_by_cpu?second=0.05"));  // shorter than a cycle
  EXPECT_EQ(measured["source"], "measured");

  // set_affinity through the root-only Unix socket: written now, pinned.
  auto u = api.unix_socket();
  auto set = u.Get("/set_affinity/41?cpu=8");  // hex 8: CPU 3
  ASSERT_TRUE(set);
  ASSERT_EQ(set->status, 200) << set->body;
  EXPECT_EQ(body(set)["outcome"], "done");
  EXPECT_EQ(body(set)["pinned"], true);
  EXPECT_EQ(read_text(api.host().root() / "proc" / "irq" / "41" / "smp_affinity"), "08\n");
  const json st = body(c.Get("/v1/status"));
  ASSERT_EQ(st["pinned"].size(), 1U);
  EXPECT_EQ(st["pinned"][0]["irq"], 41);
  EXPECT_EQ(st["pinned"][0]["cpus"], "3");
  // A kernel-managed IRQ: 409 with the outcome (skewed-nic has none: make
  // IRQ 50's file read-only as the kernel shows managed IRQs).
  fs::permissions(api.host().root() / "proc" / "irq" / "50" / "smp_affinity", fs::perms::owner_read | fs::perms::group_read |
                                                                                   fs::perms::others_read);
  auto managed = u.Post("/set_affinity/50?cpu=1");
  ASSERT_EQ(managed->status, 409) << managed->body;
  EXPECT_EQ(body(managed)["outcome"], "managed");
  EXPECT_EQ(u.Post("/v1/irqs/41/unpin")->status, 200);
  EXPECT_TRUE(body(c.Get("/v1/status"))["pinned"].empty());
}

TEST(DaemonApi, MutationsNeedCredentialsAndChangeNothingWithout) {
  Api api;
  auto c = api.tcp();
  const auto before = api.host().masks();
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"GET", "/set_affinity/40?cpu=2"}, {"POST", "/set_affinity/40?cpu=2"}, {"POST", "/v1/irqs/40/pin?cpus=1"},
      {"POST", "/v1/irqs/40/unpin"},     {"POST", "/v1/irqs/40/ban"},        {"POST", "/v1/irqs/40/unban"},
      {"POST", "/v1/rescan"}};
  for (const auto& [method, path] : calls) {
    auto r = method == "GET" ? c.Get(path.c_str()) : c.Post(path.c_str());
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 403) << method << " " << path << ": " << r->body;
    auto wrong = method == "GET" ? c.Get(path.c_str(), {{"Authorization", "Bearer 0000000000000000"}})
                                 : c.Post(path.c_str(), {{"Authorization", "Bearer 0000000000000000"}}, "", "text/plain");
    EXPECT_EQ(wrong->status, 403) << "a wrong token: " << path;
  }
  EXPECT_EQ(api.host().masks(), before);
  const json st = body(c.Get("/v1/status"));
  EXPECT_TRUE(st["pinned"].empty());
  EXPECT_TRUE(st["banned"].empty());
  // With the token over TCP, and as root on the Unix socket: accepted.
  const httplib::Headers auth = {{"Authorization", "Bearer " + api.token()}};
  EXPECT_EQ(c.Post("/v1/irqs/40/ban", auth, "", "text/plain")->status, 200);
  EXPECT_EQ(body(c.Get("/v1/status"))["banned"], json::array({40}));
  EXPECT_EQ(c.Post("/v1/irqs/40/pin?cpus=5", auth, "", "text/plain")->status, 200);
  EXPECT_EQ(c.Post("/v1/rescan", auth, "", "text/plain")->status, 202);
  EXPECT_EQ(api.unix_socket().Post("/v1/irqs/40/unban")->status, 200);
  // The pin is written by the next cycle.
  bool written = false;
  for (int i = 0; i < 50 && !written; ++i) {
    written = read_text(api.host().root() / "proc" / "irq" / "40" / "smp_affinity") == "20\n";
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(written) << api.log();
  // The token file is root's alone.
  EXPECT_EQ(fs::status(api.host().dir() / "api.token").permissions(), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(api.host().dir() / "api.sock").permissions(), fs::perms::owner_read | fs::perms::owner_write);
}

TEST(DaemonApi, BadInputIsA4xxAndChangesNothing) {
  Api api;
  auto c = api.tcp();
  auto u = api.unix_socket();
  const auto before = api.host().masks();
  const std::vector<std::pair<std::string, int>> gets = {
      {"/get_interrupt_by_cpu?second=abc", 400}, {"/get_interrupt_by_cpu?second=-1", 400},
      {"/get_interrupt_by_cpu?second=0", 400},   {"/get_interrupt_by_cpu?second=1e12", 400},
      {"/get_interrupt_by_cpu?second=nan", 400}, {"/get_interrupt_by_cpu?cpu=x", 400},
      {"/get_interrupt_by_cpu?cpu=99", 404},     {"/get_interrupt_by_cpu?bogus=1", 400},
      {"/get_current_distribution?format=xml", 400}, {"/v1/irqs/abc", 404},
      {"/v1/irqs/4294967296", 400},              {"/v1/history?seconds=-5", 400},
      {"/metrics?per_cpu=maybe", 400},           {"/no/such/path", 404},
      {"/v1/irqs?per_cpu=some", 400},            {"/v1/irqs/40?per_cpu=1", 400},
      {"/v1/rescan", 405},                       {"/v1/status?x=%zz", 400}};
  for (const auto& [path, code] : gets) {
    auto r = c.Get(path.c_str());
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, code) << path << ": " << r->body;
    EXPECT_TRUE(json::accept(r->body)) << path << " answers JSON: " << r->body;
  }
  const std::vector<std::pair<std::string, int>> posts = {
      {"/set_affinity/40?cpu=0", 400},          // empty mask
      {"/set_affinity/40?cpu=100", 400},        // CPU 8: not online (8 CPUs)
      {"/set_affinity/40?cpu=zz", 400},         // not hex
      {"/set_affinity/40", 400},                // no mask
      {"/set_affinity/999?cpu=1", 404},         // no such IRQ
      {"/v1/irqs/40/pin?cpus=7-9", 400},        // 8, 9 offline
      {"/v1/irqs/40/pin?cpus=3-", 400},         // bad list
      {"/v1/irqs/999/ban", 404},
      {"/v1/status", 405}};
  for (const auto& [path, code] : posts) {
    auto r = u.Post(path.c_str());
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, code) << path << ": " << r->body;
  }
  // A body past the cap: 413.
  auto big = u.Post("/v1/rescan", std::string(64 * 1024, 'x'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  // Still serving, nothing changed.
  EXPECT_EQ(c.Get("/v1/status")->status, 200);
  EXPECT_EQ(api.host().masks(), before);
  EXPECT_TRUE(body(c.Get("/v1/status"))["pinned"].empty());
}

TEST(DaemonApi, MetricsAreValidPrometheusText) {
  Api api;
  auto r = api.tcp().Get("/metrics");
  ASSERT_EQ(r->status, 200);
  EXPECT_THAT(r->get_header_value("Content-Type"), ::testing::StartsWith("text/plain; version=0.0.4"));
  for (const char* family : {"irqbpfd_irq_interrupts_total", "irqbpfd_cpu_irq_seconds_total", "irqbpfd_cycles_total",
                             "irqbpfd_moves_total", "irqbpfd_affinity_writes_total", "irqbpfd_cycle_duration_seconds",
                             "irqbpfd_collector_info"}) {
    EXPECT_THAT(r->body, ::testing::HasSubstr(std::string("# TYPE ") + family)) << family;
  }
  EXPECT_THAT(r->body, ::testing::HasSubstr("irqbpfd_irq_interrupts_total{irq=\"40\",name=\"eth0-TxRx-0\"}"));
  EXPECT_THAT(r->body, ::testing::Not(::testing::HasSubstr("irqbpfd_irq_cpu_interrupts_total")));
  auto per_cpu = api.tcp().Get("/metrics?per_cpu=1");
  EXPECT_THAT(per_cpu->body, ::testing::HasSubstr("irqbpfd_irq_cpu_interrupts_total{irq=\"40\",name=\"eth0-TxRx-0\",cpu=\"0\"}"));
  const char* promtool_env = std::getenv("IRQBPFD_PROMTOOL");
  const fs::path promtool = promtool_env != nullptr ? promtool_env : "/var/cache/irqbpfd/prometheus/promtool";
  if (!fs::exists(promtool)) GTEST_SKIP() << "promtool not found at " << promtool << " (scripts/fetch-promtool.sh)";
  for (const auto& text : {r->body, per_cpu->body}) {
    const fs::path file = api.host().dir() / "metrics.txt";
    std::ofstream(file) << text;
    const auto check = irqbpfd::testing::run_command({"/bin/sh", "-c", promtool.string() + " check metrics < " + file.string()});
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  }
}

TEST(DaemonApi, ASlowClientDoesNotStallTheLoop) {
  Api api;
  const auto cycle = [&] { return body(api.unix_socket().Get("/v1/status"))["cycle"].get<int>(); };
  // Eight connections to the TCP listener that send half a request and hang.
  std::vector<int> hanging;
  for (int i = 0; i < 8; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(api.port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const std::string half = "GET /v1/status HTTP/1.1\r\nHost: x\r\n";
    ASSERT_GT(::send(fd, half.data(), half.size(), 0), 0);
    hanging.push_back(fd);
  }
  const int c0 = cycle();
  std::this_thread::sleep_for(1200ms);
  const int c1 = cycle();
  EXPECT_GE(c1 - c0, 3) << "the loop kept its 0.2 s cycles while clients hung";
  for (int fd : hanging) ::close(fd);
  // And TCP answers again once they are gone (or timed out).
  auto again = api.tcp().Get("/v1/status");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

}  // namespace
}  // namespace irqbpfd::daemon
