// SteadyClock: CLOCK_MONOTONIC time and sleeps that a stop signal can end.
#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <ctime>

#include "irqbpfd/core/clock.hpp"

namespace irqbpfd::core {

std::int64_t SteadyClock::monotonic_ns() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int SteadyClock::sleep_ns(std::int64_t duration_ns) {
  if (duration_ns <= 0) return 0;
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, &old);
  const std::int64_t deadline = monotonic_ns() + duration_ns;
  int caught = 0;
  for (std::int64_t left = duration_ns; left > 0; left = deadline - monotonic_ns()) {
    const timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    const int sig = sigtimedwait(&stop, nullptr, &ts);
    if (sig > 0) {
      caught = sig;
      break;
    }
    // EAGAIN: time is up (the loop condition re-checks); EINTR: another
    // signal's handler ran, keep waiting.
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return caught;
}

double thread_cpu_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

}  // namespace irqbpfd::core
