// `irqbpfctl top` on the terminal: the ncurses screen, the refresh loop and
// the keys. A thin layer over api/top_model.hpp, which decides every line;
// this file owns the terminal and gives it back on every way out.
#pragma once

#include <chrono>

#include "irqbpfd/api/client.hpp"
#include "irqbpfd/api/top_model.hpp"

namespace irqbpfd::tui {

struct TopOptions {
  std::chrono::milliseconds interval{1000};  // between two GET /v1/irqs
  api::TopSort sort = api::TopSort::kRate;
};

// Runs until `q`, SIGINT or SIGTERM, restoring the terminal (also on a
// resize, which redraws). Returns the exit status: 0, or 1 when the daemon
// cannot be reached at all (said on stderr before the screen is taken).
// Answers that fail later show on the status line and are retried.
int run_top(api::Requester& api, const TopOptions& options);

}  // namespace irqbpfd::tui
