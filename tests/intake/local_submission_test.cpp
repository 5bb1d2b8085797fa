// The local submission format: each side reads what the other writes, and a
// line that is not one is refused with what is wrong.
#include "intake/local_submission.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace pb::intake::local {
namespace {

TEST(LocalSubmission, ARequestReadsBackAsWritten) {
    Request r;
    r.from = "backup@host.example";
    r.full_name = "Cron \"Daemon\"";
    r.recipients = {"root", "ops@example.com"};
    r.recipients_from_headers = true;
    const std::string line = encode(r);
    ASSERT_TRUE(line.ends_with("\n"));
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
    auto back = decode_request(line);
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(back->from, r.from);
    EXPECT_EQ(back->full_name, r.full_name);
    EXPECT_EQ(back->recipients, r.recipients);
    EXPECT_TRUE(back->recipients_from_headers);
    EXPECT_EQ(back->kind, Request::Kind::send);
    Request q;
    q.kind = Request::Kind::queue;
    auto queue = decode_request(encode(q));
    ASSERT_TRUE(queue);
    EXPECT_EQ(queue->kind, Request::Kind::queue);
    EXPECT_FALSE(decode_request(R"({"kind":"delete"})"));
}

TEST(LocalSubmission, AReplyReadsBackAsWritten) {
    auto ok = decode_reply(encode(Reply{0, 42, true, {}}));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->exit_status, 0);
    EXPECT_EQ(ok->job, 42);
    EXPECT_TRUE(ok->held);
    Reply listing;
    listing.text = "Mail queue is empty\n";
    auto text = decode_reply(encode(listing));
    ASSERT_TRUE(text);
    EXPECT_EQ(text->text, "Mail queue is empty\n");
    auto no = decode_reply(encode(Reply{75, 0, false, "the spool is full\nnext"}));
    ASSERT_TRUE(no);
    EXPECT_EQ(no->exit_status, 75);
    EXPECT_EQ(no->message, "the spool is full\nnext");
    // Words that are not UTF-8 (a Latin-1 address in an error) still make
    // a line, with U+FFFD for the bad bytes.
    auto latin = decode_reply(encode(Reply{2, 0, false, "bad address: m\xfcller@example.com"}));
    ASSERT_TRUE(latin);
    EXPECT_EQ(latin->message, "bad address: m\xef\xbf\xbdller@example.com");
}

TEST(LocalSubmission, WhatIsNotALineOfJsonIsRefused) {
    for (const std::string bad : {"", "HELO\n", "[1,2]\n", "{\"recipients\": 5}\n",
                                  "{\"recipients\": [1]}\n", "{\"t\": \"yes\"}\n"}) {
        auto r = decode_request(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().code, Errc::invalid_input);
        }
    }
    EXPECT_FALSE(decode_reply("250 ok\n"));
    // Missing fields: a reply without "exit" is a failure to try again.
    auto partial = decode_reply("{}\n");
    ASSERT_TRUE(partial);
    EXPECT_EQ(partial->exit_status, 75);
}

// Found by the fuzzer: a float or a huge number where an integer belongs was
// converted with undefined behaviour. Now it is refused like any bad field.
TEST(LocalSubmission, AReplysNumbersMustBeIntegersInRange) {
    for (const std::string bad :
         {"{\"exit\": 1e300}\n", "{\"exit\": 0.5}\n", "{\"exit\": 256}\n", "{\"exit\": -1}\n",
          "{\"job\": -1e300}\n", "{\"job\": -3}\n", "{\"job\": 18446744073709551615}\n"}) {
        auto r = decode_reply(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().code, Errc::invalid_input) << bad;
        }
    }
    auto edge = decode_reply("{\"exit\": 255, \"job\": 9223372036854775807}\n");
    ASSERT_TRUE(edge);
    EXPECT_EQ(edge->exit_status, 255);
    EXPECT_EQ(edge->job, 9223372036854775807);
}

TEST(LocalSubmission, TheSocketIsTheEnvironmentsOrTheDefault) {
    ::unsetenv("POSTBRIDGE_SUBMIT_SOCKET");
    EXPECT_EQ(socket_path(), "/run/postbridge/submit.sock");
    ::setenv("POSTBRIDGE_SUBMIT_SOCKET", "/tmp/x.sock", 1);
    EXPECT_EQ(socket_path(), "/tmp/x.sock");
    ::unsetenv("POSTBRIDGE_SUBMIT_SOCKET");
}

}  // namespace
}  // namespace pb::intake::local
