// The daemon's control surface for the API: read the published Status, and
// run commands (pin, unpin, ban, unban, rescan, set affinity now) on the
// daemon's own loop, which wakes for them between cycles. A command waits a
// bounded time for its answer, so a busy daemon gives 504, never a hang,
// and the loop never waits on a client.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"

namespace irqbpfd::daemon {

struct Status;

struct Command {
  enum class Kind { kPin, kUnpin, kBan, kUnban, kRescan, kSetAffinity };
  Kind kind = Kind::kRescan;
  core::IrqNumber irq{};
  core::CpuSet cpus;  // pin, set affinity
};

// The answer: an HTTP-like status (200, 202, 400, 404, 409) with facts.
struct CommandResult {
  int status = 200;
  std::string message;            // what happened, or what was wrong
  std::string outcome;            // set affinity: done, managed, invalid, ... ("" otherwise)
  std::optional<core::CpuSet> smp_affinity;
  std::optional<core::CpuSet> effective_affinity;
  bool pinned = false;
};

// Commands from other threads to the loop; an eventfd wakes the loop.
class CommandQueue {
 public:
  CommandQueue() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~CommandQueue() {
    if (fd_ >= 0) ::close(fd_);
  }
  CommandQueue(const CommandQueue&) = delete;
  CommandQueue& operator=(const CommandQueue&) = delete;

  [[nodiscard]] int event_fd() const { return fd_; }
  std::future<CommandResult> submit(Command command) {
    std::promise<CommandResult> p;
    auto f = p.get_future();
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      queue_.emplace_back(std::move(command), std::move(p));
    }
    const std::uint64_t one = 1;
    if (::write(fd_, &one, sizeof one) != sizeof one) { /* the counter saturates: the loop wakes anyway */ }
    return f;
  }
  // Takes every queued command (the loop calls this when woken).
  std::vector<std::pair<Command, std::promise<CommandResult>>> take() {
    std::uint64_t n = 0;
    if (::read(fd_, &n, sizeof n) < 0) { /* nothing pending */ }
    const std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::pair<Command, std::promise<CommandResult>>> out(std::make_move_iterator(queue_.begin()),
                                                                      std::make_move_iterator(queue_.end()));
    queue_.clear();
    return out;
  }

 private:
  int fd_;
  std::mutex mutex_;
  std::deque<std::pair<Command, std::promise<CommandResult>>> queue_;
};

// What the API server sees of a running daemon.
class DaemonControl {
 public:
  virtual ~DaemonControl() = default;
  [[nodiscard]] virtual std::shared_ptr<const Status> status() const = 0;
  // Runs `command` on the loop; 504 when it did not answer within `wait`.
  virtual CommandResult command(const Command& command, std::chrono::milliseconds wait) = 0;
  // Interrupts each CPU handled over `seconds` from now (all rows of
  // /proc/interrupts), measured by reading twice; the caller's thread sleeps.
  virtual core::Result<std::vector<std::pair<core::CpuId, std::uint64_t>>> measure_interrupts(double seconds) = 0;
  // /proc/interrupts as it reads now (the raw view): read per request
  // rather than kept, as it is megabytes on a large machine.
  virtual core::Result<std::string> interrupts_text() = 0;
};

}  // namespace irqbpfd::daemon
