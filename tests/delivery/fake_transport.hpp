// A scripted Transport: each call takes the next script entry (a function of
// the batch), records what it was given, and reads every body through, as a
// real transport streams DATA.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "delivery/transport.hpp"

namespace pb::test {

class FakeTransport final : public delivery::Transport {
  public:
    using Script = std::function<delivery::MessageOutcome(const delivery::OutgoingMessage&)>;

    // Every message: all recipients accepted.
    static delivery::MessageOutcome accept_all(const delivery::OutgoingMessage& m) {
        delivery::MessageOutcome o;
        for (const auto& r : m.recipients)
            o.recipients.push_back({r, std::nullopt, "250 2.1.5 ok"});
        return o;
    }
    static Script failing(Errc code, std::string detail = "scripted") {
        return [code, detail](const delivery::OutgoingMessage&) {
            return delivery::MessageOutcome{{}, fail(code, detail), false};
        };
    }

    Script script = accept_all;

    delivery::BatchOutcome send(const std::string& profile,
                                std::span<delivery::OutgoingMessage> messages,
                                const Done& done = {}) override {
        delivery::BatchOutcome out;
        std::lock_guard lock(mu_);
        ++connections;
        batches.push_back(messages.size());
        for (auto& m : messages) {
            std::string body;
            std::vector<char> buf(4096);
            for (;;) {
                auto n = m.body->read(buf);
                if (!n || *n == 0) break;
                body.append(buf.data(), *n);
            }
            bodies.push_back(body);
            profiles.push_back(profile);
            recipients.push_back(m.recipients);
            out.messages.push_back(script(m));
            if (done) done(out.messages.size() - 1, out.messages.back());
        }
        out.transcript = "S: 220 fake\nC: AUTH XOAUTH2 <redacted>\n";
        return out;
    }

    std::mutex mu_;
    int connections = 0;
    std::vector<std::size_t> batches;
    std::vector<std::string> bodies;
    std::vector<std::string> profiles;
    std::vector<std::vector<std::string>> recipients;
};

}  // namespace pb::test
