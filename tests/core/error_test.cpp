#include "core/error.hpp"

#include <gtest/gtest.h>

#include <set>

namespace pb {
namespace {

// The manual's words, exactly (device-manual.md section 7).
TEST(CodeTable, ManualCodesCarryTheManualsWords) {
    EXPECT_EQ(info(Errc::not_signed_in).status,
              "No connection with the cloud service or email service.");
    EXPECT_EQ(info(Errc::not_signed_in).remedy, "Connect to the cloud service or email service.");
    EXPECT_EQ(info(Errc::sign_in_expired).status,
              "The connection with the cloud service or email service has expired.");
    EXPECT_EQ(info(Errc::sign_in_expired).remedy, "Connect to the cloud service or email service.");
    EXPECT_EQ(info(Errc::sign_in_again).status, "You need to sign in to the cloud service again.");
    EXPECT_EQ(info(Errc::sign_in_again).remedy, "Sign in to the cloud service.");
    EXPECT_EQ(static_cast<int>(Errc::not_signed_in), 360);
    EXPECT_EQ(static_cast<int>(Errc::sign_in_expired), 361);
    EXPECT_EQ(static_cast<int>(Errc::sign_in_again), 370);
}

TEST(CodeTable, NumbersAreTheDesignedOnes) {
    // design.md's table; a change here breaks every stored job record.
    const std::set<int> expected = {360, 361, 370, 601, 602, 603, 604, 611, 612, 613,
                                    614, 615, 621, 622, 623, 631, 632, 633, 634, 635,
                                    641, 642, 643, 651, 652, 653, 661, 662, 663, 664};
    std::set<int> got;
    for (const auto& i : code_table()) got.insert(static_cast<int>(i.code));
    EXPECT_EQ(got, expected);
}

TEST(CodeTable, EveryEntryHasTextAndUniqueName) {
    std::set<std::string_view> names;
    for (const auto& i : code_table()) {
        EXPECT_FALSE(i.status.empty()) << i.name;
        EXPECT_FALSE(i.remedy.empty()) << i.name;
        EXPECT_TRUE(names.insert(i.name).second) << "duplicate name " << i.name;
        EXPECT_EQ(errc_from_int(static_cast<int>(i.code)), i.code);
        EXPECT_EQ(&info(i.code), &i);
    }
    EXPECT_FALSE(errc_from_int(0).has_value());
    EXPECT_FALSE(errc_from_int(362).has_value());
    EXPECT_FALSE(errc_from_int(999).has_value());
}

TEST(ErrorCode, CategoryAndConditions) {
    const std::error_code ec = Errc::sign_in_expired;
    EXPECT_STREQ(ec.category().name(), "postbridge");
    EXPECT_EQ(ec.value(), 361);
    EXPECT_EQ(ec.message(), "The connection with the cloud service or email service has expired.");
    EXPECT_EQ(ec, Condition::sign_in);
    EXPECT_NE(ec, Condition::transient);
    EXPECT_EQ(std::error_code(Errc::rate_limited), Condition::transient);
    EXPECT_EQ(std::error_code(Errc::mail_service_unavailable), Condition::transient);
    EXPECT_EQ(std::error_code(Errc::smtp_auth_disabled), Condition::configuration);
    EXPECT_EQ(std::error_code(Errc::recipient_rejected), Condition::permanent);
    EXPECT_EQ(std::error_code(Errc::spool_unwritable), Condition::local);
    EXPECT_EQ(condition_name(Errc::sign_in_again), "sign-in");
}

TEST(ErrorCode, DescribeNamesCodeStatusAndDetail) {
    const Error e = fail(Errc::recipient_rejected, "bob@example.com: 550 5.1.1 no such user");
    EXPECT_EQ(e.describe(),
              "code 632: The server rejected the recipient. (bob@example.com: 550 5.1.1 no such "
              "user)");
}

TEST(ResultType, HoldsValueOrError) {
    Result<int> ok = 42;
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, 42);
    Result<int> bad = fail(Errc::invalid_input, "x");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::invalid_input);
    Result<void> v;
    EXPECT_TRUE(v.ok());
    Result<void> vb = fail(Errc::timed_out, "reading greeting");
    EXPECT_EQ(vb.error().detail, "reading greeting");
}

// A certificate refused for its dates: 612 still, but the detail puts the
// clock here in question, with what it says, and the remedy points at it.
TEST(CertificateDates, TheDetailNamesTheClockAndWhatItSays) {
    const Error early = certificate_dates("the server certificate", CertDates::not_yet_valid);
    EXPECT_EQ(early.code, Errc::cert_untrusted);
    EXPECT_TRUE(early.detail.starts_with(
        "the server certificate is not valid yet by this computer's clock, which says 20"))
        << early.detail;
    EXPECT_NE(early.detail.find("Z: if that is not the time, set the date and time (NTP)"),
              std::string::npos)
        << early.detail;
    const Error late = certificate_dates("the certificate of login.example", CertDates::expired);
    EXPECT_TRUE(late.detail.starts_with(
        "the certificate of login.example has expired by this computer's clock"))
        << late.detail;
    EXPECT_NE(std::string(early.info().remedy).find("check this computer's date and time"),
              std::string::npos);
}

}  // namespace
}  // namespace pb
