// Golden files: compare output with tests/golden/expected/NAME, or rewrite
// it when IRQBPFD_UPDATE_GOLDEN=1 (then review the diff before committing).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace irqbpfd::testing {

inline std::filesystem::path golden_dir() {
  return std::filesystem::path(IRQBPFD_FIXTURES_DIR) / ".." / "golden" / "expected";
}

inline void expect_golden(const std::string& name, const std::string& actual) {
  const std::filesystem::path file = golden_dir() / name;
  if (const char* update = std::getenv("IRQBPFD_UPDATE_GOLDEN"); update != nullptr && std::string(update) == "1") {
    std::ofstream(file, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << file << "; review the diff";
  }
  std::ifstream in(file, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << file << " (run with IRQBPFD_UPDATE_GOLDEN=1)";
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden " << name << " differs";
}

}  // namespace irqbpfd::testing
