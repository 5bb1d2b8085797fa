// Network Security > CA Certificate: the import form's multipart upload
// with its CSRF token, and the multipart reader itself.
#include "web/multipart.hpp"

#include <gtest/gtest.h>

#include "web/app.hpp"
#include "web/app_internal.hpp"

#include <fstream>
#include <regex>

#include "support/temp_dir.hpp"

#include "web_config_fixture.hpp"

namespace pb::web {
namespace {

using test::Browser;

class CertificatesPageTest : public test::WebConfigTest {};

TEST_F(CertificatesPageTest, CaImportTakesAMultipartUploadWithItsCsrfToken) {
    Browser b;
    const auto csrf = login(b);
    auto upload = [&](std::string token, std::string file) {
        Request r;
        r.method = "POST";
        r.path = "/network-security/ca-certificate/import";
        r.content_type = "multipart/form-data; boundary=XyZ";
        r.body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + token +
                 "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"certificate\"; "
                 "filename=\"ca.pem\"\r\nContent-Type: application/octet-stream\r\n\r\n" +
                 file + "\r\n--XyZ--\r\n";
        return call(r, &b);
    };
    EXPECT_EQ(upload("wrong", "x").status, 403);
    EXPECT_EQ(upload(csrf, "not a certificate").status, 303);
    const auto page = get(b, "/network-security/ca-certificate");
    EXPECT_NE(page.body.find(R"(class="error")"), std::string::npos);
    EXPECT_NE(page.body.find(R"(id="no-ca")"), std::string::npos);
}

// Root Certificate Update says what it read and when the system last
// updated it, and what it does and does not do.
TEST_F(CertificatesPageTest, RootCertificateUpdateShowsTheBundleAndWhatItDoes) {
    Browser b;
    const auto csrf = login(b);
    auto page = get(b, "/network-security/root-certificate-update").body;
    EXPECT_NE(page.find("update-ca-certificates"), std::string::npos);
    EXPECT_NE(page.find("What it does not do:"), std::string::npos);
    EXPECT_NE(page.find(R"(<td id="imported">0 ()"), std::string::npos);
    EXPECT_EQ(post(b, "/network-security/root-certificate-update", "csrf=wrong").status, 403);
    const auto r = post(b, "/network-security/root-certificate-update", "csrf=" + csrf);
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("Read again: "), std::string::npos);
}

TEST(SystemBundle, CountsTheCertificatesOfTheFirstBundleThatExists) {
    const auto dir = test::fresh_dir("pb-bundle");
    std::filesystem::create_directories(dir);
    const auto file = dir / "bundle.crt";
    std::ofstream(file) << "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
                           "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
    const std::filesystem::path candidates[] = {dir / "absent.crt", file};
    const auto b = system_bundle(candidates);
    EXPECT_EQ(b.path, file);
    EXPECT_EQ(b.certificates, 2u);
    EXPECT_TRUE(std::regex_match(b.updated, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d UTC)")))
        << b.updated;
    const std::filesystem::path none[] = {dir / "absent.crt"};
    EXPECT_TRUE(system_bundle(none).path.empty());
    std::filesystem::remove_all(dir);
}

TEST(Multipart, ReadsPartsAndRefusesBrokenBodies) {
    using namespace std::string_literals;
    const std::string body =
        "--b1\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n"
        "--b1\r\nContent-Disposition: form-data; name=\"f\"; "
        "filename=\"c.der\"\r\n\r\n\x30\x82\r\n\x00z"
        "\r\n--b1--\r\n"s;
    auto parts = parse_multipart("multipart/form-data; boundary=b1", body);
    ASSERT_TRUE(parts);
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].name, "a");
    EXPECT_EQ((*parts)[0].body, "one");
    EXPECT_EQ((*parts)[1].filename, "c.der");
    EXPECT_EQ((*parts)[1].body, "\x30\x82\r\n\x00z"s);
    EXPECT_FALSE(parse_multipart("multipart/form-data", body));
    EXPECT_FALSE(parse_multipart("multipart/form-data; boundary=b1", "--b1\r\nno headers end"));
    EXPECT_FALSE(
        parse_multipart("multipart/form-data; boundary=b1",
                        "--b1\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated"));
}

}  // namespace
}  // namespace pb::web
