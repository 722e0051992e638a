// The model behind `irqbpfctl top`: rows from a /v1/irqs answer, sorted by a
// key, and the whole screen as lines of a given width and height. Pure: the
// terminal layer (tui/top_screen.hpp) only puts these lines up and reads keys.
//
// Rates and loads are the daemon's window fields (count / window_s, ns /
// window_s): /v1/irqs counts per window, not since boot, so the deltas of two
// readings would say nothing; the picture changes once per daemon cycle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/api/client_format.hpp"
#include "irqbpfd/core/result.hpp"

namespace irqbpfd::api {

enum class TopSort { kRate, kHandler, kSoftirq, kLoad, kIrq };

// The keys: r rate, h handler, s softirq, l load, i IRQ number.
std::optional<TopSort> top_sort_for_key(int key);
std::string_view top_sort_name(TopSort sort);

// One IRQ over the daemon's window.
struct TopRow {
  std::uint32_t irq = 0;
  std::string name;
  std::uint64_t count = 0;
  std::optional<std::uint64_t> hardirq_ns;  // handler time (BPF)
  std::optional<std::uint64_t> softirq_ns;  // softirq time it raised (BPF)
  std::optional<std::uint64_t> load_ns;     // the two, or the /proc estimate
  bool load_estimated = false;
  std::optional<std::uint32_t> top_cpu;     // the CPU that served it most
};

// One CPU: what the IRQs above did on it in the window.
struct TopCpu {
  std::uint32_t cpu = 0;
  std::uint64_t count = 0;
  std::optional<std::uint64_t> load_ns;  // nullopt: no IRQ's load is known
  bool load_estimated = false;
};

struct TopView {
  std::string collector;
  double window_s = 0;
  std::vector<TopRow> rows;  // in the answer's order; sort_rows() orders them
  std::vector<TopCpu> cpus;  // ascending
};

// From the body of GET /v1/irqs, whose per_cpu lists only the CPUs each IRQ
// was active on; the body of GET /v1/cpus, when given, adds a bar for every
// online CPU, idle ones included.
core::Result<TopView> top_view(const Json& irqs_body, const Json* cpus_body = nullptr);

// Biggest first for rate, handler, softirq and load (unknown last), IRQ
// number ascending for kIrq; ties always by IRQ number.
void sort_rows(std::vector<TopRow>& rows, TopSort sort);

// The table's header and rows, exactly `width` columns or fewer (the name
// is cut to fit).
std::string top_header(std::size_t width);
std::string top_row_text(const TopRow& row, double window_s, std::size_t width);
// "  1 [|||||       ]  12.34%  1235/s" in `width` columns.
std::string top_cpu_text(const TopCpu& cpu, double window_s, std::size_t width);

// The whole screen: a title, the CPU bars (several to a line when wide,
// at most a third of the height), the IRQ table cut to fit, and `status` on
// the last line. No line is wider than `width`, and there are at most
// `height` lines. `header_line` is the table header's index, for the terminal
// to highlight (none when the screen is too short to show it).
struct TopScreen {
  std::vector<std::string> lines;
  std::optional<std::size_t> header_line;
};
TopScreen render_top(const TopView& view, TopSort sort, std::size_t width, std::size_t height, std::string_view source,
                     std::string_view status);

}  // namespace irqbpfd::api
