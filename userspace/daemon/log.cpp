// Logger: one line per message, "irqbpfd[pid]: <level>: text" on a
// terminal, "<6>text" when stderr is the journal, syslog(3) otherwise.
#include "irqbpfd/daemon/log.hpp"

#include <fmt/format.h>
#include <syslog.h>
#include <unistd.h>

namespace irqbpfd::daemon {
namespace {

int syslog_priority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return LOG_DEBUG;
    case LogLevel::kInfo: return LOG_INFO;
    case LogLevel::kNotice: return LOG_NOTICE;
    case LogLevel::kWarning: return LOG_WARNING;
    case LogLevel::kError: return LOG_ERR;
  }
  return LOG_INFO;
}

}  // namespace

Logger::Logger(LogLevel level, Target target, bool journal, std::FILE* out)
    : level_(level), target_(target), journal_(journal), out_(out) {
  if (target_ == Target::kSyslog) openlog("irqbpfd", LOG_PID, LOG_DAEMON);
}

Logger::~Logger() {
  if (target_ == Target::kSyslog) closelog();
}

void Logger::log(LogLevel level, std::string_view message) {
  if (static_cast<int>(level) < static_cast<int>(level_)) return;
  if (target_ == Target::kSyslog) {
    syslog(syslog_priority(level), "%.*s", static_cast<int>(message.size()), message.data());
    return;
  }
  if (journal_) {
    fmt::print(out_, "<{}>{}\n", syslog_priority(level), message);
  } else {
    fmt::print(out_, "irqbpfd[{}]: {}: {}\n", ::getpid(), to_string(level), message);
  }
  std::fflush(out_);
}

bool Logger::changed(std::string_view key, LogLevel level, const std::string& message) {
  return changed(key, level, message, message);
}

bool Logger::changed(std::string_view key, LogLevel level, const std::string& state, const std::string& message) {
  auto it = last_.find(key);
  if (it != last_.end() && it->second == state) return false;
  last_[std::string(key)] = state;
  log(level, message);
  return true;
}

}  // namespace irqbpfd::daemon
