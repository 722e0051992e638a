// ApiClient over cpp-httplib (TCP, or AF_UNIX with the socket path as host),
// and the choices around it: which endpoint, which token. When a connection
// fails, a plain connect() to the same place recovers the errno httplib does
// not keep, so the message says "No such file or directory", not "Connection".
#include "irqbpfd/api/client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

namespace irqbpfd::api {
namespace {

using core::Error;
using core::Result;

// A socket descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// Connects a non-blocking socket and waits up to `timeout`: 0, or the errno.
int connect_within(int family, const sockaddr* addr, socklen_t len, std::chrono::milliseconds timeout) {
  Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return errno;
  if (::connect(fd.get(), addr, len) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  pollfd p{fd.get(), POLLOUT, 0};
  const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n == 0) return ETIMEDOUT;
  if (n < 0) return errno;
  int err = 0;
  socklen_t err_len = sizeof err;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) return errno;
  return err;
}

// Why connecting to `ep` fails, as text ("Connection refused"); empty when a
// second attempt connects (the daemon came up meanwhile).
std::string connect_failure(const Endpoint& ep, std::chrono::milliseconds timeout) {
  if (ep.kind == Endpoint::Kind::kUnix) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (ep.socket_path.size() >= sizeof addr.sun_path) return std::strerror(ENAMETOOLONG);
    std::copy(ep.socket_path.begin(), ep.socket_path.end(), addr.sun_path);
    const int err = connect_within(AF_UNIX, reinterpret_cast<const sockaddr*>(&addr), sizeof addr, timeout);
    return err == 0 ? std::string() : std::strerror(err);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(ep.port);
  if (const int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &found); rc != 0) return ::gai_strerror(rc);
  int err = 0;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    err = connect_within(a->ai_family, a->ai_addr, a->ai_addrlen, timeout);
    if (err == 0) break;
  }
  ::freeaddrinfo(found);
  return err == 0 ? std::string() : std::strerror(err);
}

std::string hint_for(const Endpoint& ep, const std::string& reason) {
  if (reason == std::strerror(EACCES) && ep.kind == Endpoint::Kind::kUnix) {
    return " (the socket is root's: run irqbpfctl as root, or use --url)";
  }
  if (reason == std::strerror(ENOENT) || reason == std::strerror(ECONNREFUSED)) return " (is irqbpfd running?)";
  return "";
}

std::string seconds_text(std::chrono::milliseconds d) {
  return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000.0);
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

std::string_view status_reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

}  // namespace

std::string Endpoint::describe() const {
  if (kind == Kind::kUnix) return socket_path;
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

Result<Endpoint> tcp_endpoint(std::string_view url, int port) {
  const std::string_view original = url;
  if (starts_with_nocase(url, "http://")) {
    url.remove_prefix(7);
  } else if (url.find("://") != std::string_view::npos) {
    return Error{fmt::format("--url {}: only http:// is supported (irqbpfd serves plain HTTP)", original)};
  }
  if (const auto slash = url.find('/'); slash != std::string_view::npos) {
    if (url.substr(slash) != "/") return Error{fmt::format("--url {}: expected no path, found '{}'", original, url.substr(slash))};
    url = url.substr(0, slash);
  }
  Endpoint ep;
  ep.port = port;
  std::string_view port_text;
  if (!url.empty() && url.front() == '[') {  // [::1]:5000
    const auto close = url.find(']');
    if (close == std::string_view::npos) return Error{fmt::format("--url {}: unclosed '['", original)};
    ep.host = std::string(url.substr(1, close - 1));
    const std::string_view rest = url.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Error{fmt::format("--url {}: expected ':PORT' after ']'", original)};
      port_text = rest.substr(1);
    }
  } else if (const auto colon = url.find(':'); colon != std::string_view::npos) {
    ep.host = std::string(url.substr(0, colon));
    port_text = url.substr(colon + 1);
  } else {
    ep.host = std::string(url);
  }
  if (ep.host.empty()) return Error{fmt::format("--url {}: no host", original)};
  if (!port_text.empty() || url.find(':') != std::string_view::npos) {
    int p = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || p < 1 || p > 65535) {
      return Error{fmt::format("--url {}: bad port '{}'", original, port_text)};
    }
    ep.port = p;
  }
  if (ep.port < 1 || ep.port > 65535) return Error{fmt::format("--port {}: expected 1-65535", ep.port)};
  return ep;
}

Endpoint unix_endpoint(std::string socket_path) {
  Endpoint ep;
  ep.kind = Endpoint::Kind::kUnix;
  ep.socket_path = std::move(socket_path);
  return ep;
}

