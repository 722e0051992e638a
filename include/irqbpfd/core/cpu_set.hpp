// CpuSet: a set of CPU ids of any width, parsed from and formatted to the two
// kernel notations: hex masks in comma-separated 32-bit words
// ("ff,ffffffff" = CPUs 0-39) and CPU lists ("0-3,8").
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <cstring>
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
  // The bit words, the first four (256 CPUs) inline: IRQ descriptors hold
  // four sets each and the planner copies sets for every IRQ of every cycle,
  // which on the heap was a fifth of a cycle's time in malloc and free.
  class Words {
   public:
    static constexpr std::uint32_t kInline = 4;
    Words() noexcept {}  // NOLINT: the inline words are read only below size_
    Words(const Words& other) { copy_from(other); }
    Words(Words&& other) noexcept { take(other); }
    Words& operator=(const Words& other) {
      if (this != &other) copy_from(other);
      return *this;
    }
    Words& operator=(Words&& other) noexcept {
      if (this != &other) {
        release();
        take(other);
      }
      return *this;
    }
    ~Words() { release(); }

    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] bool empty() const { return size_ == 0; }
    std::uint64_t* data() { return cap_ > kInline ? heap_ : inline_; }
    [[nodiscard]] const std::uint64_t* data() const { return cap_ > kInline ? heap_ : inline_; }
    std::uint64_t& operator[](std::size_t i) { return data()[i]; }
    std::uint64_t operator[](std::size_t i) const { return data()[i]; }
    [[nodiscard]] const std::uint64_t* begin() const { return data(); }
    [[nodiscard]] const std::uint64_t* end() const { return data() + size_; }
    [[nodiscard]] std::uint64_t back() const { return data()[size_ - 1]; }
    void pop_back() { --size_; }
    // Grows with new words set to 0, or shrinks.
    void resize(std::size_t n) {
      if (n > cap_) grow(n);
      std::uint64_t* w = data();
      for (std::size_t i = size_; i < n; ++i) w[i] = 0;
      size_ = static_cast<std::uint32_t>(n);
    }
    friend bool operator==(const Words& a, const Words& b) {
      return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
    }

   private:
    void grow(std::size_t n) {
      const std::size_t cap = std::max<std::size_t>(n, std::size_t{2} * cap_);
      auto* fresh = new std::uint64_t[cap];
      if (size_ != 0) std::memcpy(fresh, data(), size_ * sizeof(std::uint64_t));
      release();
      heap_ = fresh;
      cap_ = static_cast<std::uint32_t>(cap);
    }
    void release() noexcept {
      if (cap_ > kInline) delete[] heap_;
      cap_ = kInline;
    }
    void copy_from(const Words& other) {
      if (other.size_ > cap_) {
        size_ = 0;
        grow(other.size_);
      }
      if (other.size_ != 0) std::memcpy(data(), other.data(), other.size_ * sizeof(std::uint64_t));
      size_ = other.size_;
    }
    void take(Words& other) noexcept {
      size_ = other.size_;
      if (other.cap_ > kInline) {
        heap_ = other.heap_;
        cap_ = other.cap_;
        other.cap_ = kInline;
      } else {
        cap_ = kInline;
        if (size_ != 0) std::memcpy(inline_, other.inline_, size_ * sizeof(std::uint64_t));
      }
      other.size_ = 0;
    }
    std::uint32_t size_ = 0;
    std::uint32_t cap_ = kInline;
    union {
      std::uint64_t inline_[kInline];
      std::uint64_t* heap_;
    };
  };

  void trim();
  Words words_;  // invariant: no trailing zero words
};

}  // namespace irqbpfd::core
