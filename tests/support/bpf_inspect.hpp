// Which BPF programs are loaded in the kernel, by name: for tests that check
// irqbpfd detached everything it attached.
#pragma once

#include <string>
#include <vector>

namespace irqbpfd::testing {

// Names of every loaded BPF program (needs CAP_SYS_ADMIN or root).
std::vector<std::string> loaded_bpf_program_names();
// How many loaded programs carry one of irq_stats' program names.
int loaded_irqbpfd_programs();

}  // namespace irqbpfd::testing
