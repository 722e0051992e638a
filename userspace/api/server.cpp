// The API server: cpp-httplib listeners (TCP, Unix socket), the routes, input
// checks, the bearer token, and the JSON views of the daemon's Status (the
// report's JSON, rendered once per cycle and cached).
#include "irqbpfd/api/server.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <httplib.h>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "irqbpfd/apply/affinity_writer.hpp"
#include "irqbpfd/daemon/daemon.hpp"
#include "irqbpfd/report/metrics.hpp"
#include "irqbpfd/report/report.hpp"

namespace irqbpfd::api {
namespace {

using json = nlohmann::ordered_json;
using core::CpuSet;
using core::raw;
constexpr auto kCommandWait = std::chrono::milliseconds(5000);
constexpr double kMaxMeasuredSeconds = 60;
constexpr double kMaxSeconds = 3600;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(2) + "\n", "application/json");
}
void error(httplib::Response& res, int status, const std::string& message) { reply(res, status, json{{"error", message}}); }

// /v1/irqs?per_cpu=active|all: true for every CPU; nullopt after a 400.
std::optional<bool> per_cpu_param(const httplib::Request& req, httplib::Response& res) {
  if (!req.has_param("per_cpu")) return false;
  const std::string v = req.get_param_value("per_cpu");
  if (v == "active") return false;
  if (v == "all") return true;
  error(res, 400, "per_cpu: expected active (the default: CPUs the IRQ ran on) or all");
  return std::nullopt;
}

// Every query parameter must be one the route knows.
bool known_params(const httplib::Request& req, httplib::Response& res, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : req.params) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) {
      error(res, 400, fmt::format("unknown parameter '{}'", key));
      return false;
    }
  }
  return true;
}

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  std::uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_seconds(std::string_view text) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string random_token() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  std::string out;
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

// The bearer token: the file's first line, or a new random one written
// there (0600) when the file does not exist. nullopt: none (no TCP writes).
std::optional<std::string> load_token(const std::filesystem::path& file, std::string& note) {
  std::ifstream in(file);
  if (in) {
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.size() >= 16) return line;
    note = fmt::format("token file {} holds less than 16 characters: changes over TCP are refused", file.string());
    return std::nullopt;
  }
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    note = fmt::format("cannot create token file {}: {}: changes over TCP are refused", file.string(), std::strerror(errno));
    return std::nullopt;
  }
  const std::string token = random_token();
  const std::string text = token + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) return std::nullopt;
  return token;
}

bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

}  // namespace

core::Result<std::pair<std::string, int>> parse_listen(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return core::Error{fmt::format("--listen: expected ADDR:PORT, found '{}'", text)};
  }
  auto port = parse_u32(text.substr(colon + 1));
  if (!port || *port > 65535) return core::Error{fmt::format("--listen: bad port in '{}'", text)};
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::pair<std::string, int>{host, static_cast<int>(*port)};
}

// Workers made on demand: enqueue() starts one when more jobs wait than
// workers are free and fewer than `max` run; a worker that finds no job for `idle` exits. With
// no client connected a listener is one thread (its accept loop), not
// 1 + max: each thread also costs a glibc malloc arena and a stack.
// httplib creates the queue in the listener's thread and calls shutdown()
// there before destroying it; shutdown() waits for every worker to finish.
class OnDemandPool final : public httplib::TaskQueue {
 public:
  OnDemandPool(std::size_t max, std::chrono::milliseconds idle) : max_(std::max<std::size_t>(max, 1)), idle_(idle) {}
  OnDemandPool(const OnDemandPool&) = delete;
  OnDemandPool& operator=(const OnDemandPool&) = delete;
  ~OnDemandPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > free_ && running_ < max_) {
      ++running_;
      ++free_;  // free until it takes a job: a burst starts one worker per queued job, no more
      try {
        std::thread([this] { work(); }).detach();
      } catch (const std::system_error&) {
        --running_;
        --free_;
        if (running_ == 0) {
          // No thread and none can start: run it here rather than never.
          std::function<void()> job = std::move(jobs_.front());
          jobs_.pop_front();
          lock.unlock();
          job();
          return;
        }
      }
    }
    lock.unlock();
    wake_.notify_one();
  }

  void shutdown() override {
    std::unique_lock<std::mutex> lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
    done_.wait(lock, [this] { return running_ == 0; });
  }

 private:
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (!wake_.wait_for(lock, idle_, [this] { return !jobs_.empty() || stopping_; })) break;  // idle
      if (jobs_.empty()) break;  // stopping with nothing left
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      --free_;
      lock.unlock();
      job();
      job = nullptr;
      lock.lock();
      ++free_;
    }
    --free_;
    --running_;
    // Notified under the lock: once shutdown() sees 0 the pool may go, and
    // this thread touches nothing of it after the unlock.
    if (running_ == 0) done_.notify_all();
  }

  const std::size_t max_;
  const std::chrono::milliseconds idle_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::deque<std::function<void()>> jobs_;
  std::size_t running_ = 0, free_ = 0;
  bool stopping_ = false;
};

