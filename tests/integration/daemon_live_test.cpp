// The daemon on this machine, read-only: `irqbpfd --dry-run` with the BPF
// collector runs a few cycles on the live kernel, answers SIGUSR1 with its
// status and SIGTERM by exiting cleanly with its programs detached, and
// every real /proc/irq/*/smp_affinity reads as before (nothing written).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "bpf_inspect.hpp"

extern char** environ;

namespace irqbpfd {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::map<std::string, std::string> live_masks() {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator("/proc/irq")) {
    if (fs::exists(e.path() / "smp_affinity")) out[e.path().filename().string()] = slurp(e.path() / "smp_affinity");
  }
  return out;
}

TEST(LiveDaemon, DryRunCyclesWithBpfStopsCleanlyAndWritesNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (BPF programs on the irq tracepoints)";
  const auto before = live_masks();
  const int baseline = testing::loaded_irqbpfd_programs();
  const fs::path dir = fs::temp_directory_path() / ("irqbpfd-live-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "none.conf") << "# defaults\n";
  const fs::path log = dir / "log";
  std::vector<std::string> args = {IRQBPFD_BINARY, "--dry-run",  "--collector", "bpf",
                                   "--interval",   "0.3",        "--lock-file", (dir / "lock").string(),
                                   "--config",     (dir / "none.conf").string(), "--log-level", "debug"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  // Wait for a few cycles, then ask for the status line.
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(::kill(pid, SIGUSR1), 0);
  std::smatch m;
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    text = slurp(log);
    if (std::regex_search(text, m, std::regex("status: cycle ([0-9]+), [a-z]+, collector ([a-z_]+)"))) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(m.empty()) << text;
  EXPECT_GE(std::stoi(m[1].str()), 3) << text;
  EXPECT_EQ(m[2].str(), "bpf") << text;
  EXPECT_THAT(text, ::testing::HasSubstr("(dry run)"));
  EXPECT_EQ(testing::loaded_irqbpfd_programs(), baseline + 5) << "the programs are attached while it runs";

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << slurp(log);
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(log);
  EXPECT_THAT(slurp(log), ::testing::HasSubstr("stopping (SIGTERM)"));
  const auto settle = std::chrono::steady_clock::now() + 3s;
  while (testing::loaded_irqbpfd_programs() != baseline && std::chrono::steady_clock::now() < settle) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(testing::loaded_irqbpfd_programs(), baseline) << "programs left attached";
  EXPECT_EQ(live_masks(), before) << "a dry run wrote to /proc/irq";
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace irqbpfd
