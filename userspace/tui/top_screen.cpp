// The ncurses side of `irqbpfctl top`: a Curses guard (initscr .. endwin),
// SIGINT/SIGTERM handlers installed before initscr so ncurses leaves them to
// us (they only set a flag; getch() returns early), and the loop: fetch
// every interval, redraw on a key or KEY_RESIZE, quit on q.
#include "irqbpfd/tui/top_screen.hpp"

#include <curses.h>
#include <signal.h>

#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "irqbpfd/api/client_commands.hpp"

namespace irqbpfd::tui {
namespace {

volatile sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

// SIGINT and SIGTERM set g_stop while this lives; the old actions come back
// after. No SA_RESTART: a pending getch() returns at once.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// The terminal in curses mode while this lives.
class Curses {
 public:
  Curses() {
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
  }
  ~Curses() { endwin(); }
  Curses(const Curses&) = delete;
  Curses& operator=(const Curses&) = delete;
};

std::string clock_text() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &local);
  return buf;
}

void draw(const api::TopView& view, api::TopSort sort, const std::string& source, const std::string& status) {
  int rows = 0;
  int cols = 0;
  getmaxyx(stdscr, rows, cols);
  if (rows <= 0 || cols <= 0) return;
  const api::TopScreen screen =
      api::render_top(view, sort, static_cast<std::size_t>(cols), static_cast<std::size_t>(rows), source, status);
  erase();
  for (std::size_t i = 0; i < screen.lines.size(); ++i) {
    const bool header = screen.header_line == i;
    if (header) attron(A_REVERSE);
    mvaddnstr(static_cast<int>(i), 0, screen.lines[i].c_str(), cols);
    if (header) attroff(A_REVERSE);
  }
  refresh();
}

}  // namespace

int run_top(api::Requester& api, const TopOptions& options) {
  StopSignals signals;
  // Both views, cpus first: the IRQs' per_cpu lists only where each ran,
  // the CPU list gives the idle CPUs their (empty) bars.
  const auto fetch = [&api] { return std::pair{api.get("/v1/cpus"), api.get("/v1/irqs")}; };
  auto first = fetch();
  for (const auto* answer : {&first.first, &first.second}) {
    if (!*answer) {
      std::fprintf(stderr, "irqbpfctl: %s\n", answer->error().message.c_str());
      return 1;
    }
  }
  const std::string source = api.describe();
  const std::string every = fmt::format("every {:g} s", static_cast<double>(options.interval.count()) / 1000.0);
  api::TopView view;
  api::TopSort sort = options.sort;
  std::string status;
  std::optional<std::string> shown_at;  // when the view on screen was fetched
  const auto take = [&](const std::pair<core::Result<api::Response>, core::Result<api::Response>>& answers) {
    const auto cpus = api::answer_json(api, answers.first);
    const auto body = api::answer_json(api, answers.second);
    auto next = !cpus   ? core::Result<api::TopView>(cpus.error())
                : !body ? core::Result<api::TopView>(body.error())
                        : api::top_view(*body, &*cpus);
    const std::string now = clock_text();
    if (next) {
      view = std::move(*next);
      shown_at = now;
      status = fmt::format("updated {}, {}", now, every);
    } else {
      status = fmt::format("{}: {}{}", now, next.error().message,
                           shown_at ? fmt::format("; showing the answer of {}", *shown_at) : std::string());
    }
  };

  Curses curses;
  take(first);
  while (g_stop == 0) {
    draw(view, sort, source, status);
    const auto deadline = std::chrono::steady_clock::now() + options.interval;
    bool quit = false;
    while (g_stop == 0 && !quit) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      timeout(static_cast<int>(left.count()));
      const int key = getch();
      if (key == 'q' || key == 'Q') {
        quit = true;
      } else if (const auto s = api::top_sort_for_key(key)) {
        sort = *s;
        draw(view, sort, source, status);
      } else if (key == KEY_RESIZE) {
        draw(view, sort, source, status);
      }
    }
    if (quit) break;
    if (g_stop == 0) take(fetch());
  }
  return 0;
}

}  // namespace irqbpfd::tui
