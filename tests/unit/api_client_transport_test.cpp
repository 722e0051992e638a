// ApiClient against an in-process cpp-httplib server, over loopback TCP and
// a Unix socket in a temporary directory: status and body come back as
// sent, the bearer token goes only when given, and a missing socket, a
// refused port or a slow answer are errors that say what to check. Also the
// choices around the client: --url/--port parsing, which endpoint, which
// token, the token file and the error text of a body.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "irqbpfd/api/client.hpp"

namespace irqbpfd::api {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A server on a background thread, stopped and joined on destruction.
class TestServer {
 public:
  // On loopback TCP, any free port.
  TestServer() {
    routes();
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    wait_running();
  }
  // On a Unix socket at `path`.
  explicit TestServer(const fs::path& path) {
    routes();
    server_.set_address_family(AF_UNIX);
    thread_ = std::thread([this, path] { server_.listen(path.string(), 80); });
    wait_running();
  }
  ~TestServer() {
    server_.stop();
    thread_.join();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  [[nodiscard]] int port() const { return port_; }
  std::string last_authorization;

 private:
  void routes() {
    server_.Get("/v1/status", [this](const httplib::Request& req, httplib::Response& res) {
      last_authorization = req.get_header_value("Authorization");
      res.set_content(R"({"state": "running"})", "application/json");
    });
    server_.Post("/v1/rescan", [this](const httplib::Request& req, httplib::Response& res) {
      last_authorization = req.get_header_value("Authorization");
      res.status = 202;
      res.set_content("{}", "application/json");
    });
    server_.Get("/v1/irqs/999", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content(R"({"error": "no IRQ 999"})", "application/json");
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(1500ms);
      res.set_content("late", "text/plain");
    });
  }
  void wait_running() {
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(server_.is_running());
  }
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("irqbpfctl-test-" + std::to_string(::getpid()) + "-" + std::to_string(n_++))) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  static inline int n_ = 0;
  fs::path path_;
};

// A loopback port nothing listens on (bound, then closed).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

ClientOptions tcp_options(int port) {
  ClientOptions o;
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = port;
  return o;
}

TEST(ClientTransport, TcpGetAndPostReturnStatusAndBody) {
  TestServer server;
  ApiClient client(tcp_options(server.port()));
  auto r = client.get("/v1/status");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"state": "running"})");
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(server.last_authorization, "");
  r = client.post("/v1/rescan");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 202);
  EXPECT_TRUE(r->ok());
  r = client.get("/v1/irqs/999");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(error_text(*r), "no IRQ 999");
  EXPECT_TRUE(client.over_tcp());
  EXPECT_EQ(client.describe(), "http://127.0.0.1:" + std::to_string(server.port()));
}

TEST(ClientTransport, TheTokenGoesAsABearerHeaderWhenGiven) {
  TestServer server;
  ClientOptions o = tcp_options(server.port());
  o.token = "00c0ffee";
  ApiClient client(o);
  ASSERT_TRUE(client.post("/v1/rescan").has_value());
  EXPECT_EQ(server.last_authorization, "Bearer 00c0ffee");
}

TEST(ClientTransport, UnixSocket) {
  TempDir dir;
  const fs::path sock = dir.path() / "irqbpfd.sock";
  TestServer server(sock);
  ApiClient client(ClientOptions{unix_endpoint(sock.string()), "", 2000ms, 10000ms});
  auto r = client.get("/v1/status");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"state": "running"})");
  EXPECT_FALSE(client.over_tcp());
  EXPECT_EQ(client.describe(), sock.string());
}

TEST(ClientTransport, AMissingSocketOrAClosedPortSaysSoAndAsksWhetherTheDaemonRuns) {
  TempDir dir;
  const std::string sock = (dir.path() / "none.sock").string();
  ApiClient missing(ClientOptions{unix_endpoint(sock), "", 2000ms, 10000ms});
  auto r = missing.get("/v1/status");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "cannot connect to " + sock + ": No such file or directory (is irqbpfd running?)");

  const int port = closed_port();
  ApiClient refused(tcp_options(port));
  r = refused.get("/v1/status");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "cannot connect to http://127.0.0.1:" + std::to_string(port) + ": Connection refused (is irqbpfd running?)");
}

TEST(ClientTransport, ASlowAnswerTimesOutSayingHowLongItWaited) {
  TestServer server;
  ApiClient client(tcp_options(server.port()));
  const auto start = std::chrono::steady_clock::now();
  const auto r = client.get("/slow", 300ms);
  ASSERT_FALSE(r.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1400ms);
  EXPECT_THAT(r.error().message, HasSubstr("/slow: no complete answer within 0.3 s"));
}

