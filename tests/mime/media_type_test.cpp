#include "mime/media_type.hpp"

#include <gtest/gtest.h>

namespace pb::mime {
namespace {

TEST(MediaTypes, ParsesTypesAndExtensionsSkippingComments) {
    const auto t = MediaTypes::parse(
        "# comment\n"
        "application/pdf\t\tpdf\n"
        "image/jpeg jpeg jpg jpe # trailing comment\n"
        "text/x-none\n"
        "not-a-type xyz\n");
    EXPECT_EQ(t.lookup("scan.pdf"), "application/pdf");
    EXPECT_EQ(t.lookup("photo.JPE"), "image/jpeg");
    EXPECT_EQ(t.lookup("photo.jpg"), "image/jpeg");
    EXPECT_EQ(t.lookup("a.xyz"), "application/octet-stream");
    EXPECT_EQ(t.size(), 4u);
}

TEST(MediaTypes, TheFirstTypeOfAnExtensionWins) {
    const auto t = MediaTypes::parse("application/xml xml\ntext/xml xml\n");
    EXPECT_EQ(t.lookup("fax.xml"), "application/xml");
}

TEST(MediaTypes, MessageAndMultipartTypesAreNotUsedForBase64Attachments) {
    const auto t = MediaTypes::parse("message/rfc822 eml\nmultipart/related mhtml\n");
    EXPECT_EQ(t.lookup("forwarded.eml"), "application/octet-stream");
    EXPECT_EQ(t.lookup("page.mhtml"), "application/octet-stream");
}

TEST(MediaTypes, NoExtensionOrAnUnknownOneIsOctetStream) {
    const auto t = MediaTypes::fallback();
    EXPECT_EQ(t.lookup("README"), "application/octet-stream");
    EXPECT_EQ(t.lookup("scan."), "application/octet-stream");
    EXPECT_EQ(t.lookup("archive.tar.unknown"), "application/octet-stream");
}

TEST(MediaTypes, TheBuiltInTableKnowsWhatOfficeDevicesProduce) {
    const auto t = MediaTypes::fallback();
    EXPECT_EQ(t.lookup("scan.PDF"), "application/pdf");
    EXPECT_EQ(t.lookup("scan.tif"), "image/tiff");
    EXPECT_EQ(t.lookup("report.xlsx"),
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
}

// The system table (package media-types, which install-deps installs) knows
// far more than the built-in one.
TEST(MediaTypes, TheSystemTableIsUsed) {
    EXPECT_EQ(media_type_for("photo.webp"), "image/webp");
    EXPECT_EQ(media_type_for("scan.pdf"), "application/pdf");
    EXPECT_EQ(media_type_for("forwarded.eml"), "application/octet-stream");
}

}  // namespace
}  // namespace pb::mime
