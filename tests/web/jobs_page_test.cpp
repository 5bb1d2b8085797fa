// Device Management > Job Status: the manual's words for a job's code, a
// job's recipients and transcript, Retry, and the history a hundred at a
// time.
#include "web/app.hpp"

#include <gtest/gtest.h>

#include "web_config_fixture.hpp"

namespace pb::web {
namespace {

using nlohmann::json;
using test::Browser;

class JobsPageTest : public test::WebConfigTest {};

TEST_F(JobsPageTest, JobStatusShowsTheManualsTextForAHeldJob) {
    Browser b;
    const auto csrf = login(b);
    ops_.history = {
        {{"job", 3},
         {"state", "held"},
         {"code", 360},
         {"status", info(Errc::not_signed_in).status},
         {"remedy", info(Errc::not_signed_in).remedy},
         {"recipients", json::array({{{"address", "bob@x.test"}, {"result", "pending"}}})},
         {"transcript", "S: 220 ready\nC: AUTH XOAUTH2 ***\n"}}};
    const auto list = get(b, "/device-management/jobs");
    EXPECT_NE(list.body.find("No connection with the cloud service or email service."),
              std::string::npos);
    EXPECT_NE(list.body.find("Connect to the cloud service or email service."), std::string::npos);
    const auto one = get(b, "/device-management/jobs/3");
    EXPECT_NE(one.body.find("bob@x.test"), std::string::npos);
    EXPECT_NE(one.body.find(R"(<pre class="transcript" id="transcript">S: 220 ready)"),
              std::string::npos);
    EXPECT_EQ(get(b, "/device-management/jobs/4").status, 404);
    const auto retried = post(b, "/device-management/jobs/3/retry", "csrf=" + csrf);
    EXPECT_EQ(retried.status, 303);
    EXPECT_NE(get(b, "/device-management/jobs/3").body.find("Job 3 was queued again."),
              std::string::npos);
}

TEST_F(JobsPageTest, AJobSaysWhichTransportItWentOver) {
    Browser b;
    (void)login(b);
    ops_.history = {{{"job", 5}, {"state", "sent"}, {"transport", "graph"}},
                    {{"job", 4}, {"state", "sent"}, {"transport", "smtp"}},
                    {{"job", 3}, {"state", "queued"}}};
    EXPECT_NE(get(b, "/device-management/jobs/5")
                  .body.find(R"(<td data-field="Transport">Microsoft Graph</td>)"),
              std::string::npos);
    EXPECT_NE(
        get(b, "/device-management/jobs/4").body.find(R"(<td data-field="Transport">SMTP</td>)"),
        std::string::npos);
    EXPECT_NE(get(b, "/device-management/jobs/3").body.find(R"(<td data-field="Transport">-</td>)"),
              std::string::npos)
        << "not tried yet";
}

TEST_F(JobsPageTest, JobStatusShowsTheNewestHundredAndOlderOnesOnRequest) {
    Browser b;
    (void)login(b);
    for (int id = 250; id >= 1; --id)
        ops_.history.push_back({{"job", id}, {"state", "sent"}, {"subject", "scan"}});
    auto rows = [](const std::string& body) {
        std::size_t n = 0;
        for (auto p = body.find("<tr data-job="); p != std::string::npos;
             p = body.find("<tr data-job=", p + 1))
            ++n;
        return n;
    };
    const auto first = get(b, "/device-management/jobs");
    EXPECT_EQ(rows(first.body), 100u);
    EXPECT_NE(first.body.find(R"(href="/device-management/jobs?limit=200")"), std::string::npos);
    const auto second = get(b, "/device-management/jobs?limit=200");
    EXPECT_EQ(rows(second.body), 200u);
    EXPECT_NE(second.body.find("?limit=300"), std::string::npos);
    const auto all = get(b, "/device-management/jobs?limit=300");
    EXPECT_EQ(rows(all.body), 250u);
    EXPECT_EQ(all.body.find("older-jobs"), std::string::npos);  // nothing older
    EXPECT_EQ(rows(get(b, "/device-management/jobs?limit=abc").body), 100u);
}

}  // namespace
}  // namespace pb::web
