// Durable intake: jobs accepted per second, each one written, fsynced,
// renamed, its directory fsynced and its record committed (WAL,
// synchronous=FULL). One process, then several processes submitting to one
// state directory at once (forked children, as several `sendmail` calls
// would be). The figure is the disk's fsync rate more than our code's.
//
//   build-spool/bench/spool/spool_intake_bench --benchmark_min_time=2
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "spool/spool.hpp"
#include "storage/backends.hpp"
#include "store/store.hpp"

namespace {

namespace fs = std::filesystem;

fs::path fresh_state(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() / ("pb-bench-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    return dir;
}

const std::string kBody = [] {
    std::string b = "From: a@example.test\r\nTo: b@example.test\r\nSubject: bench\r\n\r\n";
    while (b.size() < 4096) b += "The quick brown fox jumps over the lazy dog.\r\n";
    return b;
}();

bool accept_one(pb::spool::Spool& spool) {
    pb::StringSource body(kBody);
    return spool
        .accept({pb::spool::Function::cli,
                 "email",
                 "a@example.test",
                 {"b@example.test"},
                 "bench",
                 std::nullopt},
                body)
        .ok();
}

void BM_IntakeOneProcess(benchmark::State& state) {
    const fs::path dir = fresh_state("one");
    pb::SystemClock clock;
    pb::SystemRandom rng;
    auto store =
        pb::storage::open_store(dir, rng, clock, {.key_base64 = std::string(43, 'A') + "="});
    pb::spool::PosixFileOps ops;
    auto spool = pb::storage::open_spool(dir, ops, clock, rng);
    if (!store || !spool) {
        state.SkipWithError("cannot open the state directory");
        return;
    }
    for (auto _ : state)
        if (!accept_one(**spool)) state.SkipWithError("intake failed");
    state.SetItemsProcessed(state.iterations());
    spool->reset();
    fs::remove_all(dir);
}
BENCHMARK(BM_IntakeOneProcess)->Unit(benchmark::kMillisecond)->UseRealTime();

// N processes each accept `per_process` jobs; the figure is jobs/s overall.
void BM_IntakeProcesses(benchmark::State& state) {
    const int procs = static_cast<int>(state.range(0));
    constexpr int per_process = 100;
    const fs::path dir = fresh_state("procs");
    pb::SystemClock clock;
    pb::SystemRandom rng;
    {
        auto store =
            pb::storage::open_store(dir, rng, clock, {.key_base64 = std::string(43, 'A') + "="});
        if (!store) {
            state.SkipWithError("cannot open the state directory");
            return;
        }
    }
    for (auto _ : state) {
        for (int p = 0; p < procs; ++p) {
            if (::fork() == 0) {
                pb::SystemClock c;
                pb::SystemRandom r;
                pb::spool::PosixFileOps ops;
                auto spool = pb::storage::open_spool(dir, ops, c, r);
                int ok = 0;
                for (int i = 0; spool && i < per_process; ++i) ok += accept_one(**spool) ? 1 : 0;
                ::_exit(ok == per_process ? 0 : 1);
            }
        }
        int failed = 0;
        for (int p = 0; p < procs; ++p) {
            int status = 0;
            ::wait(&status);
            failed += (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : 1;
        }
        if (failed) state.SkipWithError("a child failed to accept its jobs");
    }
    state.SetItemsProcessed(state.iterations() * procs * per_process);
    fs::remove_all(dir);
}
BENCHMARK(BM_IntakeProcesses)
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