struct Server::Impl {
  ServerOptions options;
  daemon::DaemonControl& control;
  std::optional<std::string> token;
  std::unique_ptr<httplib::Server> tcp, unix_socket;
  std::vector<std::thread> threads;
  // Per listener thread, in the order of `threads`: its server and whether
  // listen_after_bind() has returned.
  std::vector<std::pair<httplib::Server*, std::shared_ptr<std::atomic<bool>>>> listening;
  int tcp_port = -1;

  // The report's JSON of the current Status, parsed once per Status.
  std::mutex cache_mutex;
  // With each IRQ's per_cpu cut to the CPUs it was active on: what every
  // call but ?per_cpu=all serves. The full list (half a million entries on
  // 256 CPUs x 2000 IRQs) is rendered per request, one at a time under the
  // lock, and not kept.
  std::weak_ptr<const daemon::Status> cached_for;
  std::shared_ptr<const json> cached;

  Impl(ServerOptions o, daemon::DaemonControl& c) : options(std::move(o)), control(c) {}

  // /proc/interrupts read now when the daemon's last reading has no /proc
  // counts (a light BPF reading); nullopt when the reading's rows serve.
  core::Result<std::optional<sys::ProcInterrupts>> rows_now(const collect::RawSample& reading) {
    if (reading.counts_read) return std::optional<sys::ProcInterrupts>{};
    auto text = control.interrupts_text();
    if (!text) return text.error();
    auto parsed = sys::parse_proc_interrupts(*text, "/proc/interrupts");
    if (!parsed) return parsed.error();
    return std::optional<sys::ProcInterrupts>(std::move(*parsed));
  }

  std::shared_ptr<const daemon::Status> need_status(httplib::Response& res) {
    auto st = control.status();
    if (!st || !st->snapshot) {
      error(res, 503, "no measured window yet: the daemon is starting");
      return nullptr;
    }
    return st;
  }

  std::shared_ptr<const json> report_json(const std::shared_ptr<const daemon::Status>& st, bool every_cpu = false) {
    const std::lock_guard<std::mutex> lock(cache_mutex);
    if (!every_cpu && cached && !cached_for.owner_before(st) && !st.owner_before(cached_for)) return cached;
    report::ReportOptions ro;
    ro.active_per_cpu_only = !every_cpu;
    ro.version = options.version;
    ro.dry_run = st->dry_run;
    for (const auto& mr : st->applied) {
      ro.applied.push_back({mr.result.irq, mr.result.requested, std::string(apply::to_string(mr.result.outcome)),
                            mr.result.message});
    }
    auto doc = std::make_shared<const json>(json::parse(report::render_json(*st->snapshot, ro, &st->plan)));
    if (!every_cpu) {
      cached = doc;
      cached_for = st;
    }
    return doc;
  }

  // Mutations: the Unix socket is root's alone (0600); over TCP the token.
  bool allowed(const httplib::Request& req, httplib::Response& res, bool via_unix) {
    if (via_unix) return true;
    const std::string auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (token && auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0 &&
        same(std::string_view(auth).substr(kBearer.size()), *token)) {
      return true;
    }
    error(res, 403,
          token ? "this call changes affinities: use the Unix socket as root, or send the bearer token from the token file"
                : "changes over TCP are disabled (no token file): use the Unix socket as root");
    return false;
  }

