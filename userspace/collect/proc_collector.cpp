// ProcCollector and FileCollector: one reading of the kernel's cumulative
// interrupt counters and CPU times. No deltas or rates here (the model does).
#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "irqbpfd/collect/collector.hpp"

namespace irqbpfd::collect {

core::Result<double> parse_uptime(std::string_view text) {
  // "350735.47 234388.90\n"
  const auto end = text.find_first_of(" \n");
  const std::string first(text.substr(0, end));
  double value = 0;
  auto [ptr, ec] = std::from_chars(first.data(), first.data() + first.size(), value);
  if (first.empty() || ec != std::errc() || ptr != first.data() + first.size() || value < 0) {
    return core::Error{fmt::format("/proc/uptime: expected seconds, found '{}'", first)};
  }
  return value;
}

core::Result<RawSample> ProcCollector::read() {
  RawSample sample;
  // Counts first, then the clock, then CPU time, back to back, so the three
  // describe (nearly) one instant. The rows of a recycled reading are
  // parsed into again.
  if (spare_) {
    sample.interrupts = std::move(*spare_);
    spare_.reset();
  }
  if (auto r = sys::read_proc_interrupts_into(root_, sample.interrupts, buffers_); !r) return r.error();
  if (auto r = read_times(sample); !r) return r.error();
  return sample;
}

core::Result<void> ProcCollector::read_times(RawSample& sample) {
  sample.monotonic_ns = clock_.monotonic_ns();
  auto stat = sys::read_proc_stat(root_);
  if (!stat) return stat.error();
  sample.stat = std::move(*stat);
  // /proc/softirqs and /proc/uptime are informative; their absence (old or
  // trimmed fake roots) is not fatal, but a malformed file is.
  if (root_.exists("/proc/softirqs")) {
    auto softirqs = sys::read_proc_softirqs(root_);
    if (!softirqs) return softirqs.error();
    sample.softirqs = std::move(*softirqs);
  }
  if (root_.exists("/proc/uptime")) {
    auto text = root_.read("/proc/uptime");
    if (!text) return text.error();
    auto uptime = parse_uptime(*text);
    if (!uptime) return uptime.error();
    sample.uptime_s = *uptime;
  }
  return {};
}

void ProcCollector::recycle(RawSample&& old) { spare_ = std::move(old.interrupts); }

core::Result<RawSample> FileCollector::read() {
  std::ifstream in(file_, std::ios::binary);
  if (!in) return core::errno_error(file_.string(), errno != 0 ? errno : ENOENT);
  std::ostringstream text;
  text << in.rdbuf();
  auto interrupts = sys::parse_proc_interrupts(text.str(), file_.string());
  if (!interrupts) return interrupts.error();
  RawSample sample;
  sample.interrupts = std::move(*interrupts);
  return sample;
}

}  // namespace irqbpfd::collect
