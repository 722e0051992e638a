// loaded_bpf_program_names: walk program ids with bpf_prog_get_next_id.
#include "bpf_inspect.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <array>

namespace irqbpfd::testing {

std::vector<std::string> loaded_bpf_program_names() {
  std::vector<std::string> names;
  __u32 id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;  // unloaded meanwhile
    bpf_prog_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) names.emplace_back(info.name);
    close(fd);
  }
  return names;
}

int loaded_irqbpfd_programs() {
  // The kernel keeps the first 15 characters of a program name.
  static const std::array<std::string, 10> kOurs = {"btf_irq_entry",     "btf_irq_exit",     "btf_softirq_rai",
                                                    "btf_softirq_ent",   "btf_softirq_exi",  "raw_irq_entry",
                                                    "raw_irq_exit",      "raw_softirq_rai",  "raw_softirq_ent",
                                                    "raw_softirq_exi"};
  int n = 0;
  for (const auto& name : loaded_bpf_program_names()) {
    if (std::find(kOurs.begin(), kOurs.end(), name.substr(0, 15)) != kOurs.end()) ++n;
  }
  return n;
}

}  // namespace irqbpfd::testing
