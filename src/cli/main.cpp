// The `postbridge` command (design.md "Command line"). Each part registers
// its subcommands; this file holds the global options and `codes`.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/app.hpp"

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
    app.set_version_flag("--version", "postbridge 0.1.0");

    app.add_subcommand("codes", "The job code table")->callback([&ctx] {
        ctx.exit_status = codes(ctx);
    });
    add_config_commands(app, ctx);
    add_admin_commands(app, ctx);
    add_signin_commands(app, ctx);
    add_jobs_commands(app, ctx);
    add_serve_commands(app, ctx);
    add_status_sheet_commands(app, ctx);

    // Installed as `sendmail` (a link to postbridge), it is the sendmail
    // subcommand, so programs that call sendmail work unchanged.
    std::vector<char*> args(argv, argv + argc);
    std::string sendmail = "sendmail";
    if (argc > 0 && std::filesystem::path(argv[0]).filename() == "sendmail")
        args.insert(args.begin() + 1, sendmail.data());
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
        return Exit::usage;
    }
    return ctx.exit_status;
}

}  // namespace pb::cli

int main(int argc, char** argv) {
    return pb::cli::run(argc, argv);
}
