// Device Management > Status Sheet and Email Server Status: the status
// sheet the running service gathers, laid out by status_sheet.cpp as for
// `postbridge status-sheet`, with a Print button.
#include <string>

#include "web/app.hpp"
#include "web/app_internal.hpp"
#include "web/layout.hpp"
#include "web/status_sheet.hpp"

namespace pb::web {
namespace {

std::string render_status_sheet_page(const StatusSheet& sheet, bool email_only) {
    return R"(<div class="buttons no-print"><button type="button" id="print" hidden>Print</button></div>)" +
           render_status_sheet_html(sheet, email_only);
}

}  // namespace

Response App::status_sheet(Call& call, bool email_only) {
    const std::string_view title =
        email_only ? "Device Management > Email Server Status" : "Device Management > Status Sheet";
    constexpr Tab tab = Tab::device_management;
    if (options_.operations == nullptr) return unavailable(call, tab, title);
    auto sheet = options_.operations->status_sheet();
    if (!sheet)
        return framed(call, tab, title, render_messages("", message_of(sheet.error())), 500);
    return framed(call, tab, title, render_status_sheet_page(*sheet, email_only));
}

}  // namespace pb::web