  void command(const daemon::Command& cmd, httplib::Response& res, const std::function<json(const daemon::CommandResult&)>& body) {
    const daemon::CommandResult r = control.command(cmd, kCommandWait);
    if (r.status >= 400) {
      json e{{"error", r.message}};
      if (!r.outcome.empty()) e["outcome"] = r.outcome;
      reply(res, r.status, e);
      return;
    }
    reply(res, r.status, body(r));
  }

  // A CPU set from ?cpus=LIST or ?mask=HEX (or ?cpu=HEX, the seed's name).
  std::optional<CpuSet> cpus_param(const httplib::Request& req, httplib::Response& res, const daemon::Status& st) {
    std::optional<CpuSet> set;
    std::string where;
    if (req.has_param("cpus")) {
      auto s = CpuSet::parse_list(req.get_param_value("cpus"));
      if (!s) return error(res, 400, "cpus: " + s.error().message), std::nullopt;
      set = *s;
      where = "cpus";
    } else if (req.has_param("mask") || req.has_param("cpu")) {
      where = req.has_param("mask") ? "mask" : "cpu";
      auto s = CpuSet::parse_mask(req.get_param_value(where.c_str()));
      if (!s) return error(res, 400, where + ": " + s.error().message), std::nullopt;
      set = *s;
    } else {
      error(res, 400, "give the CPUs: cpus=LIST (\"2-3\") or mask=HEX (\"c\")");
      return std::nullopt;
    }
    if (set->empty()) return error(res, 400, where + ": no CPU in it"), std::nullopt;
    if (!set->is_subset_of(st.snapshot->online)) {
      error(res, 400, fmt::format("{}: CPUs {} are not online (online: {})", where, (*set - st.snapshot->online).to_list(),
                                  st.snapshot->online.to_list()));
      return std::nullopt;
    }
    return set;
  }

  std::optional<core::IrqNumber> irq_param(const std::string& text, httplib::Response& res, const daemon::Status& st) {
    auto n = parse_u32(text);
    if (!n) return error(res, 400, fmt::format("'{}' is not an IRQ number", text)), std::nullopt;
    if (st.snapshot->find(core::irq_number(*n)) == nullptr) {
      error(res, 404, fmt::format("IRQ {} is not in /proc/interrupts", *n));
      return std::nullopt;
    }
    return core::irq_number(*n);
  }

