// The API server's workers: none while no client is connected, started as
// requests come (bounded by ServerOptions::threads), gone after idling, and
// every request of more concurrent clients than workers answered.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "fake_root.hpp"
#include "irqbpfd/api/server.hpp"

namespace irqbpfd::api {
namespace {

// Answers nothing useful: every route the test asks replies 503 without
// touching a daemon, which is enough to go through a worker.
class IdleControl final : public daemon::DaemonControl {
 public:
  [[nodiscard]] std::shared_ptr<const daemon::Status> status() const override { return nullptr; }
  daemon::CommandResult command(const daemon::Command&, std::chrono::milliseconds) override { return {}; }
  core::Result<std::vector<std::pair<core::CpuId, std::uint64_t>>> measure_interrupts(double) override {
    return core::Error{"not here"};
  }
  core::Result<std::string> interrupts_text() override { return core::Error{"not here"}; }
};

std::size_t threads_now() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Polls until the process has `want` threads or `limit` passes; the count seen last.
std::size_t wait_for_threads(std::size_t want, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  std::size_t n = threads_now();
  while (n != want && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    n = threads_now();
  }
  return n;
}

// TCP only, on a free loopback port, with at most `threads` workers.
ServerOptions loopback_options(const testing::FakeRoot& root, std::size_t threads) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.socket.reset();
  options.token_file = root.path() / "api.token";
  options.threads = threads;
  return options;
}

TEST(ServerWorkers, StartPerRequestAndLeaveWhenIdle) {
  testing::FakeRoot root;
  IdleControl control;
  const ServerOptions options = loopback_options(root, 3);
  const std::size_t before = threads_now();
  auto server = Server::start(options, control);
  ASSERT_TRUE(server.has_value()) << server.error().message;
  // One accept thread, no workers.
  EXPECT_EQ(wait_for_threads(before + 1, std::chrono::seconds(2)), before + 1);

  // More clients than workers, each a few requests on one connection.
  constexpr int kClients = 10, kRequests = 5;
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, port = (*server)->port()] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(10, 0);
      for (int r = 0; r < kRequests; ++r) {
        auto res = client.Get("/v1/status");
        if (res && res->status == 503) ++answered;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), kClients * kRequests);

  // Idle workers exit (2 s) and leave the accept thread alone.
  EXPECT_EQ(wait_for_threads(before + 1, std::chrono::seconds(6)), before + 1);
  server->reset();
  EXPECT_EQ(wait_for_threads(before, std::chrono::seconds(2)), before);
}

TEST(ServerWorkers, StoppingWithBusyWorkersWaitsForThem) {
  testing::FakeRoot root;
  IdleControl control;
  const ServerOptions options = loopback_options(root, 2);
  const std::size_t before = threads_now();
  auto server = Server::start(options, control);
  ASSERT_TRUE(server.has_value()) << server.error().message;
  httplib::Client client("127.0.0.1", (*server)->port());
  auto res = client.Get("/v1/status");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  // A worker is still there (keep-alive, then 2 s idle): the server stops
  // with it and every thread is gone afterwards.
  server->reset();
  EXPECT_EQ(wait_for_threads(before, std::chrono::seconds(2)), before);
}

// Destroyed at once after start, before its listener threads may have run:
// httplib's stop() is a no-op until a listener marks itself running, so a
// destructor that only called it could wait on the join for ever (seen as a
// daemon that logged "stopping" and never exited). 50 times, TCP and socket.
TEST(ServerWorkers, DestroyedRightAfterStartStopsEveryListener) {
  testing::FakeRoot root;
  IdleControl control;
  ServerOptions options = loopback_options(root, 2);
  options.socket = root.path() / "api.sock";
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; i < 50; ++i) {
    std::atomic<bool> finished{false};
    std::thread round([&] {
      auto server = Server::start(options, control);
      EXPECT_TRUE(server.has_value()) << (server ? "" : server.error().message);
      finished = true;  // the destructor runs as `server` goes
    });
    round.join();
    ASSERT_TRUE(finished.load()) << "round " << i;
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "rounds take too long: a listener was not stopped";
  }
}

}  // namespace
}  // namespace irqbpfd::api
