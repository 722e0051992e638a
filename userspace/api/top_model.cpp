// `irqbpfctl top` without the terminal: the view from a /v1/irqs answer,
// its sort orders, and the screen as lines cut to the terminal's size.
// Loads print as core::load_pct_text does in the report (% of one CPU, "~"
// for an estimate).
#include "irqbpfd/api/top_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "irqbpfd/core/text_table.hpp"

namespace irqbpfd::api {
namespace {

std::string cut(std::string s, std::size_t width) {
  if (s.size() > width) s.resize(width);
  return s;
}

// The value a row sorts by; nullopt sorts last.
std::optional<std::uint64_t> sort_key(const TopRow& r, TopSort sort) {
  switch (sort) {
    case TopSort::kRate: return r.count;
    case TopSort::kHandler: return r.hardirq_ns;
    case TopSort::kSoftirq: return r.softirq_ns;
    case TopSort::kLoad: return r.load_ns;
    case TopSort::kIrq: return r.irq;
  }
  return std::nullopt;
}

constexpr std::size_t kCpuCellWidth = 44;  // "  1 [" + a 20-column bar + "]  12.34%  1235/s"

}  // namespace

std::optional<TopSort> top_sort_for_key(int key) {
  switch (key) {
    case 'r': return TopSort::kRate;
    case 'h': return TopSort::kHandler;
    case 's': return TopSort::kSoftirq;
    case 'l': return TopSort::kLoad;
    case 'i': return TopSort::kIrq;
    default: return std::nullopt;
  }
}

std::string_view top_sort_name(TopSort sort) {
  switch (sort) {
    case TopSort::kRate: return "rate";
    case TopSort::kHandler: return "handler";
    case TopSort::kSoftirq: return "softirq";
    case TopSort::kLoad: return "load";
    case TopSort::kIrq: return "irq";
  }
  return "";
}

core::Result<TopView> top_view(const Json& body, const Json* cpus_body) {
  try {
    TopView view;
    view.window_s = body.at("window_s").get<double>();
    if (const auto c = body.find("collector"); c != body.end() && c->is_string()) view.collector = c->get<std::string>();
    std::map<std::uint32_t, TopCpu> cpus;
    if (cpus_body != nullptr) {
      for (const auto& c : cpus_body->at("cpus")) {
        if (!c.value("online", true)) continue;
        const auto cpu = c.at("cpu").get<std::uint32_t>();
        cpus[cpu].cpu = cpu;
      }
    }
    bool any_load = false;
    for (const auto& irq : body.at("irqs")) {
      TopRow row;
      row.irq = irq.at("irq").get<std::uint32_t>();
      if (const auto n = irq.find("name"); n != irq.end() && n->is_string()) row.name = n->get<std::string>();
      row.count = json_u64(irq, "count").value_or(0);
      row.hardirq_ns = json_u64(irq, "hardirq_ns");
      row.softirq_ns = json_u64(irq, "softirq_ns");
      row.load_ns = json_u64(irq, "load_ns");
      row.load_estimated = irq.value("load_estimated", false);
      row.top_cpu = busiest_cpu(irq);
      if (const auto pcs = irq.find("per_cpu"); pcs != irq.end() && pcs->is_array()) {
        for (const auto& pc : *pcs) {
          const auto cpu = pc.at("cpu").get<std::uint32_t>();
          TopCpu& c = cpus[cpu];
          c.cpu = cpu;
          c.count += json_u64(pc, "count").value_or(0);
          if (const auto ns = json_u64(pc, "load_ns")) {
            c.load_ns = c.load_ns.value_or(0) + *ns;
            c.load_estimated = c.load_estimated || row.load_estimated;
            any_load = true;
          }
        }
      }
      view.rows.push_back(std::move(row));
    }
    for (auto& [id, c] : cpus) {
      // A CPU no IRQ was active on costs nothing, when loads are known at all.
      if (any_load && !c.load_ns) c.load_ns = 0;
      view.cpus.push_back(c);
    }
    return view;
  } catch (const nlohmann::json::exception& e) {
    return core::Error{std::string("unexpected answer from irqbpfd to /v1/irqs or /v1/cpus: ") + e.what()};
  }
}

void sort_rows(std::vector<TopRow>& rows, TopSort sort) {
  std::sort(rows.begin(), rows.end(), [sort](const TopRow& a, const TopRow& b) {
    if (sort != TopSort::kIrq) {
      const auto ka = sort_key(a, sort);
      const auto kb = sort_key(b, sort);
      if (ka.has_value() != kb.has_value()) return ka.has_value();
      if (ka && *ka != *kb) return *ka > *kb;
    }
    return a.irq < b.irq;
  });
}

std::string top_header(std::size_t width) {
  return cut(fmt::format("{:>6}  {:>7}  {:>8}  {:>8}  {:>8}  {:>4}  {}", "IRQ", "IRQ/S", "HANDLER%", "SOFTIRQ%", "LOAD%", "CPU", "NAME"),
             width);
}

std::string top_row_text(const TopRow& row, double window_s, std::size_t width) {
  const std::string rate = window_s > 0 ? rate_text(static_cast<double>(row.count) / window_s) : "-";
  return cut(fmt::format("{:>6}  {:>7}  {:>8}  {:>8}  {:>8}  {:>4}  {}", row.irq, rate,
                         core::load_pct_text(row.hardirq_ns, window_s, false), core::load_pct_text(row.softirq_ns, window_s, false),
                         core::load_pct_text(row.load_ns, window_s, row.load_estimated),
                         row.top_cpu ? std::to_string(*row.top_cpu) : "-", row.name),
             width);
}

std::string top_cpu_text(const TopCpu& cpu, double window_s, std::size_t width) {
  const std::string pct = core::load_pct_text(cpu.load_ns, window_s, cpu.load_estimated);
  const std::string rate = window_s > 0 ? rate_text(static_cast<double>(cpu.count) / window_s) : "-";
  const std::string prefix = fmt::format("{:>3} [", cpu.cpu);
  const std::string suffix = fmt::format("] {:>7} {:>8}", pct == "-" ? pct : pct + "%", rate + "/s");
  const std::size_t fixed = prefix.size() + suffix.size();
  if (width < fixed + 3) return cut(fmt::format("{:>3} {} {}/s", cpu.cpu, pct, rate), width);
  const std::size_t bar = width - fixed;
  double share = 0;
  if (cpu.load_ns && window_s > 0) share = std::clamp(static_cast<double>(*cpu.load_ns) / (window_s * 1e9), 0.0, 1.0);
  auto filled = static_cast<std::size_t>(std::lround(share * static_cast<double>(bar)));
  if (filled == 0 && cpu.load_ns && *cpu.load_ns > 0) filled = 1;  // some load: show it
  return prefix + std::string(filled, '|') + std::string(bar - filled, ' ') + suffix;
}

TopScreen render_top(const TopView& view, TopSort sort, std::size_t width, std::size_t height, std::string_view source,
                     std::string_view status) {
  TopScreen screen;
  if (height == 0 || width == 0) return screen;
  auto& lines = screen.lines;
  lines.push_back(cut(fmt::format("irqbpfctl top  {}  collector {}, window {:.1f} s  sort: {} (r h s l i, q quits)", source,
                                  view.collector.empty() ? "-" : view.collector, view.window_s, top_sort_name(sort)),
                      width));
  // CPU bars, row-major, at most a third of the screen.
  const std::size_t per_line = std::max<std::size_t>(1, width / kCpuCellWidth);
  const std::size_t cell = width / per_line;
  const std::size_t max_lines = std::max<std::size_t>(1, height / 3);
  std::size_t cpu_lines = (view.cpus.size() + per_line - 1) / per_line;
  std::size_t hidden = 0;
  if (cpu_lines > max_lines) {
    cpu_lines = max_lines - 1;
    hidden = view.cpus.size() - cpu_lines * per_line;
  }
  for (std::size_t l = 0; l < cpu_lines; ++l) {
    std::string line;
    for (std::size_t k = 0; k < per_line && l * per_line + k < view.cpus.size(); ++k) {
      std::string c = top_cpu_text(view.cpus[l * per_line + k], view.window_s, cell - (k + 1 < per_line ? 2 : 0));
      if (k + 1 < per_line) c += "  ";
      line += c;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    lines.push_back(cut(line, width));
  }
  if (hidden > 0) lines.push_back(cut(fmt::format("    ... {} more CPUs (a bigger terminal shows them)", hidden), width));
  lines.emplace_back();
  screen.header_line = lines.size();
  lines.push_back(top_header(width));

  std::vector<TopRow> rows = view.rows;
  sort_rows(rows, sort);
  // The status line is the last; the rows fill what is between.
  const std::size_t room = height > lines.size() + 1 ? height - lines.size() - 1 : 0;
  const std::size_t shown = std::min(room, rows.size());
  for (std::size_t i = 0; i < shown; ++i) lines.push_back(top_row_text(rows[i], view.window_s, width));
  if (rows.empty() && room > 0) lines.push_back(cut("    no IRQs in the daemon's window", width));
  std::string last(status);
  if (shown < rows.size()) last += fmt::format("{}{} of {} IRQs shown", last.empty() ? "" : "  ", shown, rows.size());
  if (lines.size() + 1 > height) lines.resize(height - 1);
  while (lines.size() + 1 < height) lines.emplace_back();
  lines.push_back(cut(last, width));
  if (*screen.header_line + 1 >= lines.size()) screen.header_line.reset();
  return screen;
}

}  // namespace irqbpfd::api
