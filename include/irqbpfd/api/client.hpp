// ApiClient: irqbpfctl's side of irqbpfd's HTTP API, over loopback TCP or the
// daemon's Unix socket. It owns one cpp-httplib client (kept out of this
// header) and returns each call's status and body, or an Error saying what to
// check; it never interprets a body (client_format.hpp does).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "irqbpfd/core/result.hpp"

namespace irqbpfd::api {

inline constexpr std::string_view kDefaultSocketPath = "/run/irqbpfd/irqbpfd.sock";
inline constexpr std::string_view kDefaultTokenFile = "/run/irqbpfd/api.token";
inline constexpr std::string_view kDefaultUrl = "http://localhost";
inline constexpr int kDefaultPort = 5000;

// Where the daemon listens: host and port, or a Unix socket's path.
struct Endpoint {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host = "localhost";  // kTcp
  int port = kDefaultPort;         // kTcp
  std::string socket_path;         // kUnix

  // "http://localhost:5000" or "/run/irqbpfd/irqbpfd.sock", as errors name it.
  [[nodiscard]] std::string describe() const;
};

// The seed tool's --url and --port: "http://localhost" and 5000 give
// localhost:5000. A port in the URL ("http://127.0.0.1:8080") wins over
// `port`. Only plain http (the daemon serves loopback HTTP); a path other
// than "/" is an error.
core::Result<Endpoint> tcp_endpoint(std::string_view url, int port);
Endpoint unix_endpoint(std::string socket_path);

struct ClientOptions {
  Endpoint endpoint;
  std::string token;  // sent as "Authorization: Bearer <token>" when not empty
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{10000};
};

// What the daemon answered: any HTTP status, including errors.
struct Response {
  int status = 0;
  std::string body;
  std::string content_type;

  [[nodiscard]] bool ok() const { return status >= 200 && status < 300; }
};

// The calls irqbpfctl makes; the seam where the network is, so the commands
// (client_commands.hpp) run against a fake in unit tests.
class Requester {
 public:
  virtual ~Requester() = default;
  // `target` is a path with its query ("/v1/irqs/24", "/v1/history?seconds=60").
  // `read_timeout` overrides the client's for calls that take time on the
  // server (a measured window).
  virtual core::Result<Response> get(const std::string& target,
                                     std::optional<std::chrono::milliseconds> read_timeout = std::nullopt) = 0;
  virtual core::Result<Response> post(const std::string& target) = 0;
  // Where the calls go, for messages and headers ("http://localhost:5000").
  [[nodiscard]] virtual std::string describe() const = 0;
  // Whether calls go over TCP (mutations then need the bearer token).
  [[nodiscard]] virtual bool over_tcp() const = 0;
};

class ApiClient final : public Requester {
 public:
  explicit ApiClient(ClientOptions options);
  ~ApiClient() override;
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  core::Result<Response> get(const std::string& target,
                             std::optional<std::chrono::milliseconds> read_timeout = std::nullopt) override;
  core::Result<Response> post(const std::string& target) override;
  [[nodiscard]] std::string describe() const override { return options_.endpoint.describe(); }
  [[nodiscard]] bool over_tcp() const override { return options_.endpoint.kind == Endpoint::Kind::kTcp; }

 private:
  struct Http;
  enum class Method { kGet, kPost };
  core::Result<Response> send(Method method, const std::string& target,
                              std::optional<std::chrono::milliseconds> read_timeout);
  ClientOptions options_;
  std::unique_ptr<Http> http_;
};

// How irqbpfctl was told to connect (its flags), and what the machine says.
struct ConnectArgs {
  std::string url{kDefaultUrl};
  int port = kDefaultPort;
  std::string socket_path{kDefaultSocketPath};
  std::string token_file{kDefaultTokenFile};
  bool url_given = false;
  bool port_given = false;
  bool socket_given = false;
  bool token_file_given = false;
};
struct ConnectFacts {
  bool root = false;           // effective uid 0
  bool socket_exists = false;  // socket_path names a socket
};
ConnectFacts probe_connect_facts(const ConnectArgs& args);

// The Unix socket when --socket was given, or when running as root, the
// socket exists and neither --url nor --port was given; TCP otherwise.
core::Result<Endpoint> choose_endpoint(const ConnectArgs& args, const ConnectFacts& facts);

// The bearer token a call needs: none over the Unix socket (the daemon checks
// the peer's uid) or for reads; for a mutation over TCP the --token-file's
// (an error when unreadable), else the default file's when readable, else
// none (the daemon will answer 403).
core::Result<std::string> token_for(const ConnectArgs& args, const Endpoint& endpoint, bool mutating);

// All of the above for one call: the endpoint from the flags and the
// machine, the token when the call is a change. An Error is a bad --url or
// --port, or a --token-file that cannot be read.
core::Result<ClientOptions> client_options(const ConnectArgs& args, bool mutating);

// The message of an API error body ({"error": "..."}), else the body's first
// line, else "HTTP 404 Not Found".
std::string error_text(const Response& response);

// The token file: one line of hex. Errors name the file ("/run/irqbpfd/api.token:
// Permission denied").
core::Result<std::string> read_token_file(const std::filesystem::path& file);

}  // namespace irqbpfd::api
