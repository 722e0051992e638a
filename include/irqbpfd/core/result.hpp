// Result<T>: a value or an Error with context, shaped like std::expected
// (which g++ 12 lacks). Recoverable errors travel as values; only start-up
// code turns them into exits.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace irqbpfd::core {

// An error message that names what failed ("irq 42: smp_affinity: Input/output
// error"), plus the errno that caused it when there was one (0 otherwise), so
// callers can tell a vanished file (ENOENT) from a refusal (EIO/EPERM).
struct Error {
  std::string message;
  int errno_value = 0;

  // Prefix context: Error{"bad word"}.with_context("/proc/irq/3/smp_affinity")
  // gives "/proc/irq/3/smp_affinity: bad word".
  [[nodiscard]] Error with_context(const std::string& context) const {
    return Error{context + ": " + message, errno_value};
  }
};

// Builds an Error from errno, e.g. errno_error("/proc/stat", ENOENT) gives
// "/proc/stat: No such file or directory".
Error errno_error(const std::string& what, int errno_value);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}      // NOLINT: implicit by design

  [[nodiscard]] bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(state_); }
  const T& value() const& { assert(has_value()); return std::get<0>(state_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const Error& error() const { assert(!has_value()); return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  [[nodiscard]] bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  [[nodiscard]] const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace irqbpfd::core
