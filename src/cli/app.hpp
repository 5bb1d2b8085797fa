// What every `postbridge` command shares: the state directory, --json, the
// clock and randomness, output helpers, and exit statuses (design.md:
// 0 done, 1 failed, 2 bad usage or invalid value, 75 held / not accepted).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/store.hpp"

namespace pb::cli {

enum Exit : int { ok = 0, failed = 1, usage = 2, tempfail = 75 };

class Context {
  public:
    std::string state_dir;  // from --state, POSTBRIDGE_STATE or the default
    // --state or POSTBRIDGE_STATE named it: a state the caller wants, made if
    // missing. The default is made only for commands that set one up.
    bool state_named = false;
    bool json = false;
    int exit_status = Exit::ok;  // set by the command that ran

    // The command only reads (config show, status, jobs ...): a state that
    // is not there is an error, never made (main.cpp decides).
    bool read_only = false;

    SystemClock clock;
    SystemRandom rng;

    // Before the first touch of the state: checks that it exists when the
    // command only reads, and when run by root on a state directory that
    // another user owns (the service's), becomes that user, so no file the
    // command writes is root's. Called by store(); commands that open the
    // state another way call it first.
    Result<void> enter_state();
    // Whether the state directory holds postbridge's state yet.
    bool state_exists() const;
    // Opens the state on first use. Errors are printed by the caller.
    Result<store::Store*> store();

    // Prints "postbridge: DETAIL" (or a JSON error line) and returns the
    // exit status for the error's code.
    int report(const Error& e) const;
    // One JSON object per line.
    static void emit(const nlohmann::json& j);

  private:
    bool entered_ = false;
    std::unique_ptr<store::Store> store_;
};

std::string default_state_dir();
// Exit status for an error: invalid input and configuration -> 2, else 1.
int exit_for(const Error& e);

// Reads a secret: from standard input when it is not a terminal, else from
// the terminal without echo (asking twice when `confirm`).
Result<Secret> read_secret(const std::string& prompt, bool confirm);

void add_config_commands(CLI::App& app, Context& ctx);
void add_admin_commands(CLI::App& app, Context& ctx);
void add_signin_commands(CLI::App& app, Context& ctx);        // cli/signin.cpp
void add_jobs_commands(CLI::App& app, Context& ctx);          // cli/jobs.cpp
void add_serve_commands(CLI::App& app, Context& ctx);         // cli/serve.cpp
void add_status_sheet_commands(CLI::App& app, Context& ctx);  // cli/status_sheet.cpp

}  // namespace pb::cli
