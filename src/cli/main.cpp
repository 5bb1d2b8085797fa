// The `postbridge` command (design.md "Command line"). Each part registers
// its subcommands; this file holds the global options and `codes`.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "cli/version.hpp"  // generated (cmake/version.cmake)
#include "core/log.hpp"

namespace pb::cli {
namespace {

int codes(Context& ctx) {
    for (const auto& c : code_table()) {
        if (ctx.json)
            Context::emit({{"code", static_cast<int>(c.code)},
                           {"status", c.status},
                           {"remedy", c.remedy},
                           {"condition", to_string(c.condition)}});
        else
            std::cout << fmt::format("{}  {}\n     {}\n", static_cast<int>(c.code), c.status,
                                     c.remedy);
    }
    return Exit::ok;
}

// Commands that only read: on a state that is not there they say so and
// create nothing. The words are the command and its first subcommand, as
// typed (options and the values of those that take one skipped).
std::vector<std::string> command_words(const std::vector<char*>& args) {
    std::vector<std::string> words;
    for (std::size_t i = 1; i < args.size() && words.size() < 2; ++i) {
        const std::string a = args[i];
        if (a == "--state" || a == "--limit" || a == "--profile" || a == "--format" || a == "-o") {
            ++i;
            continue;
        }
        if (a.starts_with("-")) continue;
        words.push_back(a);
    }
    return words;
}

bool only_reads(const std::vector<char*>& args) {
    const auto words = command_words(args);
    const std::string cmd = words.empty() ? "" : words[0];
    const std::string sub = words.size() > 1 ? words[1] : "";
    if (cmd == "status" || cmd == "status-sheet" || cmd == "newaliases") return true;
    if (cmd == "sendmail")
        return std::any_of(args.begin(), args.end(),
                           [](const char* a) { return std::string_view(a) == "-bp"; });
    if (cmd == "config") return sub == "show" || sub == "get" || sub == "export";
    if (cmd == "jobs") return sub.empty() || sub == "show";
    if (cmd == "ca" || cmd == "users" || cmd == "api-token" || cmd == "relay-users")
        return sub == "list";
    return false;
}

}  // namespace

int run(int argc, char** argv) {
    Context ctx;
    ctx.state_dir = default_state_dir();
    CLI::App app{"postbridge: email for office devices, with OAuth 2.0", "postbridge"};
    app.require_subcommand(1);
    // Global options are accepted before or after the subcommand.
    app.fallthrough();
    app.add_option("--state", ctx.state_dir, "state directory")->capture_default_str();
    app.add_flag("--json", ctx.json, "print JSON, one object per line");
    app.set_version_flag("--version",
                         fmt::format("postbridge {} ({})", build::version, build::git_describe));

    app.add_subcommand("codes", "The job code table")->callback([&ctx] {
        ctx.exit_status = codes(ctx);
    });
    add_config_commands(app, ctx);
    add_admin_commands(app, ctx);
    add_signin_commands(app, ctx);
    add_jobs_commands(app, ctx);
    add_serve_commands(app, ctx);
    add_status_sheet_commands(app, ctx);

    // Installed as `sendmail`, `mailq` and `newaliases` (links to
    // postbridge, as a mail system provides them), it is the sendmail
    // subcommand, the job list, and a no-op: programs that call a mail
    // system's commands work unchanged.
    std::vector<char*> args(argv, argv + argc);
    std::string sendmail = "sendmail", list = "-bp", newaliases = "newaliases";
    const std::string called = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "";
    if (called == "sendmail") args.insert(args.begin() + 1, sendmail.data());
    if (called == "mailq") args.insert(args.begin() + 1, {sendmail.data(), list.data()});
    if (called == "newaliases") args.insert(args.begin() + 1, newaliases.data());
    // sendmail's callers test sysexits.h statuses: a command line it cannot
    // read is EX_USAGE (64) there, 2 for postbridge's own commands.
    const auto words = command_words(args);
    const bool as_sendmail = !words.empty() && words[0] == "sendmail";
    ctx.read_only = only_reads(args);
    ctx.state_named =
        std::getenv("POSTBRIDGE_STATE") != nullptr ||
        std::any_of(args.begin(), args.end(), [](const char* a) {
            return std::string_view(a) == "--state" || std::string_view(a).starts_with("--state=");
        });
    // What the commands do by themselves (the delivery log of `send --wait`
    // and `sendmail`, sign-in events) goes to the system log, facility mail:
    // their standard error is the user's, and cron mails it back. serve logs
    // to standard error, which is the journal under systemd.
    if (words.empty() || words[0] != "serve") log::set_format(log::Format::syslog);
    try {
        app.parse(static_cast<int>(args.size()), args.data());
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return as_sendmail ? 64 : static_cast<int>(Exit::usage);
    }
    return ctx.exit_status;
}

}  // namespace pb::cli

int main(int argc, char** argv) {
    return pb::cli::run(argc, argv);
}
