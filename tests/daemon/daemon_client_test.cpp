// irqbpfctl against the real irqbpfd serving its API on a fake machine root
// (the simulator's; never the live /proc/irq): the contract each command
// relies on over TCP and the Unix socket, the token a change over TCP needs,
// the seed tool's outputs, and `irqbpfctl top` driven in tmux until `q`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "daemon_test_util.hpp"
#include "run_command.hpp"

namespace irqbpfd::daemon {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::CommandResult;

// irqbpfd on a fake host (isolated.toml: 16 CPUs, IRQs 40-47 and 50-51, 50
// kernel-managed) with its API on an ephemeral loopback port and a Unix
// socket in the host's directory, and irqbpfctl pointed at it.
class ApiDaemon {
 public:
  ApiDaemon() {
    service_ = std::make_unique<Service>(host_,
                                         std::vector<std::string>{"--listen", "127.0.0.1:0", "--socket", socket().string(),
                                                                  "--token-file", token_file().string()},
                                         "client");
    if (!service_->wait_for("API on http://127.0.0.1:")) throw std::runtime_error("no API: " + service_->log());
    std::smatch m;
    const std::string log = service_->log();
    std::regex_search(log, m, std::regex("API on http://127.0.0.1:([0-9]+)"));
    port_ = std::stoi(m[1].str());
  }
  ~ApiDaemon() {
    service_->signal(SIGTERM);
    service_->wait_exit();
  }
  ApiDaemon(const ApiDaemon&) = delete;
  ApiDaemon& operator=(const ApiDaemon&) = delete;

  [[nodiscard]] const FakeHost& host() const { return host_; }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] fs::path socket() const { return host_.dir() / "api.sock"; }
  [[nodiscard]] fs::path token_file() const { return host_.dir() / "api.token"; }
  [[nodiscard]] std::string log() const { return service_->log(); }

  // irqbpfctl over TCP (`--url`, `--port`), with these arguments.
  [[nodiscard]] CommandResult ctl(std::vector<std::string> a) const {
    std::vector<std::string> argv = {IRQBPFCTL_BINARY, "--url", "http://127.0.0.1", "--port", std::to_string(port_)};
    argv.insert(argv.end(), a.begin(), a.end());
    return testing::run_command(argv);
  }
  // irqbpfctl over the Unix socket.
  [[nodiscard]] CommandResult ctl_socket(std::vector<std::string> a) const {
    std::vector<std::string> argv = {IRQBPFCTL_BINARY, "--socket", socket().string()};
    argv.insert(argv.end(), a.begin(), a.end());
    return testing::run_command(argv);
  }
  // Waits until the daemon has a window to serve (two readings).
  bool wait_ready(std::chrono::milliseconds limit = 15s) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (ctl({"irqs"}).exit_code == 0) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

 private:
  FakeHost host_;
  std::unique_ptr<Service> service_;
  int port_ = 0;
};

nlohmann::json json_of(const CommandResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
  return j;
}

