// FakeRoot: a temporary machine root for tests. Files are written under it
// with kernel paths ("/proc/interrupts"); it is removed on destruction.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace irqbpfd::testing {

class FakeRoot {
 public:
  FakeRoot();
  ~FakeRoot();
  FakeRoot(const FakeRoot&) = delete;
  FakeRoot& operator=(const FakeRoot&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return root_; }
  // Writes `content` at `kernel_path` under the root, creating parents.
  void write(std::string_view kernel_path, std::string_view content, unsigned mode = 0644) const;
  void mkdir(std::string_view kernel_path) const;
  void symlink(std::string_view target, std::string_view kernel_path) const;
  void remove(std::string_view kernel_path) const;
  // Copies a checked-in fixture tree (tests/fixtures/roots/NAME) into the root.
  void copy_fixture(std::string_view name) const;
  // Unpacks a capture NAME.tar.bz2 from the machines directory into the root
  // and returns the unpacked machine root (root/NAME).
  [[nodiscard]] std::filesystem::path unpack_capture(const std::filesystem::path& tarball) const;

 private:
  std::filesystem::path root_;
};

// tests/fixtures, from the IRQBPFD_FIXTURES_DIR compile definition.
std::filesystem::path fixtures_dir();
// ../shared/machines/hwloc-linux beside the clone, or IRQBPFD_MACHINES_DIR
// from the environment; empty when absent (tests then skip, saying so).
std::filesystem::path machines_dir();

}  // namespace irqbpfd::testing
