// Whether this process may load BPF tracing programs: root, or CAP_BPF and
// CAP_PERFMON in the effective set. Tests skip (saying why) only when not.
#pragma once

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace irqbpfd::testing {

inline bool has_capability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective & (1U << (cap % 32))) != 0;
}

// Empty when BPF may be loaded, else the reason to skip.
inline std::string bpf_privilege_missing() {
  if (geteuid() == 0) return "";
#ifndef CAP_BPF
  constexpr int kCapBpf = 39, kCapPerfmon = 38;
#else
  constexpr int kCapBpf = CAP_BPF, kCapPerfmon = CAP_PERFMON;
#endif
  if (has_capability(kCapBpf) && has_capability(kCapPerfmon)) return "";
  return "not root and no CAP_BPF + CAP_PERFMON";
}

}  // namespace irqbpfd::testing
