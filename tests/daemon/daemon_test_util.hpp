// Test rigs for the daemon binary: a fake machine root from the simulator
// that stays put (FakeHost) and irqbpfd running on it in the background
// (Service), for the service and API tests.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "background.hpp"
#include "irqbpfd/sim/fake_machine.hpp"
#include "irqbpfd/sim/scenario.hpp"

namespace irqbpfd::daemon {

namespace fs = std::filesystem;
using irqbpfd::testing::read_text;

// A fake machine root that stays put for the test (IRQs on isolated CPUs, so
// the daemon has mandatory moves to write even without load).
class FakeHost {
 public:
  explicit FakeHost(const std::string& scenario = "isolated") : dir_(fs::temp_directory_path() / ("irqbpfd-svc-" + std::to_string(::getpid()) + "-" + std::to_string(count_++))) {
    auto s = sim::load_scenario(fs::path(IRQBPFD_FIXTURES_DIR).parent_path() / "sim" / "scenarios" / (scenario + ".toml"));
    if (!s) throw std::runtime_error(s.error().message);
    auto fm = sim::FakeMachine::create(*s, dir_ / "root");
    if (!fm) throw std::runtime_error(fm.error().message);
    machine_ = std::move(*fm);
    if (!machine_->step()) throw std::runtime_error("step");
  }
  ~FakeHost() {
    machine_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  [[nodiscard]] fs::path root() const { return dir_ / "root"; }
  [[nodiscard]] fs::path dir() const { return dir_; }
  // Every IRQ's smp_affinity text under the fake root.
  [[nodiscard]] std::map<std::string, std::string> masks() const {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(root() / "proc" / "irq")) {
      if (fs::exists(e.path() / "smp_affinity")) out[e.path().filename().string()] = read_text(e.path() / "smp_affinity");
    }
    return out;
  }

 private:
  static inline int count_ = 0;
  fs::path dir_;
  std::unique_ptr<sim::FakeMachine> machine_;
};

// irqbpfd in the background on the host's fake root, stderr to a file.
class Service : public irqbpfd::testing::Background {
 public:
  Service(const FakeHost& host, std::vector<std::string> extra, const std::string& name = "svc",
          std::vector<std::string> env_extra = {})
      : Background(args(host, std::move(extra)), host.dir() / (name + ".log"), std::move(env_extra)) {}

 private:
  static std::vector<std::string> args(const FakeHost& host, std::vector<std::string> extra) {
    if (!fs::exists(host.dir() / "irqbpfd.conf")) std::ofstream(host.dir() / "irqbpfd.conf") << "# defaults\n";
    std::vector<std::string> a = {IRQBPFD_BINARY,         "--root",     host.root().string(), "--collector", "proc",
                                  "--interval",           "0.2",        "--lock-file",        (host.dir() / "lock").string(),
                                  "--config",             (host.dir() / "irqbpfd.conf").string()};
    // No TCP listener unless the test asks for one (tests run in parallel).
    if (std::find(extra.begin(), extra.end(), "--listen") == extra.end()) a.push_back("--no-http");
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

}  // namespace irqbpfd::daemon
