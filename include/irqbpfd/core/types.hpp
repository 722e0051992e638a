// Strong identifiers for IRQ numbers and CPU ids, so the two never mix.
#pragma once

#include <cstdint>

namespace irqbpfd::core {

enum class IrqNumber : std::uint32_t {};
enum class CpuId : std::uint32_t {};

constexpr std::uint32_t raw(IrqNumber irq) { return static_cast<std::uint32_t>(irq); }
constexpr std::uint32_t raw(CpuId cpu) { return static_cast<std::uint32_t>(cpu); }
constexpr IrqNumber irq_number(std::uint32_t n) { return static_cast<IrqNumber>(n); }
constexpr CpuId cpu_id(std::uint32_t n) { return static_cast<CpuId>(n); }

}  // namespace irqbpfd::core
