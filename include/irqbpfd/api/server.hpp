// The local API inside the daemon: HTTP on loopback (default
// 127.0.0.1:5000) and on a Unix socket (mode 0600, root only), with the
// earlier Python tool's paths (/get_current_distribution,
// /get_interrupt_by_cpu, /set_affinity/<irq>), /v1/... in the report's field
// names, and /metrics in Prometheus text. Calls that change anything need
// the Unix socket (root) or a bearer token from a root-only file over TCP.
// A bounded thread pool serves clients; the balancing loop never waits on
// one (commands go through DaemonControl with a deadline).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "irqbpfd/core/result.hpp"
#include "irqbpfd/daemon/control.hpp"

namespace irqbpfd::api {

struct ServerOptions {
  std::optional<std::string> listen = std::string("127.0.0.1:5000");  // ADDR:PORT; nullopt: --no-http
  std::optional<std::filesystem::path> socket;                         // Unix socket; nullopt: none
  std::filesystem::path token_file = "/run/irqbpfd/api.token";  // created (0600) when absent
  std::size_t threads = 8;                 // per listener, at most: started per request, gone after 2 s idle
  std::size_t max_body_bytes = 4096;       // larger bodies: 413
  int read_timeout_s = 5;                  // a client that sends nothing for this long is dropped
  std::string version;                     // reported in /v1/status and metrics
};

class Server {
 public:
  // Binds the listeners (errors name the address or path) and serves on
  // threads of its own until destroyed.
  static core::Result<std::unique_ptr<Server>> start(const ServerOptions& options, daemon::DaemonControl& control);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // The port the TCP listener got (useful with port 0).
  [[nodiscard]] int port() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "127.0.0.1:5000" -> (host, port); errors name the flag.
core::Result<std::pair<std::string, int>> parse_listen(std::string_view text);

}  // namespace irqbpfd::api
