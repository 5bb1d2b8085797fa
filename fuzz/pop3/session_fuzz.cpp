// Fuzzes the POP3 login session with server bytes. The first input byte
// picks the security mode and where the rest is cut; the session is fed
// whole and in two pieces and must behave the same. Whatever comes, the
// password never reaches the transcript or an error, and nothing but the
// PASS line carries it.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

#include "pop3/session.hpp"

namespace {

const std::string password = "fuzz-secret-pw";

struct Outcome {
    std::string written;  // everything the client wrote, PASS line included
    std::string transcript;
    std::string error;
    bool failed = false;
    bool closed = false;
    int tls = 0;
};

Outcome drive(pb::pop3::Security security, std::string_view a, std::string_view b) {
    pb::pop3::SessionConfig config;
    config.security = security;
    config.user = "scanner";
    config.password = pb::Secret(password);
    pb::pop3::Session s(config);
    Outcome o;
    auto pump = [&] {
        while (auto act = s.next()) {
            std::visit(
                [&](auto& x) {
                    using T = std::decay_t<decltype(x)>;
                    using namespace pb::pop3::action;
                    if constexpr (std::is_same_v<T, Write>) {
                        if (x.bytes.find(password) != std::string::npos) std::abort();
                        o.written += x.bytes;
                    } else if constexpr (std::is_same_v<T, WriteSecret>) {
                        o.written += x.bytes.reveal();
                    } else if constexpr (std::is_same_v<T, StartTls>) {
                        ++o.tls;
                        s.on_tls_established();
                    } else if constexpr (std::is_same_v<T, Closed>) {
                        o.closed = true;
                    } else if constexpr (std::is_same_v<T, Failed>) {
                        o.failed = true;
                        o.error = x.error.detail;
                    }
                },
                *act);
        }
    };
    s.on_connected();
    pump();
    for (std::string_view part : {a, b}) {
        s.on_bytes(part);
        pump();
    }
    s.on_closed_by_peer();
    pump();
    if (o.failed == o.closed) std::abort();  // exactly one end
    o.transcript = s.transcript().str();
    if (o.transcript.find(password) != std::string::npos) std::abort();
    if (o.error.find(password) != std::string::npos) std::abort();
    if (s.logged_in() && !o.closed) std::abort();
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto security = static_cast<pb::pop3::Security>(data[0] % 3);
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t cut = in.empty() ? 0 : (data[0] / 3u) % (in.size() + 1);
    const Outcome whole = drive(security, in, {});
    const Outcome split = drive(security, in.substr(0, cut), in.substr(cut));
    // Bytes right after +OK to STLS are refused only when they arrive with
    // it; a cut there delivers them after the handshake instead. Everything
    // else must not depend on the cut.
    if (whole.tls == split.tls && whole.written == split.written && whole.failed == split.failed &&
        whole.transcript == split.transcript)
        return 0;
    if (whole.failed && whole.error.find("after its +OK to STLS") != std::string::npos) return 0;
    std::abort();
}
