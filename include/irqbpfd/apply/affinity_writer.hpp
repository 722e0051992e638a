// AffinityWriter: sets one IRQ's smp_affinity and says what became of it.
// ProcAffinityWriter does read-compare-write-readback on /proc/irq/N and
// classifies every errno into an Outcome; DryRunWriter reads the same files
// and records what it would write, writing nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/apply/kernel_files.hpp"
#include "irqbpfd/core/cpu_set.hpp"
#include "irqbpfd/core/types.hpp"

namespace irqbpfd::apply {

enum class Outcome {
  kDone,       // written and read back as written (or narrowed to online CPUs)
  kUnchanged,  // smp_affinity already held the mask: nothing written
  kManaged,    // the kernel owns this IRQ's affinity (EIO up to 6.11, EPERM from
               // 6.12, or a read-only 0444 smp_affinity): never retry, not an error
  kNoVectors,  // ENOSPC: no free interrupt vector on the mask's CPUs
  kInvalid,    // EINVAL: e.g. no online CPU in the mask; or an empty mask, not written
  kVanished,   // ENOENT: the IRQ was freed (its /proc/irq/N is gone)
  kFailed,     // any other errno, an unparsable file, or a read-back the kernel
               // does not explain
  kDryRun,     // a dry run found a write to make and made none
};

// Stable names for JSON and logs: "done", "unchanged", "managed",
// "no-vectors", "invalid", "vanished", "failed", "dry-run".
std::string_view to_string(Outcome outcome);

// The write errno table: EIO, EPERM -> managed; ENOSPC -> no-vectors;
// EINVAL -> invalid; ENOENT -> vanished; 0 -> done; anything else (EACCES,
// EBUSY: a vector move still in flight, ...) -> failed.
Outcome outcome_for_errno(int errno_value);

// Whether an outcome leaves nothing to do for the move: done, unchanged,
// managed (the kernel's call, final) and dry-run.
bool is_settled(Outcome outcome);

struct WriteResult {
  core::IrqNumber irq{};
  core::CpuSet requested;
  Outcome outcome = Outcome::kFailed;
  int errno_value = 0;  // of the call that decided the outcome; 0 when none failed
  // Names the IRQ and the file: "irq 36: smp_affinity: kernel-managed (EPERM)",
  // "irq 41: smp_affinity: 0-1 -> 1".
  std::string message;
  // The masks as last read: smp_affinity before the write, and after it (a
  // refused write leaves it as it was); effective_affinity after, where the
  // kernel has the file (x86: the one CPU the vector is on). nullopt when the
  // file could not be read.
  std::optional<core::CpuSet> previous;
  std::optional<core::CpuSet> smp_affinity;
  std::optional<core::CpuSet> effective_affinity;
};

class AffinityWriter {
 public:
  virtual ~AffinityWriter() = default;
  // "proc", "dry-run": for Status and logs.
  [[nodiscard]] virtual std::string_view name() const = 0;
  virtual WriteResult write(core::IrqNumber irq, const core::CpuSet& mask) = 0;
};

// The real writer, through `files` (which must outlive it). Per write:
//   read smp_affinity        ENOENT: vanished; equal to the mask: unchanged
//   mode of smp_affinity     0444 (no owner-write bit): managed, not written
//                            (root bypasses the bit on a plain file system;
//                            the kernel still refuses, so the bit is checked)
//   write "<mask>\n"         to_mask(nr_cpu_ids): "80,00000001" for CPUs
//                            {0,39} of 40; errno -> outcome_for_errno()
//   read smp_affinity back   the mask, or the mask & online CPUs
//                            (/sys/devices/system/cpu/online): done; else failed
//   read effective_affinity  when present, reported
// An empty mask (or one with no CPU below nr_cpu_ids) is invalid and not
// written: the kernel would refuse it with EINVAL anyway.
class ProcAffinityWriter final : public AffinityWriter {
 public:
  // nr_cpu_ids from sys::read_nr_cpu_ids().
  ProcAffinityWriter(KernelFiles& files, std::uint32_t nr_cpu_ids) : files_(files), nr_cpu_ids_(nr_cpu_ids) {}
  [[nodiscard]] std::string_view name() const override { return "proc"; }
  WriteResult write(core::IrqNumber irq, const core::CpuSet& mask) override;

 private:
  KernelFiles& files_;
  std::uint32_t nr_cpu_ids_;
};

// A write the dry run would have made: the IRQ's mask as read, and the mask.
struct PlannedWrite {
  core::IrqNumber irq{};
  core::CpuSet from;
  core::CpuSet to;
};

// Reads like ProcAffinityWriter up to the write (so vanished, unchanged,
// managed-by-mode and invalid come out the same), then records the write and
// reports dry-run instead of making it. It holds the files const: it cannot
// write.
class DryRunWriter final : public AffinityWriter {
 public:
  DryRunWriter(const KernelFiles& files, std::uint32_t nr_cpu_ids) : files_(files), nr_cpu_ids_(nr_cpu_ids) {}
  DryRunWriter(const KernelFiles&&, std::uint32_t) = delete;  // it keeps a reference
  [[nodiscard]] std::string_view name() const override { return "dry-run"; }
  WriteResult write(core::IrqNumber irq, const core::CpuSet& mask) override;
  // Every write it would have made, in call order.
  [[nodiscard]] const std::vector<PlannedWrite>& planned() const { return planned_; }

 private:
  const KernelFiles& files_;
  std::uint32_t nr_cpu_ids_;
  std::vector<PlannedWrite> planned_;
};

}  // namespace irqbpfd::apply
