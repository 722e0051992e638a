// KernelFiles: the apply module's one seam at the OS, the four file
// operations an affinity write needs. SysRootFiles does them for real under a
// SysRoot; tests inject any errno on any of them without touching a kernel.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/core/result.hpp"
#include "irqbpfd/sys/sys_root.hpp"

namespace irqbpfd::apply {

// Paths are kernel paths ("/proc/irq/36/smp_affinity"). Errors name the path
// and keep errno, as SysRoot's do: the writer classifies by errno. Reads are
// const, so a `const KernelFiles&` (the dry-run writer, RestoreSet::capture)
// cannot write.
class KernelFiles {
 public:
  virtual ~KernelFiles() = default;
  // The whole file.
  [[nodiscard]] virtual core::Result<std::string> read(std::string_view kernel_path) const = 0;
  // One write(2) replacing an existing file's content; never creates it.
  virtual core::Result<void> write(std::string_view kernel_path, std::string_view content) = 0;
  // Permission bits (st_mode & 07777).
  [[nodiscard]] virtual core::Result<unsigned> mode(std::string_view kernel_path) const = 0;
  // Entry names of a directory, sorted.
  [[nodiscard]] virtual core::Result<std::vector<std::string>> list(std::string_view kernel_dir) const = 0;
};

class SysRootFiles final : public KernelFiles {
 public:
  explicit SysRootFiles(sys::SysRoot root) : root_(std::move(root)) {}
  [[nodiscard]] const sys::SysRoot& root() const { return root_; }

  [[nodiscard]] core::Result<std::string> read(std::string_view kernel_path) const override;
  core::Result<void> write(std::string_view kernel_path, std::string_view content) override;
  [[nodiscard]] core::Result<unsigned> mode(std::string_view kernel_path) const override;
  [[nodiscard]] core::Result<std::vector<std::string>> list(std::string_view kernel_dir) const override;

 private:
  sys::SysRoot root_;
};

}  // namespace irqbpfd::apply
