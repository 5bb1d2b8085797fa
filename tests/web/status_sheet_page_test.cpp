// Device Management > Status Sheet and Email Server Status: the page and
// `postbridge status-sheet`'s text and document carry the same rows.
#include "web/status_sheet.hpp"

#include <gtest/gtest.h>

#include "web/app.hpp"

#include "web_config_fixture.hpp"

namespace pb::web {
namespace {

using test::Browser;

class StatusSheetPageTest : public test::WebConfigTest {};

TEST_F(StatusSheetPageTest, StatusSheetPageAndTextCarryTheSameRows) {
    Browser b;
    login(b);
    const auto page = get(b, "/device-management/status-sheet");
    EXPECT_NE(page.body.find("printer-3f"), std::string::npos);
    EXPECT_NE(page.body.find(R"(<button type="button" id="print" hidden>Print</button>)"),
              std::string::npos);
    const auto sheet = *ops_.status_sheet();
    const auto text = render_status_sheet_text(sheet);
    EXPECT_NE(text.find("Device Name  printer-3f"), std::string::npos);
    EXPECT_NE(text.find("Current Status  Signed in"), std::string::npos);
    const auto doc = render_status_sheet_document(sheet);
    EXPECT_NE(doc.find("@media print"), std::string::npos);
    EXPECT_NE(doc.find(render_status_sheet_html(sheet)), std::string::npos);
    EXPECT_EQ(get(b, "/device-management/email-server-status").body.find("printer-3f"),
              std::string::npos);
}

}  // namespace
}  // namespace pb::web
