// The daemon on this machine, read-only: `irqbpfd --dry-run` with the BPF
// collector runs a few cycles on the live kernel, answers SIGUSR1 with its
// status and SIGTERM by exiting cleanly with its programs detached, and
// every real /proc/irq/*/smp_affinity reads as before (nothing written).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "background.hpp"
#include "bpf_inspect.hpp"

namespace irqbpfd {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using testing::read_text;

std::map<std::string, std::string> live_masks() {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator("/proc/irq")) {
    if (fs::exists(e.path() / "smp_affinity")) out[e.path().filename().string()] = read_text(e.path() / "smp_affinity");
  }
  return out;
}

TEST(LiveDaemon, DryRunCyclesWithBpfStopsCleanlyAndWritesNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (BPF programs on the irq tracepoints)";
  const auto before = live_masks();
  const fs::path dir = fs::temp_directory_path() / ("irqbpfd-live-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "none.conf") << "# defaults\n";
  const fs::path log = dir / "log";
  testing::Background daemon({IRQBPFD_BINARY, "--dry-run", "--collector", "bpf", "--interval", "0.3", "--lock-file",
                              (dir / "lock").string(), "--config", (dir / "none.conf").string(), "--log-level", "debug", "--no-http", "--socket", (dir / "sock").string(), "--token-file",
                              (dir / "token").string()},
                             log);
  const pid_t pid = daemon.pid();
  ASSERT_GT(pid, 0);

  ASSERT_TRUE(daemon.wait_for("running:", 20s)) << read_text(log);
  // Ask for the status line until it shows a few cycles (sanitizer builds
  // start slower).
  std::smatch m;
  std::string text;
  const std::regex status_line("status: cycle ([0-9]+), [a-z]+, collector ([a-z_]+)");
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(::kill(pid, SIGUSR1), 0);
    std::this_thread::sleep_for(300ms);
    text = read_text(log);
    std::smatch last;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), status_line); it != std::sregex_iterator(); ++it) {
      last = *it;
    }
    m = last;
    if (!m.empty() && std::stoi(m[1].str()) >= 3) break;
  }
  ASSERT_FALSE(m.empty()) << text;
  EXPECT_GE(std::stoi(m[1].str()), 3) << text;
  EXPECT_EQ(m[2].str(), "bpf") << text;
  EXPECT_THAT(text, ::testing::HasSubstr("(dry run)"));
  // Its own links, so BPF programs other tests load meanwhile do not count.
  const std::vector<unsigned> attached = testing::attached_program_ids(pid);
  EXPECT_EQ(attached.size(), 5U) << "the five programs are attached while it runs";

  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_exit(), 0) << read_text(log);
  EXPECT_THAT(read_text(log), ::testing::HasSubstr("stopping (SIGTERM)"));
  EXPECT_EQ(testing::still_loaded(attached), 0) << "programs left loaded";
  EXPECT_EQ(live_masks(), before) << "a dry run wrote to /proc/irq";
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace irqbpfd