  void routes(httplib::Server& s, bool via_unix) {
    s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.status == 413) return error(res, 413, "request body too large");
      if (res.status == 404 && res.body.empty()) return error(res, 404, fmt::format("no such path: {}", req.path));
      if (res.body.empty()) error(res, res.status, fmt::format("HTTP {}", res.status));
    });
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "internal error";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      error(res, 500, what);
    });
    const auto not_allowed = [](const httplib::Request& req, httplib::Response& res) {
      error(res, 405, fmt::format("{} is not allowed on {}", req.method, req.path));
    };

    // --- The earlier tool's calls.
    s.Get("/get_current_distribution", [this](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {"format"})) return;
      auto st = need_status(res);
      if (!st) return;
      const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
      if (!st->reading) return error(res, 503, "no reading yet");
      if (format == "raw") {
        auto text = control.interrupts_text();
        if (!text) return error(res, 503, text.error().message);
        res.set_content(std::move(*text), "text/plain");
        return;
      }
      if (format != "json") return error(res, 400, fmt::format("format: expected json or raw, found '{}'", format));
      auto now = rows_now(*st->reading);
      if (!now) return error(res, 503, now.error().message);
      const sys::ProcInterrupts& pi = *now ? **now : st->reading->interrupts;
      json cpus = json::array();
      for (core::CpuId c : pi.cpus) cpus.push_back(raw(c));
      json rows = json::array();
      for (const auto& row : pi.rows) {
        json r{{"irq", row.irq ? json(raw(*row.irq)) : json(nullptr)}, {"label", row.label}, {"counts", row.counts}};
        if (!row.chip.empty()) r["chip"] = row.chip;
        if (!row.hwirq.empty()) r["hwirq"] = row.hwirq;
        if (!row.trigger.empty()) r["trigger"] = row.trigger;
        r["name"] = row.name;
        rows.push_back(std::move(r));
      }
      reply(res, 200, json{{"cpus", std::move(cpus)}, {"rows", std::move(rows)}});
    });

    s.Get("/get_interrupt_by_cpu", [this](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {"cpu", "second"})) return;
      auto st = need_status(res);
      if (!st) return;
      double seconds = 5;
      if (req.has_param("second")) {
        auto v = parse_seconds(req.get_param_value("second"));
        if (!v || *v <= 0 || *v > kMaxSeconds) {
          return error(res, 400, fmt::format("second: expected a number of seconds within (0, {}]", kMaxSeconds));
        }
        seconds = *v;
      }
      std::optional<std::uint32_t> only;
      if (req.has_param("cpu") && req.get_param_value("cpu") != "all") {
        only = parse_u32(req.get_param_value("cpu"));
        if (!only) return error(res, 400, "cpu: expected a CPU number or all");
        if (!st->snapshot->online.contains(core::cpu_id(*only))) return error(res, 404, fmt::format("CPU {} is not online", *only));
      }
      // From the history when a reading lies about `seconds` back.
      std::map<std::uint32_t, std::uint64_t> counts;
      std::string source;
      double window = 0;
      if (!st->history.empty()) {
        const daemon::HistoryPoint& last = *st->history.back();
        const daemon::HistoryPoint* best = nullptr;
        double best_err = 0;
        for (const auto& p : st->history) {
          const double age = static_cast<double>(last.monotonic_ns - p->monotonic_ns) / 1e9;
          const double err = std::abs(age - seconds);
          if (age > 0 && (best == nullptr || err < best_err)) {
            best = p.get();
            best_err = err;
          }
        }
        if (best != nullptr && best_err <= 0.1 * seconds) {  // a window within 10% of the one asked for
          const auto each = [](const daemon::HistoryPoint& p, auto&& visit) {
            if (!p.cpus) return;
            for (std::size_t i = 0; i < p.cpus->size() && i < p.cpu_interrupts.size(); ++i) {
              visit(raw((*p.cpus)[i]), p.cpu_interrupts[i]);
            }
          };
          each(last, [&](std::uint32_t c, std::uint64_t n) { counts[c] = n; });
          each(*best, [&](std::uint32_t c, std::uint64_t n) {
            auto it = counts.find(c);
            if (it != counts.end()) it->second = it->second >= n ? it->second - n : it->second;
          });
          source = "history";
          window = static_cast<double>(last.monotonic_ns - best->monotonic_ns) / 1e9;
        }
      }
      if (source.empty()) {
        if (seconds > kMaxMeasuredSeconds) {
          return error(res, 400, fmt::format("second: the daemon's history does not cover {} s and measuring now is "
                                             "limited to {} s",
                                             seconds, kMaxMeasuredSeconds));
        }
        auto measured = control.measure_interrupts(seconds);
        if (!measured) return error(res, 500, measured.error().message);
        for (const auto& [c, n] : *measured) counts[raw(c)] = n;
        source = "measured";
        window = seconds;
      }
      json cpus = json::array();
      for (const auto& [c, n] : counts) {
        if (only && c != *only) continue;
        cpus.push_back({{"cpu", c}, {"interrupts", n}});
      }
      reply(res, 200, json{{"second", seconds}, {"window_s", window}, {"source", source}, {"cpus", std::move(cpus)}});
    });

    const auto set_affinity = [this, via_unix](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {"cpu"})) return;
      if (!allowed(req, res, via_unix)) return;
      auto st = need_status(res);
      if (!st) return;
      auto irq = irq_param(req.matches[1], res, *st);
      if (!irq) return;
      if (!req.has_param("cpu")) return error(res, 400, "cpu: required (a hex mask, e.g. cpu=f)");
      auto cpus = cpus_param(req, res, *st);
      if (!cpus) return;
      command({daemon::Command::Kind::kSetAffinity, *irq, *cpus}, res, [&](const daemon::CommandResult& r) {
        json j{{"irq", raw(*irq)}, {"requested", cpus->to_list()}, {"outcome", r.outcome}};
        j["smp_affinity"] = r.smp_affinity ? json(r.smp_affinity->to_list()) : json(nullptr);
        j["effective_affinity"] = r.effective_affinity ? json(r.effective_affinity->to_list()) : json(nullptr);
        j["pinned"] = r.pinned;
        return j;
      });
    };
    s.Get(R"(/set_affinity/(\d+))", set_affinity);
    s.Post(R"(/set_affinity/(\d+))", set_affinity);

    // --- /v1: the report's field names.
    s.Get("/v1/status", [this](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {})) return;
      auto st = control.status();
      if (!st) return error(res, 503, "starting");
      json pinned = json::array();
      for (const auto& [irq, cpus] : st->pinned) pinned.push_back({{"irq", raw(irq)}, {"cpus", cpus.to_list()}});
      json banned = json::array();
      for (const auto& irq : st->banned) banned.push_back(raw(irq));
      reply(res, 200,
            json{{"version", options.version},
                 {"collector", st->collector},
                 {"collector_fallback_reason",
                  st->collector_fallback_reason ? json(*st->collector_fallback_reason) : json(nullptr)},
                 {"hardirq_sample_every", st->snapshot && st->snapshot->bpf
                                              ? json(st->snapshot->bpf->hardirq_sample_every)
                                              : json(nullptr)},
                 {"cycle", st->cycle},
                 {"state", st->state},
                 {"dry_run", st->dry_run},
                 {"interval_s", st->interval_s},
                 {"rescans", st->rescans},
                 {"moves_total", st->moves_total},
                 {"writes_failed_total", st->writes_failed_total},
                 {"cycle_ms", st->cycle_ms},
                 {"plan_summary", st->plan.summary},
                 {"last_moves", st->plan.moves.size()},
                 {"pinned", std::move(pinned)},
                 {"banned", std::move(banned)},
                 {"last_error", st->last_error.empty() ? json(nullptr) : json(st->last_error)}});
    });
    s.Get("/v1/irqs", [this](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {"per_cpu"})) return;
      auto every_cpu = per_cpu_param(req, res);
      if (!every_cpu) return;
      auto st = need_status(res);
      if (!st) return;
      auto doc = report_json(st, *every_cpu);
      reply(res, 200, json{{"window_s", (*doc)["window_s"]}, {"collector", (*doc)["collector"]}, {"irqs", (*doc)["irqs"]}});
    });
    s.Get(R"(/v1/irqs/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {"per_cpu"})) return;
      auto every_cpu = per_cpu_param(req, res);
      if (!every_cpu) return;
      auto st = need_status(res);
      if (!st) return;
      auto irq = irq_param(req.matches[1], res, *st);
      if (!irq) return;
      auto doc = report_json(st, *every_cpu);
      for (const auto& i : (*doc)["irqs"]) {
        if (i["irq"] != raw(*irq)) continue;
        json out = i;
        auto pin = st->pinned.find(*irq);
        out["pinned"] = pin == st->pinned.end() ? json(nullptr) : json(pin->second.to_list());
        out["banned"] = st->banned.count(*irq) != 0;
        return reply(res, 200, out);
      }
      error(res, 404, fmt::format("IRQ {} is not in the last window", raw(*irq)));
    });
    s.Get("/v1/cpus", [this](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {})) return;
      auto st = need_status(res);
      if (!st) return;
      reply(res, 200, json{{"cpus", (*report_json(st))["cpus"]}});
    });
    s.Get("/v1/topology", [this](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {})) return;
      auto st = need_status(res);
      if (!st) return;
      reply(res, 200, (*report_json(st))["topology"]);
    });
    s.Get("/v1/plan", [this](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {})) return;
      auto st = need_status(res);
      if (!st) return;
      auto doc = report_json(st);
      json applied = json::array();
      for (const auto& mr : st->applied) {
        applied.push_back({{"irq", raw(mr.result.irq)},
                           {"to", mr.result.requested.to_list()},
                           {"outcome", apply::to_string(mr.result.outcome)},
                           {"message", mr.result.message}});
      }
      reply(res, 200,
            json{{"cycle", st->cycle},
                 {"plan", (*doc)["plan"]},
                 {"plan_summary", (*doc)["plan_summary"]},
                 {"held", (*doc)["held"]},
                 {"powersave", (*doc)["powersave"]},
                 {"applied", std::move(applied)},
                 {"dry_run", st->dry_run}});
    });
    s.Get("/v1/history", [this](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {"seconds"})) return;
      auto st = control.status();
      if (!st) return error(res, 503, "starting");
      double seconds = 600;
      if (req.has_param("seconds")) {
        auto v = parse_seconds(req.get_param_value("seconds"));
        if (!v || *v <= 0 || *v > 86400) return error(res, 400, "seconds: expected a number of seconds within (0, 86400]");
        seconds = *v;
      }
      json cycles = json::array();
      if (!st->history.empty()) {
        const std::int64_t now = st->history.back()->monotonic_ns;
        for (const auto& p : st->history) {
          const double ago = static_cast<double>(now - p->monotonic_ns) / 1e9;
          if (ago > seconds) continue;
          cycles.push_back({{"cycle", p->cycle},
                            {"ago_s", ago},
                            {"window_s", p->window_s},
                            {"hottest_cpu_load_pct", 100.0 * p->max_load},
                            {"moves", p->moves},
                            {"failed", p->failed}});
        }
      }
      reply(res, 200, json{{"seconds", seconds}, {"cycles", std::move(cycles)}});
    });

    const auto simple = [this, via_unix](daemon::Command::Kind kind, const char* key) {
      return [this, via_unix, kind, key](const httplib::Request& req, httplib::Response& res) {
        const bool pin = kind == daemon::Command::Kind::kPin;
        if (pin ? !known_params(req, res, {"cpus", "mask"}) : !known_params(req, res, {})) return;
        if (!allowed(req, res, via_unix)) return;
        auto st = need_status(res);
        if (!st) return;
        auto irq = irq_param(req.matches[1], res, *st);
        if (!irq) return;
        std::optional<CpuSet> cpus;
        if (pin) {
          cpus = cpus_param(req, res, *st);
          if (!cpus) return;
        }
        command({kind, *irq, cpus.value_or(CpuSet{})}, res, [&](const daemon::CommandResult& r) {
          json j{{"irq", raw(*irq)}, {key, true}, {"message", r.message}};
          if (pin) j[key] = cpus->to_list();
          return j;
        });
      };
    };
    s.Post(R"(/v1/irqs/(\d+)/pin)", simple(daemon::Command::Kind::kPin, "pinned"));
    s.Post(R"(/v1/irqs/(\d+)/unpin)", simple(daemon::Command::Kind::kUnpin, "unpinned"));
    s.Post(R"(/v1/irqs/(\d+)/ban)", simple(daemon::Command::Kind::kBan, "banned"));
    s.Post(R"(/v1/irqs/(\d+)/unban)", simple(daemon::Command::Kind::kUnban, "unbanned"));
    s.Post("/v1/rescan", [this, via_unix](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {})) return;
      if (!allowed(req, res, via_unix)) return;
      command({daemon::Command::Kind::kRescan, {}, {}}, res,
              [](const daemon::CommandResult& r) { return json{{"rescan", "scheduled"}, {"message", r.message}}; });
    });
    for (const char* p : {R"(/v1/irqs/(\d+)/pin)", R"(/v1/irqs/(\d+)/unpin)", R"(/v1/irqs/(\d+)/ban)",
                          R"(/v1/irqs/(\d+)/unban)", "/v1/rescan"}) {
      s.Get(p, not_allowed);
    }
    for (const char* p : {"/v1/status", "/v1/irqs", "/v1/cpus", "/v1/topology", "/v1/plan", "/v1/history", "/metrics",
                          "/get_current_distribution", "/get_interrupt_by_cpu"}) {
      s.Post(p, not_allowed);
    }

    s.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      if (!known_params(req, res, {"per_cpu"})) return;
      auto st = control.status();
      if (!st || !st->reading) return error(res, 503, "no reading yet");
      report::MetricsOptions mo;
      if (req.has_param("per_cpu")) {
        const std::string v = req.get_param_value("per_cpu");
        if (v != "0" && v != "1" && v != "true" && v != "false") return error(res, 400, "per_cpu: expected 0, 1, true or false");
        mo.per_cpu = v == "1" || v == "true";
      }
      mo.user_hz = st->user_hz;
      report::DaemonCounters c;
      c.version = options.version;
      c.collector = st->collector;
      c.dry_run = st->dry_run;
      c.interval_s = st->interval_s;
      c.cycles = st->cycle;
      c.moves = st->moves_total;
      c.rescans = st->rescans;
      c.writes_by_outcome = st->writes_by_outcome;
      c.last_cycle_s = st->cycle_ms / 1000.0;
      c.hottest_cpu_load = static_cast<double>(st->plan.max_before) / 1e9;
      auto now = rows_now(*st->reading);
      if (!now) return error(res, 503, now.error().message);
      res.set_content(report::render_metrics(*st->reading, st->snapshot ? &*st->snapshot : nullptr, c, mo,
                                             *now ? &**now : nullptr),
                      "text/plain; version=0.0.4");
    });
  }

  void configure(httplib::Server& s, bool via_unix) {
    const std::size_t n = std::max<std::size_t>(options.threads, 1);
    s.new_task_queue = [n] { return new OnDemandPool(n, std::chrono::seconds(2)); };
    s.set_payload_max_length(options.max_body_bytes);
    s.set_read_timeout(options.read_timeout_s, 0);
    s.set_write_timeout(options.read_timeout_s, 0);
    // Keep-alive holds a pool thread per connection: a few requests each and
    // a short idle time, so more clients than threads take turns instead of
    // starving. No Nagle: a small reply must not wait for a delayed ACK.
    s.set_keep_alive_max_count(10);
    s.set_keep_alive_timeout(1);
    s.set_tcp_nodelay(true);
    routes(s, via_unix);
  }
};

