// The base of the command-line tests against the real peers: a fresh state
// directory with the email profile set up for the test OAuth server
// (oidc-provider, custom service) and SMTP server, and the scripted user who
// approves or denies a device code.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/peers.hpp"
#include "support/temp_dir.hpp"

namespace pb::test {

namespace fs = std::filesystem;
using nlohmann::json;

// The scripted user at the OAuth server: `approve` or `deny` a code.
inline void act_as_user(const std::string& action, const std::string& code,
                        const std::string& login = "alice") {
    auto u = run_command(Peers::get().at("PB_NODE") + " " + Peers::get().at("PB_PEERS_DIR") +
                         "/user.mjs " + action + " --issuer " + Peers::get().at("PB_OIDC_ISSUER") +
                         " --code " + code + " --login " + login + " 2>&1");
    EXPECT_EQ(u.status, 0) << u.out;
}

// Runs `signin_command` (a `postbridge ... signin --json`) in the
// background, its output and then its exit status into `scratch`.
inline std::jthread signin_in_background(const std::string& signin_command,
                                         const fs::path& scratch) {
    const std::string cmd =
        signin_command + " > " + scratch.string() + " 2>&1; echo $? >> " + scratch.string();
    return std::jthread([cmd] { (void)run_command(cmd); });
}

// The code that the sign-in writing to `scratch` shows, once it is shown;
// "" when none comes within 20 s.
inline std::string shown_code(const fs::path& scratch) {
    for (int i = 0; i < 200; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::ifstream in(scratch);
        std::string line;
        if (std::getline(in, line)) {
            auto j = json::parse(line, nullptr, false);
            if (j.is_object() && j.contains("user_code")) return j["user_code"].get<std::string>();
        }
    }
    return {};
}

// Every line of `scratch` as JSON (the last is the exit status); removes it.
inline std::vector<json> json_lines(const fs::path& scratch) {
    std::vector<json> lines;
    std::ifstream in(scratch);
    std::string line;
    while (std::getline(in, line)) lines.push_back(json::parse(line, nullptr, false));
    fs::remove(scratch);
    return lines;
}

// Runs `signin_command` in the background, acts as the user on the code it
// shows, and returns every JSON line it printed; `scratch` is a file for its
// output.
inline std::vector<json> signin_as_user(const std::string& signin_command, const fs::path& scratch,
                                        const std::string& action,
                                        const std::string& login = "alice") {
    auto runner = signin_in_background(signin_command, scratch);
    const std::string code = shown_code(scratch);
    EXPECT_FALSE(code.empty()) << "signin showed no code";
    if (!code.empty()) act_as_user(action, code, login);
    runner.join();
    return json_lines(scratch);
}

class CliWithPeers : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(Peers::get().available()) << "the peers fixture is not running";
        state_ = test::fresh_dir("pb-cli");
        const auto& p = Peers::get();
        for (const std::string& kv : std::vector<std::string>{
                 "email.auth_method oauth2", "email.service custom",
                 "email.oauth.issuer " + p.at("PB_OIDC_ISSUER"),
                 "email.oauth.client_id " + p.at("PB_OIDC_CLIENT_ID"),
                 "email.oauth.scopes 'openid email offline_access smtp.send'",
                 "email.smtp.host 127.0.0.1", "email.smtp.port " + p.at("PB_SMTP_PORT"),
                 "email.sender alice@example.test"})
            ASSERT_EQ(pb("config set " + kv).status, 0) << kv;
        ASSERT_EQ(pb("ca import " + p.at("PB_TEST_CA")).status, 0);
    }
    void TearDown() override { fs::remove_all(state_); }

    CommandResult pb(const std::string& args) {
        return run_command(binary_path() + " --state " + state_.string() + " " + args + " 2>&1");
    }

    static void act_as_user(const std::string& action, const std::string& code,
                            const std::string& login = "alice") {
        test::act_as_user(action, code, login);
    }

    // `signin --json` of this state in the background (signin_in_background).
    std::jthread signin_in_background(const fs::path& scratch) {
        return test::signin_in_background(
            binary_path() + " --state " + state_.string() + " signin --json", scratch);
    }

    // signin --json for `profile` as the scripted user; every JSON line it printed.
    std::vector<json> signin_as_user(const std::string& action,
                                     const std::string& profile = "email",
                                     const std::string& login = "alice") {
        return test::signin_as_user(
            binary_path() + " --state " + state_.string() + " signin --json --profile " + profile,
            state_.string() + ".signin", action, login);
    }

    json status_json(const std::string& profile = "email") {
        auto r = pb("status --json --profile " + profile);
        auto j = json::parse(r.out, nullptr, false);
        if (!j.is_object() || !j.contains("profiles") || j["profiles"].empty()) {
            ADD_FAILURE() << r.out;
            return json::object();
        }
        return j["profiles"][0];
    }

    fs::path state_;
};

// Finds a message in the SMTP server's maildir by a string it contains.
inline bool in_maildir(const std::string& needle) {
    const fs::path dir = Peers::get().at("PB_MAILDIR");
    if (!fs::exists(dir)) return false;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file() || e.path().string().ends_with(".envelope.json")) continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (text.find(needle) != std::string::npos) return true;
    }
    return false;
}

}  // namespace pb::test
