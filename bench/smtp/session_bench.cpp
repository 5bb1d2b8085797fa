// Messages per second through the pure Session on a canned, pipelined
// transcript (server replies prepared once): what the protocol core costs
// per message, apart from the network.
#include <benchmark/benchmark.h>

#include <string>

#include "smtp/session.hpp"

namespace {

using namespace pb::smtp;

std::size_t drain(Session& s, std::string_view body, bool& ready) {
    std::size_t written = 0;
    bool body_sent = false;
    while (auto a = s.next()) {
        if (auto* w = std::get_if<action::Write>(&*a))
            written += w->bytes.size();
        else if (std::holds_alternative<action::NeedBody>(*a)) {
            if (!body_sent)
                s.on_body(body), body_sent = true;
            else
                s.on_body_end();
        } else if (std::holds_alternative<action::Ready>(*a))
            ready = true;
        else if (std::holds_alternative<action::StartTls>(*a))
            s.on_tls_established();
        else if (std::holds_alternative<action::NeedToken>(*a))
            s.on_token(pb::Secret("token"));
    }
    return written;
}

void BM_SessionMessages(benchmark::State& state) {
    const std::string body(static_cast<std::size_t>(state.range(0)), 'x');
    std::string text;
    for (std::size_t i = 0; i < body.size(); i += 76) text.append(body, i, 76).append("\r\n");
    SessionConfig c;
    c.user = "scanner@example.com";
    Session s(c);
    bool ready = false;
    s.on_connected();
    s.on_bytes("220 ready\r\n");
    drain(s, text, ready);
    s.on_bytes("250-h\r\n250-PIPELINING\r\n250-SIZE 100000000\r\n250 STARTTLS\r\n");
    drain(s, text, ready);
    s.on_bytes("220 go\r\n");
    drain(s, text, ready);
    s.on_bytes("250-h\r\n250-PIPELINING\r\n250-SIZE 100000000\r\n250 AUTH XOAUTH2\r\n");
    drain(s, text, ready);
    s.on_bytes("235 2.7.0 ok\r\n");
    drain(s, text, ready);
    const Envelope env{
        "scanner@example.com", {"a@example.com", "b@example.com"}, text.size(), false};
    std::size_t bytes = 0;
    for (auto _ : state) {
        ready = false;
        s.submit(env);
        bytes += drain(s, text, ready);
        s.on_bytes("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n");
        bytes += drain(s, text, ready);
        s.on_bytes("354 go\r\n");
        bytes += drain(s, text, ready);
        s.on_bytes("250 2.0.0 queued\r\n");
        bytes += drain(s, text, ready);
        if (!ready) state.SkipWithError("session did not come back to ready");
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_SessionMessages)->Arg(1024)->Arg(64 * 1024)->Arg(4 * 1024 * 1024);

void BM_DotStuffer(benchmark::State& state) {
    std::string text;
    for (int i = 0; i < 20000; ++i)
        text += (i % 50 == 0) ? ".line with a dot\r\n"
                              : "an ordinary line of base64-like text, 76 chars or so ......\r\n";
    DotStuffer d;
    std::string out;
    for (auto _ : state) {
        out.clear();
        d.put(text, out);
        d.finish(out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_DotStuffer);

}  // namespace

BENCHMARK_MAIN();