TEST(ApiClient, SeedViewsOverTcp) {
  ApiDaemon d;
  ASSERT_TRUE(d.wait_ready()) << d.log();
  auto r = d.ctl({"--view", "distribution"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, read_text(d.host().root() / "proc" / "interrupts"));

  r = d.ctl({"--view", "cpu-summary", "--second", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("Interrupt handled by CPU in last 1 seconds\n"));
  // One line per CPU of the 16, ascending.
  std::string expected_cpus;
  std::smatch m;
  std::string rest = r.out;
  std::vector<int> cpus;
  while (std::regex_search(rest, m, std::regex("\nCPU([0-9]+): [0-9]+"))) {
    cpus.push_back(std::stoi(m[1].str()));
    rest = m.suffix();
  }
  ASSERT_EQ(cpus.size(), 16U) << r.out;
  for (int i = 0; i < 16; ++i) EXPECT_EQ(cpus[static_cast<std::size_t>(i)], i);
}

TEST(ApiClient, TablesAndJsonOverTcp) {
  ApiDaemon d;
  ASSERT_TRUE(d.wait_ready()) << d.log();
  auto r = d.ctl({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("collector  proc"));
  auto j = json_of(d.ctl({"status", "--json"}));
  for (const char* key : {"version", "collector", "cycle", "state", "dry_run", "interval_s", "moves_total", "pinned", "banned"}) {
    EXPECT_TRUE(j.contains(key)) << key << " in " << j.dump();
  }

  r = d.ctl({"irqs"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* row : {"\n 40  eth0-TxRx-0", "\n 47  eth0-TxRx-7", "\n 50  nvme0q1", "\n 51  nvme0q2"}) {
    EXPECT_THAT(r.out, HasSubstr(row)) << r.out;
  }
  j = json_of(d.ctl({"irqs", "--json"}));
  ASSERT_TRUE(j.contains("irqs")) << j.dump();
  ASSERT_FALSE(j["irqs"].empty());
  for (const char* key : {"irq", "name", "class", "level", "node", "managed", "count", "per_cpu", "load_ns", "load_estimated",
                          "hardirq_ns", "softirq_ns", "smp_affinity", "effective_affinity", "verdict"}) {
    EXPECT_TRUE(j["irqs"][0].contains(key)) << key;
  }

  r = d.ctl({"cpus"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("online,isolated"));
  r = d.ctl({"plan"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("Plan"));
}

TEST(ApiClient, AChangeOverTcpNeedsTheToken) {
  ApiDaemon d;
  ASSERT_TRUE(d.wait_ready()) << d.log();
  const std::string none = (d.host().dir() / "no.token").string();
  auto r = d.ctl({"--token-file", d.host().dir().string() + "/absent", "ban", "41"});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // a --token-file given and unreadable
  std::ofstream(none) << "00\n";
  r = d.ctl({"--token-file", none, "ban", "41"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("(HTTP 403)"));

  ASSERT_TRUE(fs::exists(d.token_file())) << d.log();
  const std::string token = d.token_file().string();
  r = d.ctl({"--token-file", token, "ban", "41"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "IRQ 41 banned: the balancer leaves it where it is\n");
  r = d.ctl({"--token-file", token, "pin", "40", "2-3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto status = json_of(d.ctl({"status", "--json"}));
  EXPECT_EQ(status["banned"], nlohmann::json::array({41})) << status.dump();
  ASSERT_EQ(status["pinned"].size(), 1U) << status.dump();
  EXPECT_EQ(status["pinned"][0]["irq"], 40);
  EXPECT_EQ(status["pinned"][0]["cpus"], "2-3");
  r = d.ctl({"status"});
  EXPECT_THAT(r.out, HasSubstr("pinned     40 -> 2-3\n"));
  EXPECT_THAT(r.out, HasSubstr("banned     41\n"));

  EXPECT_EQ(d.ctl({"--token-file", token, "unban", "41"}).exit_code, 0);
  EXPECT_EQ(d.ctl({"--token-file", token, "unpin", "40"}).exit_code, 0);
  status = json_of(d.ctl({"status", "--json"}));
  EXPECT_TRUE(status["banned"].empty()) << status.dump();
  EXPECT_TRUE(status["pinned"].empty()) << status.dump();
  r = d.ctl({"--token-file", token, "rescan"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = d.ctl({"--token-file", token, "unpin", "999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("(HTTP 404)"));
}

TEST(ApiClient, UnixSocketAsRootNeedsNoToken) {
  if (::geteuid() != 0) GTEST_SKIP() << "the API's socket is root's";
  ApiDaemon d;
  ASSERT_TRUE(d.wait_ready()) << d.log();
  EXPECT_EQ(fs::status(d.socket()).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  auto r = d.ctl_socket({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = d.ctl_socket({"ban", "41"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_of(d.ctl_socket({"status", "--json"}))["banned"], nlohmann::json::array({41}));
  EXPECT_EQ(d.ctl_socket({"unban", "41"}).exit_code, 0);
}

TEST(ApiClient, SetAffinityLikeTheSeedTool) {
  ApiDaemon d;
  ASSERT_TRUE(d.wait_ready()) << d.log();
  const std::string token = d.token_file().string();
  auto r = d.ctl({"--token-file", token, "--irq", "44", "--cpu", "4"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Successfully set affinity for IRQ 44\n");
  EXPECT_EQ(d.host().masks().at("44"), "0004\n");
  const auto status = json_of(d.ctl({"status", "--json"}));
  EXPECT_THAT(status["pinned"].dump(), HasSubstr(R"({"cpus":"2","irq":44})")) << status.dump();

  // Kernel-managed: the kernel (here the fake root's 0444 file) refuses.
  r = d.ctl({"--token-file", token, "--irq", "50", "--cpu", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Failed to set affinity for IRQ 50: "));
  EXPECT_THAT(r.err, HasSubstr("(HTTP 409), outcome managed"));
  r = d.ctl({"--token-file", token, "--irq", "999", "--cpu", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Failed to set affinity for IRQ 999: "));
}

TEST(ApiClient, NoDaemonIsExitOneSayingSo) {
  FakeHost host;
  const auto r = testing::run_command({IRQBPFCTL_BINARY, "--socket", (host.dir() / "none.sock").string(), "status"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "irqbpfctl: cannot connect to " + (host.dir() / "none.sock").string() +
                       ": No such file or directory (is irqbpfd running?)\n");
}

// tmux on a socket of the test's own, killed with the test.
class Tmux {
 public:
  explicit Tmux(fs::path dir) : socket_((dir / "tmux.sock").string()) {}
  ~Tmux() { testing::run_command({"/usr/bin/tmux", "-S", socket_, "kill-server"}); }
  Tmux(const Tmux&) = delete;
  Tmux& operator=(const Tmux&) = delete;
  CommandResult operator()(std::vector<std::string> args) const {
    std::vector<std::string> argv = {"/usr/bin/tmux", "-S", socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_command(argv);
  }
  // The pane's text once it contains `text` (empty on time-out).
  std::string wait_for(const std::string& text, std::chrono::milliseconds limit = 10s) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      const auto r = (*this)({"capture-pane", "-p", "-t", "top"});
      if (r.out.find(text) != std::string::npos) return r.out;
      std::this_thread::sleep_for(100ms);
    }
    return "";
  }

 private:
  std::string socket_;
};

TEST(ApiClient, TopShowsTheIrqsInATerminalAndQuitsOnQ) {
  if (!fs::exists("/usr/bin/tmux")) GTEST_SKIP() << "no tmux (scripts/install-deps.sh installs it)";
  ApiDaemon d;
  ASSERT_TRUE(d.wait_ready()) << d.log();
  Tmux tmux(d.host().dir());
  const fs::path rc = d.host().dir() / "top.rc";
  const std::string command = std::string(IRQBPFCTL_BINARY) + " --url http://127.0.0.1 --port " + std::to_string(d.port()) +
                              " top --interval 0.3; echo $? > " + rc.string() + "; stty -a > " + rc.string() +
                              ".tmp && mv " + rc.string() + ".tmp " + rc.string() + ".stty; sleep 60";
  auto r = tmux({"new-session", "-d", "-s", "top", "-x", "120", "-y", "40", command});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::string screen = tmux.wait_for("eth0-TxRx-7");
  ASSERT_FALSE(screen.empty()) << tmux({"capture-pane", "-p", "-t", "top"}).out << d.log();
  EXPECT_THAT(screen, HasSubstr("irqbpfctl top  http://127.0.0.1:" + std::to_string(d.port())));
  EXPECT_THAT(screen, HasSubstr("sort: rate"));
  EXPECT_THAT(screen, HasSubstr("HANDLER%"));
  for (const char* irq : {"    40 ", "    45 ", "    50 ", "    51 "}) EXPECT_THAT(screen, HasSubstr(irq));
  EXPECT_THAT(screen, HasSubstr(" 15 ["));  // the 16th CPU's bar

  ASSERT_EQ(tmux({"send-keys", "-t", "top", "i"}).exit_code, 0);
  screen = tmux.wait_for("sort: irq");
  ASSERT_FALSE(screen.empty());
  EXPECT_LT(screen.find("    40 "), screen.find("    51 "));

  ASSERT_EQ(tmux({"send-keys", "-t", "top", "q"}).exit_code, 0);
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!fs::exists(rc.string() + ".stty") && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(read_text(rc), "0\n");
  // The terminal is back in cooked mode with echo (the .stty file appears
  // whole: written aside, then renamed).
  const std::string stty = read_text(rc.string() + ".stty");
  EXPECT_THAT(stty, HasSubstr(" icanon "));
  EXPECT_THAT(stty, HasSubstr(" echo "));
}

}  // namespace
}  // namespace irqbpfd::daemon
