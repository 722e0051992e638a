// Clock: the one seam for time. The daemon and the collectors take a Clock so
// tests can run windows without sleeping.
#pragma once

#include <cstdint>

namespace irqbpfd::core {

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual std::int64_t monotonic_ns() const = 0;
  // Sleeps; returns 0 when the time is up, or the number of the stop signal
  // (SIGINT or SIGTERM) that ended the sleep early.
  virtual int sleep_ns(std::int64_t duration_ns) = 0;
};

// CLOCK_MONOTONIC. While sleeping, SIGINT and SIGTERM are blocked and waited
// for (sigtimedwait), so a stop request ends the sleep and the caller can
// unwind and release what it holds instead of dying mid-way.
class SteadyClock final : public Clock {
 public:
  [[nodiscard]] std::int64_t monotonic_ns() const override;
  int sleep_ns(std::int64_t duration_ns) override;
};

// CPU time this thread has used (CLOCK_THREAD_CPUTIME_ID), in microseconds:
// what a tick or a plan cost, whatever else runs.
double thread_cpu_us();

// A clock that only moves when slept on: for tests and replays.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ns = 0) : now_ns_(start_ns) {}
  [[nodiscard]] std::int64_t monotonic_ns() const override { return now_ns_; }
  int sleep_ns(std::int64_t duration_ns) override {
    now_ns_ += duration_ns;
    return 0;
  }

 private:
  std::int64_t now_ns_;
};

}  // namespace irqbpfd::core
