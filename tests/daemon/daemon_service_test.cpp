// The irqbpfd binary as a service on a fake machine root (a simulator root,
// never the live /proc/irq): one instance per lock, irqbalance refused
// unless --force, SIGHUP reloads (a bad file keeps the old configuration),
// SIGUSR1 logs a status line, SIGTERM stops, and --restore-on-exit writes
// back every mask it found.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "background.hpp"
#include "daemon_test_util.hpp"
#include "run_command.hpp"

namespace irqbpfd::daemon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using irqbpfd::testing::read_text;

std::string fmt_pid(const std::string& prefix, pid_t pid) { return prefix + std::to_string(pid); }

// Runs a command to completion: (exit status, stdout + stderr).
std::pair<int, std::string> testing_run(const std::vector<std::string>& args) {
  const auto r = irqbpfd::testing::run_command(args);
  return {r.exit_code, r.out + r.err};
}

// --once without --dry-run applies the plan (on the fake root only) and
// says so; the exit status tells whether every write took effect.
TEST(DaemonService, OnceAppliesThePlanAndItsExitStatusSaysWhetherAllWritesTookEffect) {
  FakeHost host;
  const auto before = host.masks();
  const auto once = [&] {
    return testing_run({IRQBPFD_BINARY, "--once", "--root", host.root().string(), "--collector", "proc", "--sample", "0",
                        "--config", (host.dir() / "none.conf").string()});
  };
  std::ofstream(host.dir() / "none.conf") << "# defaults\n";
  const auto [code, out] = once();
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("Plan (applied):"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("Applied: ([0-9]+) of ([0-9]+) writes took effect"))) << out;
  EXPECT_EQ(m[1].str(), m[2].str());
  EXPECT_NE(m[1].str(), "0");
  EXPECT_NE(host.masks(), before);
  // Writes the kernel side refuses (EACCES: the files belong to nobody and
  // irqbpfd runs without CAP_DAC_OVERRIDE; reading still works): every move
  // fails, exit status 4, and the report names the outcome.
  FakeHost broken;
  for (const auto& [irq, mask] : broken.masks()) {
    const fs::path f = broken.root() / "proc" / "irq" / irq / "smp_affinity";
    if (::chown(f.c_str(), 65534, 65534) != 0) GTEST_SKIP() << "cannot chown the fake files (not root?)";
  }
  std::ofstream(broken.dir() / "none.conf") << "# defaults\n";
  const auto [code2, out2] = testing_run({"/usr/bin/setpriv", "--bounding-set=-dac_override", IRQBPFD_BINARY, "--once",
                                          "--root", broken.root().string(), "--collector", "proc", "--sample", "0",
                                          "--config", (broken.dir() / "none.conf").string()});
  EXPECT_EQ(code2, 4) << out2;
  EXPECT_THAT(out2, ::testing::HasSubstr("Applied: 0 of "));
  EXPECT_THAT(out2, ::testing::HasSubstr(": failed ("));
}

TEST(DaemonService, OneInstancePerLockAndSigtermStopsIt) {
  FakeHost host;
  Service a(host, {});
  ASSERT_TRUE(a.wait_for("running: a cycle every 0.2 s")) << a.log();
  Service b(host, {}, "second");
  EXPECT_EQ(b.wait_exit(), 3) << b.log();
  EXPECT_THAT(b.log(), ::testing::HasSubstr(fmt_pid("another irqbpfd is running (pid ", a.pid())));
  a.signal(SIGTERM);
  EXPECT_EQ(a.wait_exit(), 0) << a.log();
  EXPECT_THAT(a.log(), ::testing::HasSubstr("stopping (SIGTERM)"));
}

TEST(DaemonService, IrqbalanceRunningIsRefusedUnlessForced) {
  FakeHost host;
  fs::create_directories(host.root() / "proc" / "4242");
  std::ofstream(host.root() / "proc" / "4242" / "comm") << "irqbalance\n";
  Service refused(host, {});
  EXPECT_EQ(refused.wait_exit(), 3) << refused.log();
  EXPECT_THAT(refused.log(), ::testing::HasSubstr("irqbalance (pid 4242) is running"));
  Service forced(host, {"--force"}, "forced");
  EXPECT_TRUE(forced.wait_for("running:")) << forced.log();
  forced.signal(SIGINT);
  EXPECT_EQ(forced.wait_exit(), 0) << forced.log();
}

