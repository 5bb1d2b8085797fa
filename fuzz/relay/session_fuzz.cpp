// Input: one byte of configuration, then client bytes; a 0xFF byte marks a
// split between reads. A login succeeds when the password is "ok".
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    pb::relay::SessionConfig cfg;
    cfg.client_allowed = (data[0] & 1) != 0;
    cfg.implicit_tls = (data[0] & 2) != 0;
    cfg.require_tls = (data[0] & 4) != 0;
    cfg.tls_available = (data[0] & 8) != 0;
    cfg.bare_lf = (data[0] & 16) != 0 ? pb::relay::BareLf::reject : pb::relay::BareLf::normalize;
    cfg.max_message_size = (data[0] & 32) != 0 ? 64 : 1 << 20;
    cfg.max_recipients = 3;
    pb::relay::Session s(cfg);
    bool logged_in = false;
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    while (!rest.empty() && !s.closed()) {
        const auto cut = rest.find('\xff');
        s.feed(rest.substr(0, cut));
        rest = cut == std::string_view::npos ? std::string_view{} : rest.substr(cut + 1);
        for (;;) {
            pb::relay::Action a = s.next();
            if (a.kind == pb::relay::Action::need_input || a.kind == pb::relay::Action::close)
                break;
            switch (a.kind) {
                case pb::relay::Action::verify_login: {
                    const bool ok = a.password.reveal() == "ok";
                    logged_in = logged_in || ok;
                    s.login_result(ok);
                    break;
                }
                case pb::relay::Action::message:
                    if (!cfg.client_allowed && !logged_in) __builtin_trap();  // an open relay
                    if (s.envelope().recipients.empty()) __builtin_trap();
                    s.message_result("250 2.0.0 Ok");
                    break;
                case pb::relay::Action::data:
                    // Line ends are written as whole CRLF pairs: no bare CR
                    // or LF can reach the spool (SMTP smuggling).
                    for (std::size_t i = 0; i < a.text.size(); ++i) {
                        if (a.text[i] == '\n' && (i == 0 || a.text[i - 1] != '\r'))
                            __builtin_trap();
                        if (a.text[i] == '\r' && (i + 1 == a.text.size() || a.text[i + 1] != '\n'))
                            __builtin_trap();
                    }
                    break;
                case pb::relay::Action::start_tls:
                    s.tls_started();
                    logged_in = false;
                    break;
                default:
                    break;
            }
        }
    }
    return 0;
}
