// The affinity writers: the errno table, the reads both writers make before
// a write (current mask, mode), and ProcAffinityWriter's write and read-back
// against /proc/irq/N/{smp_affinity,effective_affinity}.
#include "irqbpfd/apply/affinity_writer.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace irqbpfd::apply {
namespace {

using core::CpuSet;

constexpr std::string_view kOnlinePath = "/sys/devices/system/cpu/online";

struct IrqPaths {
  std::string affinity;   // /proc/irq/36/smp_affinity
  std::string effective;  // /proc/irq/36/effective_affinity
};

IrqPaths paths_of(core::IrqNumber irq) {
  const std::string dir = fmt::format("/proc/irq/{}", core::raw(irq));
  return {dir + "/smp_affinity", dir + "/effective_affinity"};
}

// "EPERM"; glibc >= 2.32 names errnos.
std::string errno_name(int errno_value) {
  const char* name = ::strerrorname_np(errno_value);
  return name != nullptr ? name : fmt::format("errno {}", errno_value);
}

// What failed, without the path the error starts with (the message names the
// IRQ and file already): "/proc/irq/36/smp_affinity: Permission denied" ->
// "Permission denied (EACCES)"; an error without errno keeps its text.
std::string reason(const core::Error& error, std::string_view path) {
  std::string_view text = error.message;
  if (text.size() > path.size() + 2 && text.substr(0, path.size()) == path && text.substr(path.size(), 2) == ": ") {
    text.remove_prefix(path.size() + 2);
  }
  if (error.errno_value == 0) return std::string(text);
  return fmt::format("{} ({})", text, errno_name(error.errno_value));
}

// smp_affinity and effective_affinity hold a hex mask and a newline:
//   "80,00000001\n"   CPUs 0 and 39 of a 40-CPU machine
core::Result<CpuSet> read_mask(const KernelFiles& files, const std::string& path) {
  auto text = files.read(path);
  if (!text) return text.error();
  auto set = CpuSet::parse_mask(*text);
  if (!set) return set.error().with_context(path);
  return set;
}

WriteResult begin(core::IrqNumber irq, const CpuSet& mask) {
  WriteResult r;
  r.irq = irq;
  r.requested = mask;
  return r;
}

void settle(WriteResult& r, Outcome outcome, int errno_value, std::string detail) {
  r.outcome = outcome;
  r.errno_value = errno_value;
  r.message = fmt::format("irq {}: smp_affinity: {}", core::raw(r.irq), detail);
}

// effective_affinity exists with CONFIG_GENERIC_IRQ_EFFECTIVE_AFF_MASK (x86:
// the one CPU holding the vector). Its absence is normal; any other failure
// leaves it unknown and is said in the message, without changing the outcome.
void read_effective(const KernelFiles& files, WriteResult& r, const IrqPaths& paths) {
  auto set = read_mask(files, paths.effective);
  if (set) {
    r.effective_affinity = std::move(*set);
  } else if (set.error().errno_value != ENOENT) {
    r.message += fmt::format("; effective_affinity: {}", reason(set.error(), paths.effective));
  }
}

// /sys/devices/system/cpu/online: "0-1\n".
core::Result<CpuSet> read_online(const KernelFiles& files) {
  const std::string path(kOnlinePath);
  auto text = files.read(path);
  if (!text) return text.error();
  auto set = CpuSet::parse_list(*text);
  if (!set) return set.error().with_context(path);
  return set;
}

// Everything before the write, the same for both writers. True when a write
// of `target` is due (r.previous then holds the current mask); false when `r`
// is final: invalid, vanished, unreadable, unchanged or managed by mode.
bool prepare(const KernelFiles& files, WriteResult& r, const CpuSet& target, std::uint32_t nr_cpu_ids,
             const IrqPaths& paths) {
  if (target.empty()) {
    settle(r, Outcome::kInvalid, 0,
           r.requested.empty()
               ? "empty mask: invalid, not written"
               : fmt::format("{} has no CPU below nr_cpu_ids {}: invalid, not written", r.requested.to_list(),
                             nr_cpu_ids));
    return false;
  }
  auto current = read_mask(files, paths.affinity);
  if (!current) {
    const int e = current.error().errno_value;
    if (e == ENOENT) {
      settle(r, Outcome::kVanished, e, "vanished (ENOENT)");
    } else {
      settle(r, Outcome::kFailed, e, reason(current.error(), paths.affinity));
    }
    return false;
  }
  r.previous = *current;
  r.smp_affinity = *current;
  if (*current == target) {
    settle(r, Outcome::kUnchanged, 0, fmt::format("already {}", target.to_list()));
    read_effective(files, r, paths);
    return false;
  }
  // Kernels that know an IRQ refuses affinity changes (managed, or
  // IRQD_NO_BALANCING) create its smp_affinity 0444. Root's writes pass the
  // mode on a plain file system, so the bit is the kernel's refusal here.
  auto mode = files.mode(paths.affinity);
  if (!mode) {
    const int e = mode.error().errno_value;
    if (e == ENOENT) {
      settle(r, Outcome::kVanished, e, "vanished (ENOENT)");
    } else {
      settle(r, Outcome::kFailed, e, reason(mode.error(), paths.affinity));
    }
    return false;
  }
  if ((*mode & 0200U) == 0) {
    settle(r, Outcome::kManaged, 0, fmt::format("kernel-managed (mode {:04o}), not written", *mode));
    read_effective(files, r, paths);
    return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kDone: return "done";
    case Outcome::kUnchanged: return "unchanged";
    case Outcome::kManaged: return "managed";
    case Outcome::kNoVectors: return "no-vectors";
    case Outcome::kInvalid: return "invalid";
    case Outcome::kVanished: return "vanished";
    case Outcome::kFailed: return "failed";
    case Outcome::kDryRun: return "dry-run";
  }
  return "failed";
}

Outcome outcome_for_errno(int errno_value) {
  switch (errno_value) {
    case 0: return Outcome::kDone;
    // write_irq_affinity() refuses IRQs that !irq_can_set_affinity_usr()
    // (managed, per-CPU, no-balancing): -EIO until 6.11, -EPERM since 6.12.
    case EIO:
    case EPERM: return Outcome::kManaged;
    // x86 vector allocator: no free vector on any CPU of the mask.
    case ENOSPC: return Outcome::kNoVectors;
    // No online CPU in the mask, or a mask the parser refused.
    case EINVAL: return Outcome::kInvalid;
    case ENOENT: return Outcome::kVanished;
    default: return Outcome::kFailed;
  }
}

bool is_settled(Outcome outcome) {
  return outcome == Outcome::kDone || outcome == Outcome::kUnchanged || outcome == Outcome::kManaged ||
         outcome == Outcome::kDryRun;
}

WriteResult ProcAffinityWriter::write(core::IrqNumber irq, const CpuSet& mask) {
  WriteResult r = begin(irq, mask);
  const IrqPaths paths = paths_of(irq);
  const CpuSet target = mask & CpuSet::first_n(nr_cpu_ids_);
  if (!prepare(files_, r, target, nr_cpu_ids_, paths)) return r;

  if (auto wrote = files_.write(paths.affinity, target.to_mask(nr_cpu_ids_) + "\n"); !wrote) {
    const int e = wrote.error().errno_value;
    // A failure without errno (a short write) is not a done.
    const Outcome outcome = e == 0 ? Outcome::kFailed : outcome_for_errno(e);
    switch (outcome) {
      case Outcome::kManaged: settle(r, outcome, e, fmt::format("kernel-managed ({})", errno_name(e))); break;
      case Outcome::kNoVectors:
        settle(r, outcome, e, fmt::format("no free vectors on CPU(s) {} ({})", target.to_list(), errno_name(e)));
        break;
      case Outcome::kInvalid:
        settle(r, outcome, e, fmt::format("kernel refused {} ({})", target.to_list(), errno_name(e)));
        break;
      case Outcome::kVanished:
        settle(r, outcome, e, "vanished (ENOENT)");
        return r;
      default: settle(r, Outcome::kFailed, e, reason(wrote.error(), paths.affinity)); break;
    }
    read_effective(files_, r, paths);  // a refused write leaves smp_affinity as it was
    return r;
  }

  auto after = read_mask(files_, paths.affinity);
  if (!after) {
    const int e = after.error().errno_value;
    if (e == ENOENT) {
      settle(r, Outcome::kVanished, e, "vanished after the write (ENOENT)");
    } else {
      settle(r, Outcome::kFailed, e, fmt::format("read back: {}", reason(after.error(), paths.affinity)));
    }
    r.smp_affinity.reset();
    return r;
  }
  r.smp_affinity = *after;
  const std::string change = fmt::format("{} -> {}", r.previous->to_list(), after->to_list());
  if (*after == target) {
    settle(r, Outcome::kDone, 0, change);
  } else if (auto online = read_online(files_); !online) {
    settle(r, Outcome::kFailed, 0,
           fmt::format("read back {} after writing {}; online CPUs unknown: {}", after->to_list(), target.to_list(),
                       online.error().message));
  } else if (const CpuSet kept = target & *online; !kept.empty() && *after == kept) {
    // Some kernels and chips store only the online part of a mask.
    settle(r, Outcome::kDone, 0,
           fmt::format("{} (of {}; {} offline)", change, target.to_list(), (target - kept).to_list()));
  } else {
    // Another writer in between (irqbalance), or a kernel that changed it.
    settle(r, Outcome::kFailed, 0, fmt::format("read back {} after writing {}", after->to_list(), target.to_list()));
  }
  read_effective(files_, r, paths);
  return r;
}

WriteResult DryRunWriter::write(core::IrqNumber irq, const CpuSet& mask) {
  WriteResult r = begin(irq, mask);
  const IrqPaths paths = paths_of(irq);
  const CpuSet target = mask & CpuSet::first_n(nr_cpu_ids_);
  if (!prepare(files_, r, target, nr_cpu_ids_, paths)) return r;
  planned_.push_back({irq, *r.previous, target});
  settle(r, Outcome::kDryRun, 0,
         fmt::format("would write {} -> {} (dry run)", r.previous->to_list(), target.to_list()));
  read_effective(files_, r, paths);
  return r;
}

}  // namespace irqbpfd::apply
