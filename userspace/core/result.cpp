// errno_error: an Error from errno, with strerror text.
#include <cstring>

#include "irqbpfd/core/result.hpp"

namespace irqbpfd::core {

Error errno_error(const std::string& what, int errno_value) {
  return Error{what + ": " + std::strerror(errno_value), errno_value};
}

}  // namespace irqbpfd::core