core::Result<std::unique_ptr<Server>> Server::start(const ServerOptions& options, daemon::DaemonControl& control) {
  auto impl = std::make_unique<Impl>(options, control);
  std::string note;
  impl->token = load_token(options.token_file, note);
  if (options.listen) {
    auto hp = parse_listen(*options.listen);
    if (!hp) return hp.error();
    impl->tcp = std::make_unique<httplib::Server>();
    impl->configure(*impl->tcp, false);
    if (hp->second == 0) {
      impl->tcp_port = impl->tcp->bind_to_any_port(hp->first);
      if (impl->tcp_port < 0) return core::Error{fmt::format("--listen {}: cannot bind", *options.listen)};
    } else {
      if (!impl->tcp->bind_to_port(hp->first, hp->second)) {
        return core::Error{fmt::format("--listen {}: cannot bind ({})", *options.listen, std::strerror(errno))};
      }
      impl->tcp_port = hp->second;
    }
  }
  if (options.socket) {
    const std::filesystem::path& path = *options.socket;
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    struct stat sb {};
    if (::lstat(path.c_str(), &sb) == 0) {
      if (!S_ISSOCK(sb.st_mode)) return core::Error{fmt::format("--socket {}: exists and is not a socket", path.string())};
      ::unlink(path.c_str());  // a stale socket (the lock says no other instance runs)
    }
    impl->unix_socket = std::make_unique<httplib::Server>();
    impl->unix_socket->set_address_family(AF_UNIX);
    impl->configure(*impl->unix_socket, true);
    const mode_t old = ::umask(0177);  // born 0600: only root may connect
    const bool bound = impl->unix_socket->bind_to_port(path.string(), 80);
    ::umask(old);
    if (!bound) return core::Error{fmt::format("--socket {}: cannot bind ({})", path.string(), std::strerror(errno))};
    ::chmod(path.c_str(), 0600);
  }
  for (httplib::Server* s : {impl->tcp.get(), impl->unix_socket.get()}) {
    if (s == nullptr) continue;
    auto done = std::make_shared<std::atomic<bool>>(false);
    impl->listening.emplace_back(s, done);
    impl->threads.emplace_back([s, done] {
      s->listen_after_bind();
      done->store(true);
    });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  // httplib's stop() does nothing until the listener thread has marked
  // itself running: a stop that comes first (SIGTERM right after start, a
  // slow thread start) would leave the accept loop running and the join
  // below waiting for ever. So each listener is stopped once it runs, or
  // not at all when its thread has already returned.
  for (auto& [s, done] : impl_->listening) {
    while (!done->load()) {
      if (s->is_running()) {
        s->stop();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  for (auto& t : impl_->threads) t.join();
  if (impl_->options.socket) ::unlink(impl_->options.socket->c_str());
}

int Server::port() const { return impl_->tcp_port; }

}  // namespace irqbpfd::api
