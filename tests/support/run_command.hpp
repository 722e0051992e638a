// run_command: runs a program (no shell), capturing exit status, stdout and
// stderr, for tests that drive the real binaries.
#pragma once

#include <string>
#include <vector>

namespace irqbpfd::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

CommandResult run_command(const std::vector<std::string>& argv);

}  // namespace irqbpfd::testing
