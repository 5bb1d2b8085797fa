// 100 concurrent callers need a token while it is expired: how many refresh
// requests reach the provider (must be 1) and how long the callers wait.
//
//   SingleFlight/fake:  a scripted provider answering after 20 ms (a typical
//                       round trip to login.microsoftonline.com is 50-200 ms).
//   SingleFlight/real:  oidc-provider of tests/peers over libcurl; registered
//                       when PB_OIDC_ISSUER and PB_PEERS_DIR are set, e.g.
//                       tests/peers/with-peers.sh RUNDIR build/bench/oauth/oauth_bench
//
// Counters: requests per round (refresh requests that left the process),
// wait_mean_ms / wait_max_ms (per caller, from the start line to its token).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <memory>
#include <numeric>
#include <thread>
#include <utility>
#include <vector>

#include "oauth/http_curl.hpp"
#include "oauth/sign_in.hpp"
#include "oauth/token_manager.hpp"

namespace pb::oauth {
namespace {

constexpr int callers = 100;

class FakeProvider final : public HttpClient {
  public:
    Result<HttpResponse> send(const HttpRequest&) override {
        const int n = ++requests;
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
        HttpResponse r;
        r.status = 200;
        r.body = Secret(R"({"token_type":"Bearer","access_token":"AT)" + std::to_string(n) +
                        R"(","expires_in":3600,"refresh_token":"RT)" + std::to_string(n) + R"("})");
        return r;
    }
    std::atomic<int> requests{0};
};

class Counting final : public HttpClient {
  public:
    explicit Counting(HttpClient& inner) : inner_(inner) {}
    Result<HttpResponse> send(const HttpRequest& r) override {
        if (r.body.reveal().find("grant_type=refresh_token") != std::string_view::npos) ++requests;
        return inner_.send(r);
    }
    std::atomic<int> requests{0};

  private:
    HttpClient& inner_;
};

// One round: the stored access token is made expired, then 100 threads ask
// at once. Returns each caller's wait.
std::vector<double> round(TokenManager& manager, MemoryTokenStore& store, const Client& client,
                          const Clock& clock) {
    TokenSet t = store.load("email").value().value();
    t.access_expires_at = clock.now() - std::chrono::seconds{1};
    (void)store.save("email", t);
    std::latch start(callers);
    std::vector<double> waits(callers);
    std::vector<std::thread> threads;
    threads.reserve(callers);
    for (int i = 0; i < callers; ++i)
        threads.emplace_back([&, i] {
            start.arrive_and_wait();
            const auto t0 = std::chrono::steady_clock::now();
            auto token = manager.access_token("email", client);
            const auto t1 = std::chrono::steady_clock::now();
            if (!token)
                std::fprintf(stderr, "caller failed: %s\n", token.error().describe().c_str());
            waits[static_cast<std::size_t>(i)] =
                std::chrono::duration<double, std::milli>(t1 - t0).count();
        });
    for (auto& th : threads) th.join();
    return waits;
}

void report(benchmark::State& state, const std::vector<double>& all, int requests, int rounds) {
    state.counters["requests_per_round"] = static_cast<double>(requests) / rounds;
    state.counters["wait_mean_ms"] =
        std::accumulate(all.begin(), all.end(), 0.0) / static_cast<double>(all.size());
    state.counters["wait_max_ms"] = *std::max_element(all.begin(), all.end());
}

TokenSet seed(const Clock& clock) {
    TokenSet t;
    t.access_token = Secret("AT0");
    t.refresh_token = Secret("RT0");
    t.access_expires_at = clock.now();
    t.signed_in_at = t.last_refresh = clock.now();
    return t;
}

void SingleFlightFake(benchmark::State& state) {
    SystemClock clock;
    FakeProvider http;
    MemoryTokenStore store;
    TokenManager manager(http, store, clock);
    Client client;
    client.provider =
        parse_discovery(
            "http://127.0.0.1:1",
            R"({"issuer":"http://127.0.0.1:1","token_endpoint":"http://127.0.0.1:1/token"})")
            .value();
    client.client_id = "bench";
    (void)store.save("email", seed(clock));
    std::vector<double> all;
    int rounds = 0;
    for (auto _ : state) {
        auto waits = round(manager, store, client, clock);
        all.insert(all.end(), waits.begin(), waits.end());
        ++rounds;
    }
    report(state, all, http.requests.load(), rounds);
}
BENCHMARK(SingleFlightFake)
    ->Name("SingleFlight/fake")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(20);

void SingleFlightReal(benchmark::State& state) {
    const std::string issuer = std::getenv("PB_OIDC_ISSUER");
    const std::string peers = std::getenv("PB_PEERS_DIR");
    const std::string node = std::getenv("PB_NODE") ? std::getenv("PB_NODE") : "node";
    SystemClock clock;
    auto curl = CurlHttpClient::create({}).value();
    Counting http(*curl);
    Client client;
    client.provider = discover(*curl, issuer).value();
    client.client_id =
        std::getenv("PB_OIDC_CLIENT_ID") ? std::getenv("PB_OIDC_CLIENT_ID") : "postbridge-device";
    client.scope = "openid email offline_access smtp.send";

    DeviceFlow flow(client);
    CancellableWaiter waiter(clock);
    bool approved = false;
    auto tokens = run_device_flow(flow, *curl, clock, waiter, [&](const DeviceFlow& f) {
        if (f.state() != DeviceFlow::State::waiting || std::exchange(approved, true)) return;
        const std::string cmd = "'" + node + "' '" + peers + "/user.mjs' approve --issuer '" +
                                issuer + "' --code '" + f.authorization()->user_code +
                                "' >/dev/null";
        if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "user.mjs failed\n");
    });
    if (!tokens) {
        state.SkipWithError(tokens.error().describe().c_str());
        return;
    }
    MemoryTokenStore store;
    TokenManager manager(http, store, clock);
    (void)manager.complete_sign_in("email", client, std::move(*tokens));
    std::vector<double> all;
    int rounds = 0;
    for (auto _ : state) {
        auto waits = round(manager, store, client, clock);
        all.insert(all.end(), waits.begin(), waits.end());
        ++rounds;
    }
    report(state, all, http.requests.load(), rounds);
}

}  // namespace
}  // namespace pb::oauth

int main(int argc, char** argv) {
    if (std::getenv("PB_OIDC_ISSUER") != nullptr && std::getenv("PB_PEERS_DIR") != nullptr)
        benchmark::RegisterBenchmark("SingleFlight/real", pb::oauth::SingleFlightReal)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->Iterations(20);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
