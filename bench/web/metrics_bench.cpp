// What one scrape of /metrics costs with 10,000 jobs in the history: the
// whole answer as serve makes it (the counts from the database, the oldest
// waiting job, each profile's sign-in read and unsealed, the text), without
// the HTTP around it. Goal: under 5 ms.
//
//   build/bench/web/metrics_scrape_bench --benchmark_min_time=2
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include "observe/metrics.hpp"
#include "service/outbox.hpp"
#include "service/tokens.hpp"
#include "sqlite/store.hpp"
#include "storage/backends.hpp"
#include "web/operations_service.hpp"

namespace {

namespace fs = std::filesystem;

void BM_MetricsScrape(benchmark::State& state) {
    const auto jobs = state.range(0);
    const fs::path dir =
        fs::temp_directory_path() / ("pb-bench-metrics-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    pb::SystemClock clock;
    pb::SystemRandom rng;
    const pb::store::Options key{.key_base64 = std::string(43, 'A') + "="};
    pb::service::OutboxOptions options;
    options.store = key;
    auto outbox = pb::service::Outbox::open(dir, clock, rng, std::move(options));
    auto store = pb::storage::open_store(dir, rng, clock, key);  // the web thread's own
    if (!outbox || !store) {
        state.SkipWithError("cannot open the state directory");
        return;
    }
    pb::store::Store& st = **store;
    (void)st.set_values({{"email.auth_method", "oauth2"},
                         {"email.service", "exchange-online"},
                         {"email.oauth.client_id", "bench"},
                         {"email.sender", "scanner@example.test"}});
    for (int u = 0; u < 5; ++u)
        (void)st.add_user("user" + std::to_string(u), "user" + std::to_string(u) + "@example.test");
    pb::oauth::TokenSet t;
    t.service = "exchange-online";
    t.access_token = pb::Secret("a");
    t.refresh_token = pb::Secret("r");
    t.signed_in_at = t.last_refresh = clock.now();
    (void)pb::service::SealedTokenStore(st).save("email", t);
    // The history, written straight into the table: 10,000 accepted
    // messages would be 10,000 fsyncs. Mostly sent, some of each other state.
    const std::string fill =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
        std::to_string(jobs) +
        ") INSERT INTO jobs (created_at, updated_at, queued_at, function, profile, sender, "
        "size, attempts, state) SELECT 1800000000000 + i, 1800000000000 + i, 1800000000000 + i, "
        "'scan_to_email', CASE WHEN i % 7 = 0 THEN 'user:user1' ELSE 'email' END, "
        "'scanner@example.test', 20000, 1, CASE i % 50 WHEN 0 THEN 'queued' WHEN 1 THEN 'held' "
        "WHEN 2 THEN 'failed' WHEN 3 THEN 'partial' ELSE 'sent' END FROM n";
    // Filled straight into the local backend's database: a history of
    // `jobs` jobs in seconds, not the minutes of accepting each.
    auto db = pb::sqlite::Db::open(pb::sqlite::database_path(dir));
    if (!db) {
        state.SkipWithError(db.error().describe().c_str());
        return;
    }
    if (auto r = db->exec(fill); !r) {
        state.SkipWithError(r.error().describe().c_str());
        return;
    }
    pb::observe::Metrics metrics;
    pb::web::OperationsOptions operations;
    operations.metrics = &metrics;
    auto ops = pb::web::make_operations(st, **outbox, clock, rng, std::move(operations));
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto text = ops->metrics();
        if (!text) {
            state.SkipWithError(text.error().describe().c_str());
            break;
        }
        bytes = text->size();
        benchmark::DoNotOptimize(text);
    }
    state.counters["bytes"] = static_cast<double>(bytes);
    ops.reset();
    outbox->reset();
    store->reset();
    fs::remove_all(dir);
}
BENCHMARK(BM_MetricsScrape)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
