// FakeHost: a simulator machine root that stays put for a test that runs the
// real irqbpfd on it (never the live /proc/irq): the isolated.toml scenario
// (16 CPUs, IRQs 40-47 and 50-51 starting on isolated CPUs, IRQ 50
// kernel-managed), stepped once so every file exists. Header-only: the test
// binaries that use it link irqbpfd_sim; the support library does not.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "background.hpp"
#include "irqbpfd/sim/fake_machine.hpp"
#include "irqbpfd/sim/scenario.hpp"

namespace irqbpfd::testing {

class FakeHost {
 public:
  explicit FakeHost(const std::string& prefix = "irqbpfd-host")
      : dir_(std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(count_++))) {
    auto s = sim::load_scenario(std::filesystem::path(IRQBPFD_FIXTURES_DIR).parent_path() / "sim" / "scenarios" / "isolated.toml");
    if (!s) throw std::runtime_error(s.error().message);
    auto fm = sim::FakeMachine::create(*s, dir_ / "root");
    if (!fm) throw std::runtime_error(fm.error().message);
    machine_ = std::move(*fm);
    if (!machine_->step()) throw std::runtime_error("step");
  }
  ~FakeHost() {
    machine_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  [[nodiscard]] std::filesystem::path root() const { return dir_ / "root"; }
  [[nodiscard]] std::filesystem::path dir() const { return dir_; }
  // Every IRQ's smp_affinity text under the fake root.
  [[nodiscard]] std::map<std::string, std::string> masks() const {
    std::map<std::string, std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(root() / "proc" / "irq")) {
      if (std::filesystem::exists(e.path() / "smp_affinity")) out[e.path().filename().string()] = read_text(e.path() / "smp_affinity");
    }
    return out;
  }

 private:
  static inline int count_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<sim::FakeMachine> machine_;
};

}  // namespace irqbpfd::testing
