// CpuSet parsing and formatting in the kernel's list and mask notations.
#include "irqbpfd/core/cpu_set.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace irqbpfd::core {
namespace {

constexpr std::uint32_t kMaxCpus = 1U << 16;  // far above any kernel's NR_CPUS

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<std::uint32_t> parse_u32(std::string_view s) {
  std::uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

CpuSet::CpuSet(std::initializer_list<std::uint32_t> cpus) {
  for (std::uint32_t c : cpus) insert(cpu_id(c));
}

CpuSet CpuSet::first_n(std::uint32_t count) {
  CpuSet s;
  for (std::uint32_t c = 0; c < count; ++c) s.insert(cpu_id(c));
  return s;
}

Result<CpuSet> CpuSet::parse_list(std::string_view text) {
  const std::string_view body = trim_space(text);
  CpuSet out;
  if (body.empty()) return out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    const std::size_t comma = std::min(body.find(',', pos), body.size());
    const std::string_view item = trim_space(body.substr(pos, comma - pos));
    const auto bad = [&](std::string_view why) {
      return Error{fmt::format("bad CPU list '{}': {} in '{}'", body, why, item)};
    };
    if (item.empty()) return bad("empty item");
    // a, a-b, a-b:used/group
    std::string_view range = item;
    std::uint32_t used = 1, group = 1;
    if (const auto colon = item.find(':'); colon != std::string_view::npos) {
      range = item.substr(0, colon);
      const std::string_view stride = item.substr(colon + 1);
      const auto slash = stride.find('/');
      if (slash == std::string_view::npos) return bad("stride needs used/group");
      const auto u = parse_u32(stride.substr(0, slash));
      const auto g = parse_u32(stride.substr(slash + 1));
      if (!u || !g || *u == 0 || *g == 0 || *u > *g) return bad("bad stride");
      used = *u;
      group = *g;
    }
    std::uint32_t lo = 0, hi = 0;
    if (const auto dash = range.find('-'); dash != std::string_view::npos) {
      const auto a = parse_u32(range.substr(0, dash));
      const auto b = parse_u32(range.substr(dash + 1));
      if (!a || !b) return bad("not a number");
      lo = *a;
      hi = *b;
    } else {
      const auto a = parse_u32(range);
      if (!a) return bad("not a number");
      lo = hi = *a;
    }
    if (lo > hi) return bad("range runs backwards");
    if (hi >= kMaxCpus) return bad("CPU number too large");
    for (std::uint32_t c = lo; c <= hi; ++c) {
      if ((c - lo) % group < used) out.insert(cpu_id(c));
    }
    pos = comma + 1;
  }
  return out;
}

Result<CpuSet> CpuSet::parse_mask(std::string_view text) {
  std::string_view body = trim_space(text);
  if (body.size() >= 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) body.remove_prefix(2);
  if (body.empty()) return Error{"empty CPU mask"};
  // Words are separated by commas, most significant first; every word but the
  // first holds exactly 32 bits. Walk from the right.
  CpuSet out;
  std::uint32_t word_index = 0;
  std::size_t end = body.size();
  while (true) {
    const std::size_t comma = body.rfind(',', end == 0 ? 0 : end - 1);
    const std::size_t start = (comma == std::string_view::npos || comma >= end) ? 0 : comma + 1;
    const std::string_view word = body.substr(start, end - start);
    const bool first_word = start == 0;
    if (word.empty() || word.size() > 8 || (!first_word && word.size() != 8)) {
      return Error{fmt::format("bad CPU mask '{}': word '{}' is not 8 hex digits", body, word)};
    }
    for (std::size_t i = 0; i < word.size(); ++i) {
      const int v = hex_value(word[word.size() - 1 - i]);
      if (v < 0) return Error{fmt::format("bad CPU mask '{}': '{}' is not a hex digit", body, word[word.size() - 1 - i])};
      for (int bit = 0; bit < 4; ++bit) {
        if ((v >> bit) & 1) {
          const std::uint64_t cpu = std::uint64_t{word_index} * 32 + i * 4 + static_cast<unsigned>(bit);
          if (cpu >= kMaxCpus) return Error{fmt::format("bad CPU mask '{}': too wide", body)};
          out.insert(cpu_id(static_cast<std::uint32_t>(cpu)));
        }
      }
    }
    if (first_word) break;
    end = start - 1;
    ++word_index;
  }
  return out;
}

std::string CpuSet::to_list() const {
  std::string out;
  std::optional<std::uint32_t> run_start, run_end;
  const auto flush = [&] {
    if (!run_start) return;
    if (!out.empty()) out += ',';
    if (*run_start == *run_end) {
      out += fmt::format("{}", *run_start);
    } else {
      out += fmt::format("{}-{}", *run_start, *run_end);
    }
  };
  for_each([&](CpuId c) {
    const std::uint32_t n = raw(c);
    if (run_end && n == *run_end + 1) {
      run_end = n;
      return;
    }
    flush();
    run_start = run_end = n;
  });
  flush();
  return out;
}

std::string CpuSet::to_mask(std::uint32_t nr_cpu_ids) const {
  const std::uint32_t width = std::max<std::uint32_t>(nr_cpu_ids, 1);
  const std::uint32_t words = (width + 31) / 32;
  std::string out;
  for (std::uint32_t w = words; w-- > 0;) {
    std::uint32_t value = 0;
    for (std::uint32_t b = 0; b < 32; ++b) {
      const std::uint32_t cpu = w * 32 + b;
      if (cpu < width && contains(cpu_id(cpu))) value |= 1U << b;
    }
    if (w == words - 1) {
      const std::uint32_t top_bits = width - w * 32;
      const int digits = static_cast<int>((top_bits + 3) / 4);
      out += fmt::format("{:0{}x}", value, digits);
    } else {
      out += fmt::format(",{:08x}", value);
    }
  }
  return out;
}

void CpuSet::insert(CpuId cpu) {
  const std::size_t w = raw(cpu) / 64;
  if (words_.size() <= w) words_.resize(w + 1);
  words_[w] |= std::uint64_t{1} << (raw(cpu) % 64);
}

void CpuSet::erase(CpuId cpu) {
  const std::size_t w = raw(cpu) / 64;
  if (w >= words_.size()) return;
  words_[w] &= ~(std::uint64_t{1} << (raw(cpu) % 64));
  trim();
}

bool CpuSet::contains(CpuId cpu) const {
  const std::size_t w = raw(cpu) / 64;
  return w < words_.size() && ((words_[w] >> (raw(cpu) % 64)) & 1U) != 0;
}

std::size_t CpuSet::count() const {
  std::size_t n = 0;
  for (std::uint64_t w : words_) n += static_cast<std::size_t>(__builtin_popcountll(w));
  return n;
}

bool CpuSet::empty() const { return words_.empty(); }

std::optional<CpuId> CpuSet::first() const {
  for (std::size_t w = 0; w < words_.size(); ++w) {
    if (words_[w] != 0) return cpu_id(static_cast<std::uint32_t>(w * 64 + static_cast<std::size_t>(__builtin_ctzll(words_[w]))));
  }
  return std::nullopt;
}

std::optional<CpuId> CpuSet::last() const {
  if (words_.empty()) return std::nullopt;
  const std::size_t w = words_.size() - 1;
  return cpu_id(static_cast<std::uint32_t>(w * 64 + 63 - static_cast<std::size_t>(__builtin_clzll(words_[w]))));
}

std::vector<CpuId> CpuSet::to_vector() const {
  std::vector<CpuId> out;
  out.reserve(count());
  for_each([&](CpuId c) { out.push_back(c); });
  return out;
}

// Both without a temporary set: the planner asks them for every IRQ of
// every cycle.
bool CpuSet::is_subset_of(const CpuSet& other) const {
  for (std::size_t i = 0; i < words_.size(); ++i) {
    const std::uint64_t theirs = i < other.words_.size() ? other.words_[i] : 0;
    if ((words_[i] & ~theirs) != 0) return false;
  }
  return true;
}

bool CpuSet::intersects(const CpuSet& other) const {
  const std::size_t n = std::min(words_.size(), other.words_.size());
  for (std::size_t i = 0; i < n; ++i) {
    if ((words_[i] & other.words_[i]) != 0) return true;
  }
  return false;
}

CpuSet& CpuSet::operator|=(const CpuSet& other) {
  if (words_.size() < other.words_.size()) words_.resize(other.words_.size());
  for (std::size_t i = 0; i < other.words_.size(); ++i) words_[i] |= other.words_[i];
  return *this;
}

CpuSet& CpuSet::operator&=(const CpuSet& other) {
  if (words_.size() > other.words_.size()) words_.resize(other.words_.size());
  for (std::size_t i = 0; i < words_.size(); ++i) words_[i] &= other.words_[i];
  trim();
  return *this;
}

CpuSet& CpuSet::operator-=(const CpuSet& other) {
  for (std::size_t i = 0; i < std::min(words_.size(), other.words_.size()); ++i) words_[i] &= ~other.words_[i];
  trim();
  return *this;
}

void CpuSet::trim() {
  while (!words_.empty() && words_.back() == 0) words_.pop_back();
}

}  // namespace irqbpfd::core
