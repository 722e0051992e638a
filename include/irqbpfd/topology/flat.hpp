// A flat stand-in topology for CPUs whose machine we cannot see (a saved
// /proc/interrupts from elsewhere): one node, one package, one cache domain,
// one core per CPU.
#pragma once

#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/topology/machine.hpp"

namespace irqbpfd::topology {

Machine flat_machine(const core::CpuSet& cpus, std::string source);

}  // namespace irqbpfd::topology
