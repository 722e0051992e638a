// Logger: levelled lines to stderr (with the <N> syslog prefixes journald
// reads when stderr is the journal), or to syslog(3) for --daemon. The
// daemon decides what to log; `changed()` lets it log a state once per
// change instead of every cycle.
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include "irqbpfd/daemon/config.hpp"

namespace irqbpfd::daemon {

class Logger {
 public:
  enum class Target { kStderr, kSyslog };
  // `journal`: stderr is the systemd journal (JOURNAL_STREAM is set).
  Logger(LogLevel level, Target target, bool journal, std::FILE* out = stderr);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void set_level(LogLevel level) { level_ = level; }
  [[nodiscard]] LogLevel level() const { return level_; }
  void log(LogLevel level, std::string_view message);
  void debug(std::string_view m) { log(LogLevel::kDebug, m); }
  void info(std::string_view m) { log(LogLevel::kInfo, m); }
  void notice(std::string_view m) { log(LogLevel::kNotice, m); }
  void warning(std::string_view m) { log(LogLevel::kWarning, m); }
  void error(std::string_view m) { log(LogLevel::kError, m); }
  // Logs `message` at `level` only when the state under `key` differs from
  // the last one logged for it; returns whether it logged.
  bool changed(std::string_view key, LogLevel level, const std::string& message);
  // The same, deciding on `state` alone (the message may carry numbers that
  // move every cycle: "balanced (hottest CPU at 12.3%)").
  bool changed(std::string_view key, LogLevel level, const std::string& state, const std::string& message);
  // Forgets a key (so the next state is logged even if it repeats an old one).
  void forget(std::string_view key) { last_.erase(std::string(key)); }

 private:
  LogLevel level_;
  Target target_;
  bool journal_;
  std::FILE* out_;
  std::map<std::string, std::string, std::less<>> last_;
};

}  // namespace irqbpfd::daemon
