// FakeKernelFiles: an in-memory KernelFiles for the apply tests. Files carry
// content and mode; any errno can be injected on a write (chosen per path and
// content) or on a read (always, or only after a write to that path), and
// every write attempted is recorded, so a test can assert none happened.
#pragma once

#include <cerrno>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "irqbpfd/apply/kernel_files.hpp"

namespace irqbpfd::apply::test {

class FakeKernelFiles final : public KernelFiles {
 public:
  struct File {
    std::string content;
    unsigned mode = 0644;
  };

  // /proc/irq/N/smp_affinity (and effective_affinity when given); the online
  // CPUs are "0-1" unless set_online() says otherwise.
  FakeKernelFiles() { set_online("0-1"); }
  void add_irq(std::uint32_t irq, std::string_view mask, unsigned mode = 0644,
               std::optional<std::string_view> effective = std::nullopt) {
    files[affinity_path(irq)] = File{std::string(mask) + "\n", mode};
    if (effective) {
      files[fmt::format("/proc/irq/{}/effective_affinity", irq)] = File{std::string(*effective) + "\n", 0444};
    }
  }
  void set_online(std::string_view list) {
    files["/sys/devices/system/cpu/online"] = File{std::string(list) + "\n", 0444};
  }
  static std::string affinity_path(std::uint32_t irq) { return fmt::format("/proc/irq/{}/smp_affinity", irq); }
  [[nodiscard]] std::string content(std::uint32_t irq) const { return files.at(affinity_path(irq)).content; }

  // The errno a write of `content` to `path` fails with; 0 lets it through.
  std::function<int(std::string_view path, std::string_view content)> refuse = [](auto, auto) { return 0; };
  // What an accepted write leaves in the file (the kernel prints its own
  // view of the mask); nullopt keeps the content written.
  std::function<std::optional<std::string>(std::string_view path, std::string_view content)> kernel_shows =
      [](auto, auto) { return std::nullopt; };
  std::map<std::string, int, std::less<>> read_errno;        // every read of the path fails
  std::map<std::string, int, std::less<>> read_back_errno;   // reads after a write to the path fail

  std::map<std::string, File, std::less<>> files;
  std::vector<std::pair<std::string, std::string>> writes;  // every write attempted, in order

  [[nodiscard]] core::Result<std::string> read(std::string_view kernel_path) const override {
    if (const auto it = read_errno.find(kernel_path); it != read_errno.end()) return error(kernel_path, it->second);
    if (written_.count(std::string(kernel_path)) != 0) {
      if (const auto it = read_back_errno.find(kernel_path); it != read_back_errno.end()) {
        return error(kernel_path, it->second);
      }
    }
    const auto it = files.find(kernel_path);
    if (it == files.end()) return error(kernel_path, ENOENT);
    return it->second.content;
  }

  core::Result<void> write(std::string_view kernel_path, std::string_view content) override {
    writes.emplace_back(kernel_path, content);
    const auto it = files.find(kernel_path);
    if (it == files.end()) return error(kernel_path, ENOENT);  // never creates
    if (const int e = refuse(kernel_path, content); e != 0) return error(kernel_path, e);
    written_.insert(std::string(kernel_path));
    auto shown = kernel_shows(kernel_path, content);
    it->second.content = shown ? *shown : std::string(content);
    return {};
  }

  [[nodiscard]] core::Result<unsigned> mode(std::string_view kernel_path) const override {
    const auto it = files.find(kernel_path);
    if (it == files.end()) return error(kernel_path, ENOENT);
    return it->second.mode;
  }

  [[nodiscard]] core::Result<std::vector<std::string>> list(std::string_view kernel_dir) const override {
    const std::string prefix = std::string(kernel_dir) + "/";
    std::set<std::string> names;
    for (const auto& [path, file] : files) {
      if (path.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = path.substr(prefix.size());
      names.insert(rest.substr(0, rest.find('/')));
    }
    if (names.empty()) return error(kernel_dir, ENOENT);
    return std::vector<std::string>(names.begin(), names.end());
  }

  // Removes /proc/irq/N entirely, as the kernel does when the IRQ is freed.
  void remove_irq(std::uint32_t irq) {
    const std::string prefix = fmt::format("/proc/irq/{}/", irq);
    for (auto it = files.begin(); it != files.end();) {
      it = it->first.compare(0, prefix.size(), prefix) == 0 ? files.erase(it) : std::next(it);
    }
  }

 private:
  static core::Error error(std::string_view path, int e) { return core::errno_error(std::string(path), e); }
  std::set<std::string> written_;
};

}  // namespace irqbpfd::apply::test
