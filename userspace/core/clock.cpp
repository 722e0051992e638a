// SteadyClock: CLOCK_MONOTONIC time and sleeps that survive EINTR.
#include <cerrno>
#include <ctime>

#include "irqbpfd/core/clock.hpp"

namespace irqbpfd::core {

std::int64_t SteadyClock::monotonic_ns() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void SteadyClock::sleep_ns(std::int64_t duration_ns) {
  if (duration_ns <= 0) return;
  const std::int64_t until = monotonic_ns() + duration_ns;
  timespec deadline{static_cast<time_t>(until / 1'000'000'000), static_cast<long>(until % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
}

}  // namespace irqbpfd::core
