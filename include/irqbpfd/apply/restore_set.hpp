// RestoreSet: every IRQ's smp_affinity as it was at one moment, to write back
// later (--restore-on-exit). Captured through KernelFiles, restored through
// an AffinityWriter, so a restore writes only what changed since.
#pragma once

#include <map>
#include <vector>

#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/apply/kernel_files.hpp"
#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"

namespace irqbpfd::apply {

class RestoreSet {
 public:
  // Lists /proc/irq (numeric entries: "0", "36"; not "default_smp_affinity")
  // and reads each smp_affinity. An IRQ that vanishes between the listing and
  // its read is left out; one that cannot be read or parsed otherwise is kept
  // in unreadable(). Fails only when /proc/irq cannot be listed.
  static core::Result<RestoreSet> capture(const KernelFiles& files);

  [[nodiscard]] const std::map<core::IrqNumber, core::CpuSet>& masks() const { return masks_; }
  [[nodiscard]] const std::map<core::IrqNumber, core::Error>& unreadable() const { return unreadable_; }

  // Writes every captured mask back, ascending IRQ, one result per IRQ:
  // unchanged where nothing moved; vanished for IRQs freed since (not
  // written, nothing created); managed ones left alone (a 0444 file is not
  // written, an EIO/EPERM refusal is not retried).
  [[nodiscard]] std::vector<WriteResult> restore(AffinityWriter& writer) const;

 private:
  RestoreSet() = default;
  std::map<core::IrqNumber, core::CpuSet> masks_;
  std::map<core::IrqNumber, core::Error> unreadable_;
};

}  // namespace irqbpfd::apply
