// SysRootFiles: KernelFiles on a SysRoot, one line per operation; the
// semantics (no O_CREAT, errors naming the kernel path) are SysRoot's.
#include "irqbpfd/apply/kernel_files.hpp"

namespace irqbpfd::apply {

core::Result<std::string> SysRootFiles::read(std::string_view kernel_path) const { return root_.read(kernel_path); }

core::Result<void> SysRootFiles::write(std::string_view kernel_path, std::string_view content) {
  return root_.write(kernel_path, content);
}

core::Result<unsigned> SysRootFiles::mode(std::string_view kernel_path) const { return root_.mode(kernel_path); }

core::Result<std::vector<std::string>> SysRootFiles::list(std::string_view kernel_dir) const {
  return root_.list(kernel_dir);
}

}  // namespace irqbpfd::apply
