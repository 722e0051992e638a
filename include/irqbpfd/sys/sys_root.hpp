// SysRoot: the one door to /proc and /sys. Every kernel path the project reads
// or writes is resolved under a root directory ("/" on a live machine, a fake
// tree in tests and with --root DIR), so nothing else spells an absolute path.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/core/result.hpp"

namespace irqbpfd::sys {

class SysRoot {
 public:
  explicit SysRoot(std::filesystem::path root);

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  // True when the root is the real "/" (BPF and hwloc's live mode only then).
  [[nodiscard]] bool is_live() const { return live_; }

  // `kernel_path` is absolute as the kernel spells it ("/proc/interrupts");
  // the result lies under the root.
  [[nodiscard]] std::filesystem::path path(std::string_view kernel_path) const;

  // Whole file. Errors name the kernel path and carry errno, e.g.
  // "/proc/irq/42/smp_affinity: No such file or directory" (ENOENT).
  [[nodiscard]] core::Result<std::string> read(std::string_view kernel_path) const;
  // Whole file in pieces: each read(2) into `buffer` (64 KiB when empty) is
  // passed to `on_data` until EOF or until it returns false. For files too
  // big to hold whole, e.g. /proc/interrupts on a large machine.
  [[nodiscard]] core::Result<void> read_stream(std::string_view kernel_path, std::string& buffer,
                                               const std::function<bool(std::string_view)>& on_data) const;
  // The same for a file that may be absent: nullopt on ENOENT, an error on
  // any other failure.
  [[nodiscard]] core::Result<std::optional<std::string>> read_if_exists(std::string_view kernel_path) const;
  // Entry names of a directory, sorted, without "." and "..".
  [[nodiscard]] core::Result<std::vector<std::string>> list(std::string_view kernel_dir) const;
  // Target of a symlink ("../../../bus/pci/drivers/virtio-pci").
  [[nodiscard]] core::Result<std::string> read_link(std::string_view kernel_path) const;
  // Permission bits (st_mode & 07777).
  [[nodiscard]] core::Result<unsigned> mode(std::string_view kernel_path) const;
  [[nodiscard]] bool exists(std::string_view kernel_path) const;

  // Replaces the content of an existing file with one write(2) of `content`
  // (O_WRONLY|O_TRUNC, never O_CREAT: a vanished /proc/irq/N gives ENOENT
  // rather than a new plain file under a fake root). The kernel parses and
  // acts on that one write, so it is not continued: a short write is an
  // error ("...: short write (2 of 3 bytes)", errno 0, as no call failed).
  // Other errors name the kernel path and keep errno, e.g.
  // "/proc/irq/36/smp_affinity: Operation not permitted" (EPERM).
  [[nodiscard]] core::Result<void> write(std::string_view kernel_path, std::string_view content) const;

 private:
  std::filesystem::path root_;
  bool live_;
};

}  // namespace irqbpfd::sys
