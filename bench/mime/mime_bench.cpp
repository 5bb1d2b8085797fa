// Throughput of what a large scan goes through on its way out: core's base64
// encoder cut into 76-column MIME lines, and a whole message with a 100 MB
// attachment built and read into a sink. Peak RSS (getrusage) is reported
// with the message figures: the builder must stay within a few buffers.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstring>
#include <vector>

#include "core/encoding.hpp"
#include "mime/message.hpp"

namespace {

std::vector<std::byte> random_bytes(std::size_t n) {
    std::vector<std::byte> v(n);
    std::uint64_t x = 88172645463325252ULL;
    for (auto& b : v) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b = static_cast<std::byte>(x);
    }
    return v;
}

double peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

// The raw encoder, for reference.
void BM_Base64Raw(benchmark::State& state) {
    const auto in = random_bytes(1 << 20);
    std::vector<char> out(pb::base64_encoded_size(in.size()));
    for (auto _ : state) {
        pb::base64_encode_to(in, out.data());
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(in.size()));
}
BENCHMARK(BM_Base64Raw);

// Exactly the loop of Message::refill: 57 bytes -> 76 characters + CRLF.
void BM_Base64MimeLines(benchmark::State& state) {
    const auto in = random_bytes(57 * 840);
    std::vector<char> out(78 * 840);
    for (auto _ : state) {
        char* o = out.data();
        for (std::size_t i = 0; i < in.size(); i += 57) {
            pb::base64_encode_to(std::span(in).subspan(i, 57), o);
            o[76] = '\r';
            o[77] = '\n';
            o += 78;
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(in.size()));
}
BENCHMARK(BM_Base64MimeLines);

// An attachment that exists only as a size: measures the builder, not a disk.
class PatternSource final : public pb::ByteSource {
  public:
    explicit PatternSource(std::uint64_t size) : left_(size), size_(size) {}
    pb::Result<std::size_t> read(std::span<char> out) override {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), left_));
        std::memset(out.data(), 0x5A, n);
        left_ -= n;
        return n;
    }
    std::optional<std::uint64_t> size_hint() const override { return size_; }

  private:
    std::uint64_t left_;
    std::uint64_t size_;
};

class FixedClock final : public pb::Clock {
  public:
    pb::TimePoint now() const override {
        return pb::TimePoint{std::chrono::seconds{1'800'000'000}};
    }
};

class FixedRandom final : public pb::Random {
  public:
    void fill(std::span<std::byte> out) override { std::memset(out.data(), 7, out.size()); }
};

void BM_Message100MB(benchmark::State& state) {
    constexpr std::uint64_t kSize = 100ULL * 1000 * 1000;
    std::vector<char> sink(64 * 1024);
    std::uint64_t produced = 0;
    for (auto _ : state) {
        FixedClock clock;
        FixedRandom random;
        pb::mime::Draft d;
        d.from = "Scanner <scanner@example.com>";
        d.to = {"office@example.com"};
        d.subject = "Scan 100 MB";
        d.text = "See attachment.";
        d.attachments.push_back({"scan.pdf", {}, std::make_unique<PatternSource>(kSize)});
        auto m = pb::mime::build_message(std::move(d), clock, random);
        if (!m) {
            state.SkipWithError(m.error().detail.c_str());
            return;
        }
        for (;;) {
            auto n = (*m)->read(sink);
            if (!n || *n == 0) break;
            produced += *n;
        }
        benchmark::DoNotOptimize(sink.data());
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kSize));
    state.counters["out_MB"] =
        static_cast<double>(produced) / static_cast<double>(state.iterations()) / 1e6;
    state.counters["peak_rss_MiB"] = peak_rss_mib();
}
BENCHMARK(BM_Message100MB)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
