// Builds a message with a large attachment read from a real file and
// streams it to /dev/null, then prints throughput and the process's peak
// RSS. A separate small program, because a benchmark binary's own baseline
// (and its other cases' buffers) would hide what the builder costs.
//
//   mime_message_rss FILE [SINK]     (SINK defaults to /dev/null)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "mime/message.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FILE [SINK]\n", argv[0]);
        return 2;
    }
    pb::SystemClock clock;
    pb::SystemRandom random;
    pb::mime::Draft d;
    d.from = "Scanner <scanner@example.com>";
    d.to = {"office@example.com"};
    d.subject = "Large scan";
    d.text = "See attachment.";
    auto a = pb::mime::attach_file(argv[1]);
    if (!a) {
        std::fprintf(stderr, "%s\n", a.error().describe().c_str());
        return 1;
    }
    d.attachments.push_back(std::move(*a));
    const auto start = std::chrono::steady_clock::now();
    auto m = pb::mime::build_message(std::move(d), clock, random);
    if (!m) {
        std::fprintf(stderr, "%s\n", m.error().describe().c_str());
        return 1;
    }
    std::FILE* sink = std::fopen(argc > 2 ? argv[2] : "/dev/null", "wb");
    std::vector<char> buf(64 * 1024);
    std::uint64_t total = 0;
    for (;;) {
        auto n = (*m)->read(buf);
        if (!n) {
            std::fprintf(stderr, "%s\n", n.error().describe().c_str());
            return 1;
        }
        if (*n == 0) break;
        std::fwrite(buf.data(), 1, *n, sink);
        total += *n;
    }
    std::fclose(sink);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf(
        "message %llu bytes (size_hint %llu), %.3f s, %.0f MB/s of message, peak RSS %.1f MiB\n",
        static_cast<unsigned long long>(total), static_cast<unsigned long long>(*(*m)->size_hint()),
        secs, static_cast<double>(total) / secs / 1e6, static_cast<double>(ru.ru_maxrss) / 1024.0);
    return total == *(*m)->size_hint() ? 0 : 1;
}
