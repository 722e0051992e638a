// attached_program_ids: a process's bpf_link fds; still_loaded: program ids
// the kernel still knows.
#include "bpf_inspect.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <thread>

namespace irqbpfd::testing {

std::vector<unsigned> attached_program_ids(int pid) {
  namespace fs = std::filesystem;
  std::vector<unsigned> ids;
  const fs::path fds = fs::path("/proc") / std::to_string(pid) / "fd";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fds, ec)) {
    std::error_code link_ec;
    const fs::path target = fs::read_symlink(e.path(), link_ec);
    if (link_ec || target.string() != "anon_inode:bpf_link") continue;
    std::ifstream info(fs::path("/proc") / std::to_string(pid) / "fdinfo" / e.path().filename());
    std::string key;
    while (info >> key) {
      if (key == "prog_id:") {
        unsigned id = 0;
        if (info >> id) ids.push_back(id);
        break;
      }
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

int still_loaded(const std::vector<unsigned>& ids) {
  const auto count = [&] {
    int n = 0;
    for (unsigned id : ids) {
      const int fd = bpf_prog_get_fd_by_id(id);
      if (fd >= 0) {
        ++n;
        close(fd);
      }
    }
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  int n = count();
  while (n != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    n = count();
  }
  return n;
}

}  // namespace irqbpfd::testing
