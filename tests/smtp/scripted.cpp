#include "scripted.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"

namespace pb::smtp::test {

std::string b64(std::string_view raw) {
    return base64_encode(raw);
}

namespace {

class Runner {
  public:
    Runner(const Script& s, Run& r) : script_(s), run_(r), session_(s.config) {}

    Session& session() { return session_; }
    std::string take_output() { return std::exchange(out_, {}); }

    void pump() {
        while (auto a = session_.next()) {
            std::visit(
                [&](auto& act) {
                    using T = std::decay_t<decltype(act)>;
                    if constexpr (std::is_same_v<T, action::Write>) {
                        out_ += act.bytes;
                    } else if constexpr (std::is_same_v<T, action::WriteSecret>) {
                        out_ += act.bytes.reveal();
                    } else if constexpr (std::is_same_v<T, action::StartTls>) {
                        ++run_.tls_starts;
                        session_.on_tls_established();
                    } else if constexpr (std::is_same_v<T, action::NeedToken>) {
                        run_.token_requests.push_back(act.forced);
                        const std::size_t i = run_.token_requests.size() - 1;
                        if (i < script_.tokens.size())
                            session_.on_token(Secret(script_.tokens[i]));
                        else
                            session_.on_token_error(fail(Errc::sign_in_again, "no more tokens"));
                    } else if constexpr (std::is_same_v<T, action::NeedBody>) {
                        const std::string& body = script_.messages[message_ - 1].body;
                        if (body_pos_ >= body.size()) {
                            session_.on_body_end();
                        } else {
                            const auto n = std::min(script_.body_chunk, body.size() - body_pos_);
                            session_.on_body(std::string_view(body).substr(body_pos_, n));
                            body_pos_ += n;
                        }
                    } else if constexpr (std::is_same_v<T, action::Ready>) {
                        if (message_ < script_.messages.size()) {
                            body_pos_ = 0;
                            session_.submit(script_.messages[message_++].envelope);
                        } else {
                            session_.quit();
                        }
                    } else if constexpr (std::is_same_v<T, action::MessageDone>) {
                        run_.messages.push_back(std::move(act.result));
                    } else if constexpr (std::is_same_v<T, action::Closed>) {
                        run_.closed = true;
                    } else if constexpr (std::is_same_v<T, action::Failed>) {
                        run_.failure = std::move(act);
                    }
                },
                *a);
        }
    }

  private:
    const Script& script_;
    Run& run_;
    Session session_;
    std::string out_;
    std::size_t message_ = 0;
    std::size_t body_pos_ = 0;
};

}  // namespace

Run run(const Script& script, std::size_t split_turn, const pb::test::Chunks& chunks) {
    Run r;
    Runner runner(script, r);
    runner.session().on_connected();
    runner.pump();
    if (auto out = runner.take_output(); out != script.after_connect)
        r.mismatch = "after connect: got [" + out + "]";
    for (std::size_t i = 0; i < script.turns.size() && r.mismatch.empty(); ++i) {
        const Turn& t = script.turns[i];
        if (i == split_turn) {
            for (auto c : chunks) {
                runner.session().on_bytes(c);
                runner.pump();
            }
        } else {
            runner.session().on_bytes(t.server);
            runner.pump();
        }
        if (auto out = runner.take_output(); out != t.client)
            r.mismatch =
                "turn " + std::to_string(i) + ": expected [" + t.client + "] got [" + out + "]";
    }
    r.transcript = runner.session().transcript().str();
    return r;
}

Run run_all_splits(const Script& script) {
    Run whole = run(script, script.turns.size(), {});
    EXPECT_EQ(whole.mismatch, "");
    for (std::size_t i = 0; i < script.turns.size(); ++i) {
        for (const auto& chunks : pb::test::every_split(script.turns[i].server)) {
            Run r = run(script, i, chunks);
            EXPECT_EQ(r.mismatch, "") << "turn " << i << " split in " << chunks.size() << " pieces";
            EXPECT_EQ(r.failure.has_value(), whole.failure.has_value()) << "turn " << i;
            EXPECT_EQ(r.messages.size(), whole.messages.size()) << "turn " << i;
            EXPECT_EQ(r.transcript, whole.transcript) << "turn " << i;
            if (!r.mismatch.empty()) return whole;  // one report is enough
        }
    }
    return whole;
}

}  // namespace pb::smtp::test
