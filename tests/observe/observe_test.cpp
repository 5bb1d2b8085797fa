// The delivery log's lines and the Prometheus text: what they say for a
// known job and attempt, and that a peer's words can neither break a line
// nor forge a field or a label.
#include <gtest/gtest.h>

#include "observe/delivery_log.hpp"
#include "observe/metrics.hpp"
#include "support/fakes.hpp"

namespace pb::observe {
namespace {

using namespace std::chrono_literals;

const TimePoint kAccepted{std::chrono::seconds{1'800'000'000}};

spool::Job job() {
    spool::Job j;
    j.id = 12;
    j.profile = "email";
    j.size = 20481;
    j.attempts = 1;
    j.created_at = kAccepted;
    j.recipients = {{0, "a@example.com", spool::RecipientResult::pending, std::nullopt, ""},
                    {1, "b@example.com", spool::RecipientResult::pending, std::nullopt, ""}};
    return j;
}

spool::Attempt partial() {
    spool::Attempt a;
    a.state = spool::JobState::partial;
    a.error = Error{Errc::recipient_rejected, "550 5.1.1 no such user"};
    a.transport = "smtp";
    a.server = "smtp.office365.com:587";
    a.elapsed = 480ms;
    a.recipients = {
        {0, "a@example.com", spool::RecipientResult::accepted, std::nullopt, "250 2.1.5 OK"},
        {1, "b@example.com", spool::RecipientResult::rejected, Errc::recipient_rejected,
         "550 5.1.1 no such user\r\njob=99 outcome=sent"}};
    return a;
}

TEST(DeliveryLog, AnAttemptLineNamesEveryField) {
    const std::string line = attempt_line(job(), partial(), kAccepted + 520ms);
    EXPECT_TRUE(
        line.starts_with("job=12 profile=email transport=smtp "
                         "server=smtp.office365.com:587 attempt=1 "
                         "to=<a@example.com> accepted \"250 2.1.5 OK\" "
                         "to=<b@example.com> refused "))
        << line;
    EXPECT_NE(line.find(" size=20481 delay=0.52 time=0.48 state=partial code=632 status="),
              std::string::npos)
        << line;
    // The server's CRLF cannot start a line of its own.
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    EXPECT_NE(line.find("no such user\\x0d\\x0ajob=99 outcome=sent\""), std::string::npos) << line;
}

TEST(DeliveryLog, AFinalAttemptAddsAnOutcomeLine) {
    std::vector<std::string> lines;
    test::ManualClock clock(kAccepted + 2s);
    DeliveryLog log(clock, [&](std::string_view l) { lines.emplace_back(l); });
    spool::Attempt later = partial();
    later.state = spool::JobState::queued;  // deferred: no outcome yet
    log.attempted(job(), later);
    ASSERT_EQ(lines.size(), 1U);
    log.attempted(job(), partial());
    ASSERT_EQ(lines.size(), 3U);
    EXPECT_TRUE(lines[2].starts_with(
        "job=12 outcome=partial profile=email attempts=1 delay=2.00 code=632 status="))
        << lines[2];
}

TEST(DeliveryLog, LogValuesAreQuotedOnlyWhenTheyMustBe) {
    EXPECT_EQ(log_value("plain"), "plain");
    EXPECT_EQ(log_value(""), "\"\"");
    EXPECT_EQ(log_value("two words"), "\"two words\"");
    EXPECT_EQ(log_value("a=b"), "\"a=b\"");
    EXPECT_EQ(log_value(R"(say "hi" \ )"), R"("say \"hi\" \\ ")");
}

TEST(Metrics, CountersHistogramAndGaugesInTheTextFormat) {
    Metrics m;
    spool::Attempt sent;
    sent.state = spool::JobState::sent;
    sent.transport = "smtp";
    sent.elapsed = 300ms;
    m.attempted(job(), sent);
    m.attempted(job(), sent);
    m.attempted(job(), partial());
    m.relay_connection_opened();
    m.relay_message(true);
    m.relay_message(false);
    m.relay_auth_failure();
    Gauges g;
    g.jobs_by_state = {{"queued", 2}, {"sent", 5}};
    g.queue_oldest_seconds = {{"email", 12.5}};
    g.signins = {{"email", "signed-in", 86400.0}, {"fax", "expired", std::nullopt}};
    const std::string text = m.render(g);
    for (const char* want : {
             "# TYPE postbridge_jobs gauge\n",
             "postbridge_jobs{state=\"queued\"} 2\n",
             "postbridge_deliveries_total{profile=\"email\",transport=\"smtp\",result=\"sent\","
             "code=\"\"} 2\n",
             "postbridge_deliveries_total{profile=\"email\",transport=\"smtp\",result=\"failed\","
             "code=\"632\"} 1\n",
             "# TYPE postbridge_delivery_duration_seconds histogram\n",
             "postbridge_delivery_duration_seconds_bucket{profile=\"email\",transport=\"smtp\","
             "le=\"0.25\"} 0\n",
             "postbridge_delivery_duration_seconds_bucket{profile=\"email\",transport=\"smtp\","
             "le=\"0.5\"} 3\n",
             "postbridge_delivery_duration_seconds_bucket{profile=\"email\",transport=\"smtp\","
             "le=\"+Inf\"} 3\n",
             "postbridge_delivery_duration_seconds_count{profile=\"email\",transport=\"smtp\"} 3\n",
             "postbridge_queue_oldest_seconds{profile=\"email\"} 12.5\n",
             "postbridge_signin_state{profile=\"email\",state=\"signed-in\"} 1\n",
             "postbridge_signin_state{profile=\"email\",state=\"expired\"} 0\n",
             "postbridge_signin_state{profile=\"fax\",state=\"expired\"} 1\n",
             "postbridge_signin_lapse_seconds{profile=\"email\"} 86400\n",
             "postbridge_relay_connections 1\n",
             "postbridge_relay_messages_total{result=\"accepted\"} 1\n",
             "postbridge_relay_messages_total{result=\"refused\"} 1\n",
             "postbridge_relay_auth_failures_total 1\n",
         })
        EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
    EXPECT_EQ(text.find("postbridge_signin_lapse_seconds{profile=\"fax\"}"), std::string::npos);
}

TEST(Metrics, ALabelValueCannotEndItsLabel) {
    EXPECT_EQ(label_value("user:a\"b\\c\nd"), "user:a\\\"b\\\\c\\nd");
}

TEST(Metrics, TheResultOfEachState) {
    EXPECT_EQ(Metrics::result_of(spool::JobState::sent), "sent");
    EXPECT_EQ(Metrics::result_of(spool::JobState::queued), "deferred");
    EXPECT_EQ(Metrics::result_of(spool::JobState::held), "held");
    EXPECT_EQ(Metrics::result_of(spool::JobState::partial), "failed");
    EXPECT_EQ(Metrics::result_of(spool::JobState::failed), "failed");
}

}  // namespace
}  // namespace pb::observe
