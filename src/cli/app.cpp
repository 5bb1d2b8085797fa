#include "cli/app.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "storage/backends.hpp"

namespace pb::cli {

std::string default_state_dir() {
    if (const char* s = std::getenv("POSTBRIDGE_STATE"); s != nullptr && *s != '\0') return s;
    if (::geteuid() == 0) return "/var/lib/postbridge";
    const char* home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.local/state/postbridge";
}

bool Context::state_exists() const {
    std::error_code ec;
    return std::filesystem::exists(std::filesystem::path(state_dir) / "postbridge.db", ec);
}

Result<void> Context::enter_state() {
    if (entered_) return {};
    if (read_only && !state_exists())
        return fail(Errc::invalid_input,
                    fmt::format("there is no postbridge state in {}: this command only reads, "
                                "so it made none. Give the state directory with --state or "
                                "POSTBRIDGE_STATE, or set one up with `postbridge config set` or "
                                "`postbridge serve`",
                                state_dir));
    struct stat st {};
    if (::geteuid() == 0 && ::stat(state_dir.c_str(), &st) == 0 && st.st_uid != 0) {
        // root on the service's state: become its owner before any file is
        // opened, or the service could not open what root made.
        const passwd* pw = ::getpwuid(st.st_uid);
        const gid_t gid = pw != nullptr ? pw->pw_gid : st.st_gid;
        const bool groups_ok =
            pw != nullptr ? ::initgroups(pw->pw_name, gid) == 0 : ::setgroups(0, nullptr) == 0;
        if (!groups_ok || ::setgid(gid) != 0 || ::setuid(st.st_uid) != 0)
            return fail(
                Errc::invalid_input,
                fmt::format("{} belongs to user {}, and root cannot become that user: "
                            "{}; run the command as that user",
                            state_dir, pw != nullptr ? pw->pw_name : std::to_string(st.st_uid),
                            std::strerror(errno)));
    }
    entered_ = true;
    return {};
}

Result<store::Store*> Context::store() {
    if (auto r = enter_state(); !r) return std::move(r).error();
    if (!store_) {
        store::Options opts;
        if (const char* k = std::getenv("POSTBRIDGE_KEY"); k != nullptr && *k != '\0')
            opts.key_base64 = k;
        auto s = storage::open_store(state_dir, rng, clock, opts);
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
        // The code too, as the README promises: `postbridge codes` says more.
        std::cerr << "postbridge: " << (e.detail.empty() ? std::string(e.info().status) : e.detail)
                  << " (code " << e.number() << ")\n";
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