struct ApiClient::Http {
  explicit Http(const Endpoint& ep)
      : client(ep.kind == Endpoint::Kind::kUnix ? ep.socket_path : ep.host, ep.kind == Endpoint::Kind::kUnix ? 80 : ep.port) {
    if (ep.kind == Endpoint::Kind::kUnix) client.set_address_family(AF_UNIX);
  }
  httplib::Client client;
};

ApiClient::ApiClient(ClientOptions options) : options_(std::move(options)), http_(std::make_unique<Http>(options_.endpoint)) {
  http_->client.set_connection_timeout(options_.connect_timeout);
  if (!options_.token.empty()) http_->client.set_bearer_token_auth(options_.token);
}

ApiClient::~ApiClient() = default;

Result<Response> ApiClient::get(const std::string& target, std::optional<std::chrono::milliseconds> read_timeout) {
  return send(Method::kGet, target, read_timeout);
}

Result<Response> ApiClient::post(const std::string& target) { return send(Method::kPost, target, std::nullopt); }

Result<Response> ApiClient::send(Method method, const std::string& target,
                                 std::optional<std::chrono::milliseconds> read_timeout) {
  const auto timeout = read_timeout.value_or(options_.read_timeout);
  http_->client.set_read_timeout(timeout);
  httplib::Result r = method == Method::kGet ? http_->client.Get(target) : http_->client.Post(target);
  const char* verb = method == Method::kGet ? "GET" : "POST";
  const std::string where = describe();
  if (!r) {
    switch (r.error()) {
      case httplib::Error::Connection: {
        std::string reason = connect_failure(options_.endpoint, options_.connect_timeout);
        if (reason.empty()) reason = "connection failed";
        return Error{fmt::format("cannot connect to {}: {}{}", where, reason, hint_for(options_.endpoint, reason))};
      }
      case httplib::Error::ConnectionTimeout:
        return Error{fmt::format("cannot connect to {}: no answer within {}", where, seconds_text(options_.connect_timeout))};
      case httplib::Error::Read:
        return Error{fmt::format("{} {} {}: no complete answer within {} (the daemon may be busy, or it closed the connection)",
                                 verb, where, target, seconds_text(timeout))};
      default:
        return Error{fmt::format("{} {} {}: {}", verb, where, target, httplib::to_string(r.error()))};
    }
  }
  Response out;
  out.status = r->status;
  out.body = r->body;
  out.content_type = r->get_header_value("Content-Type");
  return out;
}

std::string error_text(const Response& response) {
  const auto parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) {
    return parsed["error"].get<std::string>();
  }
  std::string_view body = response.body;
  body = body.substr(0, std::min(body.find('\n'), std::size_t{200}));
  while (!body.empty() && (body.back() == '\r' || body.back() == ' ')) body.remove_suffix(1);
  if (!body.empty()) return std::string(body);
  const std::string_view reason = status_reason(response.status);
  return reason.empty() ? fmt::format("HTTP {}", response.status) : fmt::format("HTTP {} {}", response.status, reason);
}

Result<std::string> read_token_file(const std::filesystem::path& file) {
  std::FILE* f = std::fopen(file.c_str(), "re");
  if (f == nullptr) return core::errno_error(file.string(), errno);
  char buf[256] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string_view text(buf, n);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  const bool hex = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
  if (!hex) return Error{fmt::format("{}: expected one line of hex digits", file.string())};
  return std::string(text);
}

ConnectFacts probe_connect_facts(const ConnectArgs& args) {
  ConnectFacts facts;
  facts.root = ::geteuid() == 0;
  struct stat st {};
  facts.socket_exists = ::stat(args.socket_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
  return facts;
}

Result<Endpoint> choose_endpoint(const ConnectArgs& args, const ConnectFacts& facts) {
  if (args.socket_given) return unix_endpoint(args.socket_path);
  if (!args.url_given && !args.port_given && facts.root && facts.socket_exists) return unix_endpoint(args.socket_path);
  return tcp_endpoint(args.url, args.port);
}

Result<std::string> token_for(const ConnectArgs& args, const Endpoint& endpoint, bool mutating) {
  if (!mutating || endpoint.kind == Endpoint::Kind::kUnix) return std::string();
  auto token = read_token_file(args.token_file);
  if (token || args.token_file_given) return token;
  return std::string();
}

Result<ClientOptions> client_options(const ConnectArgs& args, bool mutating) {
  auto endpoint = choose_endpoint(args, probe_connect_facts(args));
  if (!endpoint) return endpoint.error();
  auto token = token_for(args, *endpoint, mutating);
  if (!token) return token.error().with_context("--token-file");
  ClientOptions options;
  options.endpoint = std::move(*endpoint);
  options.token = std::move(*token);
  return options;
}

}  // namespace irqbpfd::api
