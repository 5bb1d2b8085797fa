#include "cli/app.hpp"

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace pb::cli {

std::string default_state_dir() {
    if (const char* s = std::getenv("POSTBRIDGE_STATE"); s != nullptr && *s != '\0') return s;
    if (::geteuid() == 0) return "/var/lib/postbridge";
    const char* home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.local/state/postbridge";
}

Result<store::Store*> Context::store() {
    if (!store_) {
        store::Options opts;
        if (const char* k = std::getenv("POSTBRIDGE_KEY"); k != nullptr && *k != '\0')
            opts.key_base64 = k;
        auto s = store::Store::open(state_dir, rng, clock, opts);
        if (!s) return std::move(s).error();
        store_ = std::move(*s);
    }
    return store_.get();
}

int exit_for(const Error& e) {
    const auto c = e.info().condition;
    if (e.code == Errc::invalid_input || c == Condition::configuration) return Exit::usage;
    return Exit::failed;
}

int Context::report(const Error& e) const {
    if (json) {
        emit({{"error", e.detail.empty() ? std::string(e.info().status) : e.detail},
              {"code", e.number()},
              {"status", e.info().status},
              {"remedy", e.info().remedy}});
    } else {
        std::cerr << "postbridge: " << (e.detail.empty() ? std::string(e.info().status) : e.detail)
                  << "\n";
    }
    return exit_for(e);
}

void Context::emit(const nlohmann::json& j) {
    std::cout << j.dump() << "\n" << std::flush;
}

Result<Secret> read_secret(const std::string& prompt, bool confirm) {
    auto read_line = [](bool echo_off, const std::string& p) -> std::optional<std::string> {
        termios old{};
        const bool tty = ::isatty(STDIN_FILENO) != 0;
        if (tty && echo_off) {
            std::cerr << p << std::flush;
            ::tcgetattr(STDIN_FILENO, &old);
            termios t = old;
            t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
        }
        std::string line;
        const bool got = static_cast<bool>(std::getline(std::cin, line));
        if (tty && echo_off) {
            ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
            std::cerr << "\n";
        }
        if (!got) return std::nullopt;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
    };
    auto first = read_line(true, prompt + ": ");
    if (!first || first->empty())
        return fail(Errc::invalid_input,
                    "no " + prompt + " given (type it, or pipe it on standard input)");
    if (confirm && ::isatty(STDIN_FILENO) != 0) {
        auto again = read_line(true, "Again: ");
        if (!again || *again != *first) return fail(Errc::invalid_input, "the two entries differ");
    }
    return Secret(std::move(*first));
}

}  // namespace pb::cli
