// Background: a program started with posix_spawn for tests that talk to a
// running irqbpfd (signals, logs), stdout to /dev/null and stderr to a file,
// killed and reaped if the test leaves it running. read_text(): a whole file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace irqbpfd::testing {

std::string read_text(const std::filesystem::path& file);

class Background {
 public:
  // `env_extra` ("NAME=value") is added to the test's own environment.
  Background(const std::vector<std::string>& argv, std::filesystem::path log, std::vector<std::string> env_extra = {});
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string log() const { return read_text(log_); }
  // Waits until the log shows `text` (false on time-out, or when the process
  // ended without printing it).
  bool wait_for(const std::string& text, std::chrono::milliseconds limit = std::chrono::seconds(10));
  void signal(int sig) const;
  // The exit status: -1 killed by a signal, -2 still running after `limit`.
  int wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(10));

 private:
  bool poll_exit();
  std::filesystem::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

}  // namespace irqbpfd::testing