TEST(ClientEndpoint, UrlAndPortLikeTheSeedTool) {
  auto e = tcp_endpoint("http://localhost", 5000);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "localhost");
  EXPECT_EQ(e->port, 5000);
  EXPECT_EQ(e->describe(), "http://localhost:5000");
  e = tcp_endpoint("HTTP://127.0.0.1:8080/", 5000);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 8080);
  e = tcp_endpoint("localhost", 6000);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->describe(), "http://localhost:6000");
  e = tcp_endpoint("http://[::1]:5001", 5000);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->describe(), "http://[::1]:5001");
  EXPECT_THAT(tcp_endpoint("https://localhost", 5000).error().message, HasSubstr("only http://"));
  EXPECT_THAT(tcp_endpoint("http://localhost/api", 5000).error().message, HasSubstr("expected no path"));
  EXPECT_THAT(tcp_endpoint("http://localhost:0", 5000).error().message, HasSubstr("bad port '0'"));
  EXPECT_THAT(tcp_endpoint("http://localhost:", 5000).error().message, HasSubstr("bad port"));
  EXPECT_THAT(tcp_endpoint("http://:5000", 5000).error().message, HasSubstr("no host"));
  EXPECT_THAT(tcp_endpoint("http://localhost", 70000).error().message, HasSubstr("--port 70000"));
}

TEST(ClientEndpoint, TheSocketWhenRootAndItExistsUnlessTcpWasAskedFor) {
  ConnectArgs args;
  EXPECT_EQ(choose_endpoint(args, {true, true})->kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(choose_endpoint(args, {true, true})->socket_path, std::string(kDefaultSocketPath));
  EXPECT_EQ(choose_endpoint(args, {false, true})->kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(choose_endpoint(args, {true, false})->kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(choose_endpoint(args, {true, false})->describe(), "http://localhost:5000");
  ConnectArgs tcp = args;
  tcp.port = 5001;
  tcp.port_given = true;
  EXPECT_EQ(choose_endpoint(tcp, {true, true})->describe(), "http://localhost:5001");
  ConnectArgs sock = args;
  sock.socket_path = "/tmp/other.sock";
  sock.socket_given = true;
  EXPECT_EQ(choose_endpoint(sock, {false, false})->describe(), "/tmp/other.sock");
}

TEST(ClientEndpoint, TokenOnlyForChangesOverTcp) {
  TempDir dir;
  ConnectArgs args;
  args.token_file = (dir.path() / "api.token").string();
  std::ofstream(args.token_file) << "0123abcd\n";
  const Endpoint tcp = *tcp_endpoint("http://localhost", 5000);
  EXPECT_EQ(*token_for(args, tcp, true), "0123abcd");
  EXPECT_EQ(*token_for(args, tcp, false), "");
  EXPECT_EQ(*token_for(args, unix_endpoint("/run/x.sock"), true), "");
  // The default file unreadable: no token (the daemon will say 403);
  // a --token-file given but unreadable: an error naming it.
  args.token_file = (dir.path() / "absent").string();
  EXPECT_EQ(*token_for(args, tcp, true), "");
  args.token_file_given = true;
  const auto r = token_for(args, tcp, true);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, args.token_file + ": No such file or directory");
}

TEST(ClientEndpoint, ClientOptionsForACallFromTheFlags) {
  TempDir dir;
  ConnectArgs args;
  args.socket_path = (dir.path() / "absent.sock").string();  // not there: TCP
  args.token_file = (dir.path() / "api.token").string();
  std::ofstream(args.token_file) << "abc123\n";
  auto o = client_options(args, true);
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->endpoint.describe(), "http://localhost:5000");
  EXPECT_EQ(o->token, "abc123");
  EXPECT_EQ(client_options(args, false)->token, "");
  args.socket_given = true;
  o = client_options(args, true);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->endpoint.kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(o->token, "");
  ConnectArgs bad;
  bad.url = "ftp://x";
  bad.url_given = true;
  EXPECT_THAT(client_options(bad, false).error().message, HasSubstr("only http://"));
  ConnectArgs no_token;
  no_token.url_given = true;
  no_token.token_file = (dir.path() / "none").string();
  no_token.token_file_given = true;
  EXPECT_EQ(client_options(no_token, true).error().message, "--token-file: " + no_token.token_file + ": No such file or directory");
}

TEST(ClientEndpoint, TokenFileIsOneLineOfHex) {
  TempDir dir;
  const fs::path f = dir.path() / "t";
  std::ofstream(f) << "deadBEEF01\n";
  EXPECT_EQ(*read_token_file(f), "deadBEEF01");
  std::ofstream(f) << "not hex\n";
  EXPECT_THAT(read_token_file(f).error().message, HasSubstr("expected one line of hex digits"));
  std::ofstream(f) << "";
  EXPECT_FALSE(read_token_file(f).has_value());
}

TEST(ClientEndpoint, ErrorTextFromTheBodyOrTheStatus) {
  EXPECT_EQ(error_text(Response{409, R"({"error": "irq 30: managed", "outcome": "managed"})", ""}), "irq 30: managed");
  EXPECT_EQ(error_text(Response{500, "Internal failure\nstack...", ""}), "Internal failure");
  EXPECT_EQ(error_text(Response{404, "", ""}), "HTTP 404 Not Found");
  EXPECT_EQ(error_text(Response{418, "", ""}), "HTTP 418");
  EXPECT_THAT(error_text(Response{400, std::string(500, 'x'), ""}), StartsWith(std::string(200, 'x')));
  EXPECT_EQ(error_text(Response{400, std::string(500, 'x'), ""}).size(), 200U);
}

}  // namespace
}  // namespace irqbpfd::api
