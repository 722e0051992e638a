// CpuSet: a set of CPU ids of any width, parsed from and formatted to the two
// kernel notations: hex masks in comma-separated 32-bit words
// ("ff,ffffffff" = CPUs 0-39) and CPU lists ("0-3,8").
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "irqbpfd/core/result.hpp"
#include "irqbpfd/core/types.hpp"

namespace irqbpfd::core {

class CpuSet {
 public:
  CpuSet() = default;
  CpuSet(std::initializer_list<std::uint32_t> cpus);

  // "0-3,8,10-11" (whitespace and a trailing newline allowed, "" is empty).
  // Also the kernel's stride form "0-15:2/4" (bitmap_parselist).
  static Result<CpuSet> parse_list(std::string_view text);
  // "3", "00000003", "ff,ffffffff" (most significant word first, as
  // /proc/irq/N/smp_affinity prints), an optional "0x" prefix.
  static Result<CpuSet> parse_mask(std::string_view text);
  // The first `count` CPUs: 0..count-1.
  static CpuSet first_n(std::uint32_t count);

  // "0-3,8"; "" when empty.
  [[nodiscard]] std::string to_list() const;
  // The kernel's mask format for a machine of `nr_cpu_ids` CPUs: 32-bit words
  // of 8 hex digits separated by commas, the top word cut to the digits the
  // width needs ("3" for 2 CPUs, "ff,ffffffff" for 40, "00000001,00000000"
  // for CPU 32 of 64). CPUs at or beyond the width are dropped.
  [[nodiscard]] std::string to_mask(std::uint32_t nr_cpu_ids) const;

  void insert(CpuId cpu);
  void erase(CpuId cpu);
  [[nodiscard]] bool contains(CpuId cpu) const;
  [[nodiscard]] std::size_t count() const;
  [[nodiscard]] bool empty() const;
  [[nodiscard]] std::optional<CpuId> first() const;
  [[nodiscard]] std::optional<CpuId> last() const;
  [[nodiscard]] std::vector<CpuId> to_vector() const;  // ascending

  [[nodiscard]] bool is_subset_of(const CpuSet& other) const;
  [[nodiscard]] bool intersects(const CpuSet& other) const;

  CpuSet& operator|=(const CpuSet& other);
  CpuSet& operator&=(const CpuSet& other);
  CpuSet& operator-=(const CpuSet& other);
  friend CpuSet operator|(CpuSet a, const CpuSet& b) { return a |= b; }
  friend CpuSet operator&(CpuSet a, const CpuSet& b) { return a &= b; }
  friend CpuSet operator-(CpuSet a, const CpuSet& b) { return a -= b; }
  friend bool operator==(const CpuSet& a, const CpuSet& b) { return a.words_ == b.words_; }

  template <class F>
  void for_each(F&& visit) const {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      std::uint64_t bits = words_[w];
      while (bits != 0) {
        const int bit = __builtin_ctzll(bits);
        visit(cpu_id(static_cast<std::uint32_t>(w * 64 + static_cast<std::size_t>(bit))));
        bits &= bits - 1;
      }
    }
  }

 private:
  void trim();
  std::vector<std::uint64_t> words_;  // invariant: no trailing zero words
};

}  // namespace irqbpfd::core
