// Which BPF programs a process has attached, and whether they are still
// loaded: for tests that check irqbpfd detached everything it attached.
#pragma once

#include <string>
#include <vector>

namespace irqbpfd::testing {

// The ids of the programs that process `pid` has attached: the prog_id of
// each bpf_link it holds open (from /proc/PID/fdinfo). Empty once it exits.
std::vector<unsigned> attached_program_ids(int pid);
// How many of `ids` are still loaded, waiting (bounded) for the kernel to
// free them after their last fd closed (an RCU grace period).
int still_loaded(const std::vector<unsigned>& ids);

}  // namespace irqbpfd::testing
