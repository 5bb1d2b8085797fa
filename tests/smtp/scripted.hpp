// A scripted SMTP server for Session tests: turns of "server says S, the
// client must answer with exactly C", run with each turn's server bytes
// whole, split in two at every position, and byte by byte (style.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "smtp/session.hpp"
#include "support/transcript.hpp"

namespace pb::smtp::test {

struct Turn {
    std::string server;  // bytes the server sends
    std::string client;  // bytes the client must write in response (all of them)
};

struct ScriptMessage {
    Envelope envelope;
    std::string body;
};

struct Script {
    SessionConfig config;
    std::vector<std::string> tokens;  // handed out on each NeedToken, in order
    std::vector<ScriptMessage> messages;
    std::vector<Turn> turns;
    std::string after_connect;   // what the client writes right after "connected" (usually nothing)
    std::size_t body_chunk = 7;  // small on purpose: line starts fall on chunk edges
};

struct Run {
    std::vector<MessageResult> messages;
    std::optional<action::Failed> failure;
    bool closed = false;
    int tls_starts = 0;
    std::vector<bool> token_requests;  // forced flag of each
    std::string transcript;
    std::string mismatch;  // empty when every turn's client bytes matched
};

// Runs the script once with turn `split_turn` delivered as `chunks`.
Run run(const Script& script, std::size_t split_turn, const pb::test::Chunks& chunks);

// Runs every split of every turn; checks each turn's client bytes and that
// all runs agree; returns the whole-input run for further checks.
Run run_all_splits(const Script& script);

std::string b64(std::string_view raw);

}  // namespace pb::smtp::test
