// With BPF the daemon's readings are mostly light: /proc/interrupts is not
// parsed, the rows carry no counts. The calls that show /proc's counts
// (/get_current_distribution, /metrics) then read it at the request; a
// full reading is served as it is.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "fake_root.hpp"
#include "irqbpfd/api/server.hpp"
#include "irqbpfd/daemon/daemon.hpp"

namespace irqbpfd::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kNow =
    "           CPU0       CPU1\n"
    "  24:        700         11   IO-APIC   5-edge      eth0\n"
    " LOC:       9000       9001   Local timer interrupts\n";

class ReadingControl final : public daemon::DaemonControl {
 public:
  explicit ReadingControl(bool counts_read) {
    auto reading = std::make_shared<collect::RawSample>();
    reading->counts_read = counts_read;
    auto parsed = sys::parse_proc_interrupts(
        "           CPU0       CPU1\n"
        "  24:          5          6   IO-APIC   5-edge      eth0\n"
        " LOC:         50         60   Local timer interrupts\n",
        "reading");
    reading->interrupts = std::move(*parsed);
    if (!counts_read) {
      for (auto& row : reading->interrupts.rows) row.counts.clear();
    }
    auto st = std::make_shared<daemon::Status>();
    st->reading = std::move(reading);
    st->snapshot = std::make_shared<model::Snapshot>();
    status_ = std::move(st);
  }
  [[nodiscard]] std::shared_ptr<const daemon::Status> status() const override { return status_; }
  daemon::CommandResult command(const daemon::Command&, std::chrono::milliseconds) override { return {}; }
  core::Result<std::vector<std::pair<core::CpuId, std::uint64_t>>> measure_interrupts(double) override {
    return core::Error{"not here"};
  }
  core::Result<std::string> interrupts_text() override {
    ++reads;
    if (fail) return core::Error{"/proc/interrupts: Permission denied"};
    return std::string(kNow);
  }
  int reads = 0;
  bool fail = false;

 private:
  std::shared_ptr<const daemon::Status> status_;
};

struct Served {
  explicit Served(daemon::DaemonControl& control) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.socket.reset();
    options.token_file = root.path() / "api.token";
    auto s = Server::start(options, control);
    EXPECT_TRUE(s.has_value()) << s.error().message;
    server = std::move(*s);
  }
  httplib::Result get(const std::string& path) {
    httplib::Client client("127.0.0.1", server->port());
    return client.Get(path);
  }
  // The body of a GET that must answer 200 (a failure says what came).
  std::string ok(const std::string& path) {
    auto res = get(path);
    if (!res) {
      ADD_FAILURE() << path << ": no answer";
      return "null";
    }
    EXPECT_EQ(res->status, 200) << path << ": " << res->body;
    return res->body;
  }
  testing::FakeRoot root;
  std::unique_ptr<Server> server;
};

TEST(ApiLightReading, DistributionAndMetricsReadProcInterruptsAtTheRequest) {
  ReadingControl control(false);
  Served api(control);
  const auto j = nlohmann::json::parse(api.ok("/get_current_distribution"));
  EXPECT_EQ(j["rows"][0]["counts"], nlohmann::json::array({700, 11}));
  EXPECT_EQ(j["rows"][1]["counts"], nlohmann::json::array({9000, 9001}));
  const std::string metrics = api.ok("/metrics?per_cpu=1");
  EXPECT_THAT(metrics, HasSubstr("irqbpfd_irq_interrupts_total{irq=\"24\",name=\"eth0\"} 711"));
  EXPECT_THAT(metrics, HasSubstr("irqbpfd_irq_cpu_interrupts_total{irq=\"24\",name=\"eth0\",cpu=\"0\"} 700"));
  EXPECT_EQ(control.reads, 2);

  control.fail = true;
  auto refused = api.get("/get_current_distribution");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_THAT(refused->body, HasSubstr("Permission denied"));
}

TEST(ApiLightReading, AFullReadingIsServedWithoutReadingAgain) {
  ReadingControl control(true);
  Served api(control);
  EXPECT_EQ(nlohmann::json::parse(api.ok("/get_current_distribution"))["rows"][0]["counts"], nlohmann::json::array({5, 6}));
  const std::string metrics = api.ok("/metrics");
  EXPECT_THAT(metrics, HasSubstr("irqbpfd_irq_interrupts_total{irq=\"24\",name=\"eth0\"} 11"));
  EXPECT_THAT(metrics, Not(HasSubstr("} 711")));
  EXPECT_EQ(control.reads, 0);
}

}  // namespace
}  // namespace irqbpfd::api
