// CpuSet: kernel list and mask notations, any width, and bad input.
#include <gtest/gtest.h>

#include "irqbpfd/core/cpu_set.hpp"

namespace irqbpfd::core {
namespace {

CpuSet list(std::string_view s) {
  auto r = CpuSet::parse_list(s);
  EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message);
  return r ? *r : CpuSet{};
}

CpuSet mask(std::string_view s) {
  auto r = CpuSet::parse_mask(s);
  EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message);
  return r ? *r : CpuSet{};
}

TEST(CpuSetList, ParsesRangesSinglesAndNewline) {
  const CpuSet s = list("0-3,8,10-11\n");
  EXPECT_EQ(s.count(), 7U);
  EXPECT_TRUE(s.contains(cpu_id(3)));
  EXPECT_FALSE(s.contains(cpu_id(4)));
  EXPECT_EQ(s.to_list(), "0-3,8,10-11");
}

TEST(CpuSetList, EmptyTextIsEmptySet) {
  EXPECT_TRUE(list("").empty());
  EXPECT_TRUE(list("\n").empty());
  EXPECT_EQ(CpuSet{}.to_list(), "");
}

TEST(CpuSetList, KernelStrideForm) {
  // bitmap_parselist: 0-15:2/4 = in each group of 4 starting at 0, the first 2.
  EXPECT_EQ(list("0-15:2/4").to_list(), "0-1,4-5,8-9,12-13");
}

TEST(CpuSetList, RejectsBadInputNamingIt) {
  for (const char* bad : {"0-", "a", "3-1", "1,,2", "0-3:2", "0-3:3/2", "70000"}) {
    auto r = CpuSet::parse_list(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("bad CPU list"), std::string::npos) << r.error().message;
  }
}

TEST(CpuSetMask, ParsesSingleAndMultiWordMasks) {
  EXPECT_EQ(mask("3\n").to_list(), "0-1");
  EXPECT_EQ(mask("00000003").to_list(), "0-1");
  EXPECT_EQ(mask("ff,ffffffff").to_list(), "0-39");
  EXPECT_EQ(mask("00000001,00000000").to_list(), "32");
  EXPECT_EQ(mask("0x10").to_list(), "4");
  EXPECT_TRUE(mask("0").empty());
}

TEST(CpuSetMask, ParsesA1024CpuMask) {
  // 32 words; CPU 1023 (top bit of the first word) and CPU 0.
  std::string text = "80000000";
  for (int i = 0; i < 30; ++i) text += ",00000000";
  text += ",00000001";
  const CpuSet s = mask(text);
  EXPECT_EQ(s.to_list(), "0,1023");
  EXPECT_EQ(s.to_mask(1024), text);
}

TEST(CpuSetMask, RejectsMalformedWords) {
  for (const char* bad : {"", "xyz", "ff,fff", "1,,00000000", "123456789"}) {
    auto r = CpuSet::parse_mask(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("CPU mask"), std::string::npos) << r.error().message;
  }
}

TEST(CpuSetMask, FormatsForTheMachineWidth) {
  EXPECT_EQ(CpuSet({0, 1}).to_mask(2), "3");
  EXPECT_EQ(CpuSet({0}).to_mask(8), "01");
  EXPECT_EQ(CpuSet::first_n(40).to_mask(40), "ff,ffffffff");
  EXPECT_EQ(CpuSet({32}).to_mask(64), "00000001,00000000");
  EXPECT_EQ(CpuSet({5}).to_mask(33), "0,00000020");
  // CPUs beyond the width are dropped, not silently wrapped.
  EXPECT_EQ(CpuSet({0, 9}).to_mask(8), "01");
}

TEST(CpuSetMask, RoundTripsEveryWidth) {
  for (std::uint32_t width : {1U, 2U, 7U, 31U, 32U, 33U, 64U, 65U, 255U, 256U, 1000U}) {
    CpuSet s;
    for (std::uint32_t c = 0; c < width; c += 3) s.insert(cpu_id(c));
    s.insert(cpu_id(width - 1));
    EXPECT_EQ(mask(s.to_mask(width)), s) << width;
    EXPECT_EQ(list(s.to_list()), s) << width;
  }
}

TEST(CpuSetOps, SetAlgebraAndQueries) {
  const CpuSet a{0, 1, 2, 3}, b{2, 3, 64, 65};
  EXPECT_EQ((a | b).to_list(), "0-3,64-65");
  EXPECT_EQ((a & b).to_list(), "2-3");
  EXPECT_EQ((a - b).to_list(), "0-1");
  EXPECT_EQ((b - a).to_list(), "64-65");
  EXPECT_TRUE(CpuSet({2, 3}).is_subset_of(a));
  EXPECT_FALSE(b.is_subset_of(a));
  EXPECT_TRUE(a.intersects(b));
  EXPECT_FALSE(CpuSet({7}).intersects(a));
  // Sets of different word counts, both ways round.
  EXPECT_TRUE(CpuSet{}.is_subset_of(a));
  EXPECT_TRUE(a.is_subset_of(a | b));
  EXPECT_FALSE(CpuSet({0, 200}).is_subset_of(a));
  EXPECT_TRUE(CpuSet({2, 65}).is_subset_of(b));
  EXPECT_FALSE(CpuSet({65}).intersects(a));
  EXPECT_FALSE(a.intersects(CpuSet({130})));
  EXPECT_TRUE(CpuSet({1, 130}).intersects(CpuSet({130})));
  EXPECT_FALSE(CpuSet{}.intersects(a));
  EXPECT_EQ(raw(*b.first()), 2U);
  EXPECT_EQ(raw(*b.last()), 65U);
  EXPECT_FALSE(CpuSet{}.first().has_value());
  // Equality ignores how the set was built (no trailing zero words).
  CpuSet c{200};
  c.erase(cpu_id(200));
  EXPECT_EQ(c, CpuSet{});
  EXPECT_TRUE(c.empty());
}

}  // namespace
}  // namespace irqbpfd::core