TEST(DaemonService, SighupReloadsAndABadFileKeepsTheOldConfiguration) {
  FakeHost host;
  std::ofstream(host.dir() / "irqbpfd.conf") << "interval = 0.2\n";
  Service s(host, {});
  ASSERT_TRUE(s.wait_for("running:")) << s.log();
  std::ofstream(host.dir() / "irqbpfd.conf", std::ios::trunc) << "interval = 0.2\nbogus = 1\n";
  s.signal(SIGHUP);
  EXPECT_TRUE(s.wait_for("reload failed, keeping the old configuration: " + (host.dir() / "irqbpfd.conf").string() +
                         ": bogus: unknown key"))
      << s.log();
  std::ofstream(host.dir() / "irqbpfd.conf", std::ios::trunc) << "interval = 0.2\nlog_level = \"debug\"\n";
  s.signal(SIGHUP);
  EXPECT_TRUE(s.wait_for("configuration reloaded")) << s.log();
  s.signal(SIGUSR1);
  EXPECT_TRUE(s.wait_for("status: cycle")) << s.log();
  s.signal(SIGTERM);
  EXPECT_EQ(s.wait_exit(), 0) << s.log();
}

TEST(DaemonService, RestoreOnExitWritesBackEveryMask) {
  FakeHost host;
  const auto before = host.masks();
  Service s(host, {"--restore-on-exit"});
  ASSERT_TRUE(s.wait_for("moves")) << s.log();  // the isolated CPUs' IRQs were moved
  EXPECT_NE(host.masks(), before);
  s.signal(SIGTERM);
  EXPECT_EQ(s.wait_exit(), 0) << s.log();
  EXPECT_THAT(s.log(), ::testing::HasSubstr("restore-on-exit:"));
  EXPECT_EQ(host.masks(), before);
}

// systemd's side of Type=notify: a datagram socket in NOTIFY_SOCKET gets
// READY=1 with a STATUS, WATCHDOG=1 every WATCHDOG_USEC/2, RELOADING=1 then
// READY=1 around a SIGHUP, and STOPPING=1 on SIGTERM.
TEST(DaemonService, TalksToSystemdThroughNotifySocket) {
  FakeHost host;
  const fs::path sock = host.dir() / "notify";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::vector<std::string> got;
  const auto drain = [&] {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.emplace_back(buf, static_cast<std::size_t>(n));
  };
  const auto count = [&](const std::string& what) {
    return std::count_if(got.begin(), got.end(), [&](const std::string& m) { return m.find(what) != std::string::npos; });
  };
  Service s(host, {"--interval", "1"}, "notify", {"NOTIFY_SOCKET=" + sock.string(), "WATCHDOG_USEC=200000"});
  ASSERT_TRUE(s.wait_for("running:")) << s.log();
  std::this_thread::sleep_for(1500ms);
  drain();
  EXPECT_GE(count("READY=1"), 1) << "no READY=1";
  EXPECT_GE(count("STATUS=status: cycle"), 1);
  EXPECT_GE(count("WATCHDOG=1"), 5) << "the watchdog every 0.1 s, whatever the 1 s interval";
  s.signal(SIGHUP);
  std::this_thread::sleep_for(300ms);
  drain();
  EXPECT_GE(count("RELOADING=1"), 1);
  EXPECT_GE(count("READY=1"), 2);
  s.signal(SIGTERM);
  EXPECT_EQ(s.wait_exit(), 0) << s.log();
  drain();
  EXPECT_EQ(count("STOPPING=1"), 1);
  ::close(fd);
}

TEST(DaemonService, DryRunWritesNothing) {
  FakeHost host;
  const auto before = host.masks();
  Service s(host, {"--dry-run"});
  ASSERT_TRUE(s.wait_for("dry run, would write:")) << s.log();
  std::this_thread::sleep_for(500ms);
  s.signal(SIGTERM);
  EXPECT_EQ(s.wait_exit(), 0) << s.log();
  EXPECT_EQ(host.masks(), before);
}

}  // namespace
}  // namespace irqbpfd::daemon
