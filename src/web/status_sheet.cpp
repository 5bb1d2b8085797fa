// Layout of the status sheet (status_sheet.hpp).
#include "web/status_sheet.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "web/html.hpp"

namespace pb::web {
namespace {

constexpr std::string_view kTitle = "Network Status Sheet";
constexpr std::string_view kEmailTitle = "Email Server Status";

void text_section(std::string& out, std::string_view title, const Rows& rows) {
    out += fmt::format("\n{}\n{}\n", title, std::string(title.size(), '-'));
    std::size_t width = 0;
    for (const auto& [label, value] : rows) width = std::max(width, label.size());
    for (const auto& [label, value] : rows)
        out += fmt::format("{:<{}}  {}\n", label, width, value.empty() ? "-" : value);
}

void html_section(std::string& out, std::string_view title, const Rows& rows,
                  std::string_view id = {}) {
    out +=
        fmt::format(R"(<section class="sheet-section"{}><h2>{}</h2><table class="sheet"><tbody>)",
                    id.empty() ? "" : fmt::format(R"( id="{}")", escape(id)), escape(title));
    for (const auto& [label, value] : rows)
        out += fmt::format("<tr><th scope=\"row\">{}</th><td>{}</td></tr>", escape(label),
                           value.empty() ? "-" : escape(value));
    out += "</tbody></table>";
}

}  // namespace

std::string render_status_sheet_text(const StatusSheet& sheet, bool email_only) {
    std::string out = fmt::format("{}\n", email_only ? kEmailTitle : kTitle);
    out += fmt::format("Printed {}\n", sheet.generated_at);
    if (!email_only) text_section(out, "Network", sheet.network);
    for (const auto& p : sheet.profiles) {
        text_section(out, p.title, p.rows);
        for (const auto& w : p.warnings) out += fmt::format("Warning: {}\n", w);
    }
    if (!email_only) {
        Rows certs = sheet.certificates;
        if (certs.empty()) certs.emplace_back("CA Certificate", "none imported");
        text_section(out, "CA Certificate", certs);
    }
    return out;
}

std::string render_status_sheet_html(const StatusSheet& sheet, bool email_only) {
    std::string out = fmt::format(R"(<div class="status-sheet"><p class="printed">Printed {}</p>)",
                                  escape(sheet.generated_at));
    if (!email_only) {
        html_section(out, "Network", sheet.network, "sheet-network");
        out += "</section>";
    }
    for (const auto& p : sheet.profiles) {
        html_section(out, p.title, p.rows, "sheet-" + p.name);
        for (const auto& w : p.warnings)
            out += fmt::format(R"(<p class="warning">Warning: {}</p>)", escape(w));
        out += "</section>";
    }
    if (!email_only) {
        Rows certs = sheet.certificates;
        if (certs.empty()) certs.emplace_back("CA Certificate", "none imported");
        html_section(out, "CA Certificate", certs, "sheet-ca");
        out += "</section>";
    }
    return out + "</div>";
}

std::string render_status_sheet_document(const StatusSheet& sheet) {
    return fmt::format(R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{0}</title>
<style>
body {{ font: 11pt/1.4 system-ui, sans-serif; margin: 1.5em; color: #000; }}
h1 {{ font-size: 15pt; }} h2 {{ font-size: 12pt; margin: 1.2em 0 .3em; }}
table.sheet {{ border-collapse: collapse; width: 100%; }}
table.sheet th, table.sheet td {{ text-align: left; padding: .2em .6em; border-bottom: 1px solid #bbb; vertical-align: top; }}
table.sheet th {{ width: 40%; font-weight: 500; }}
.warning {{ color: #7a4a00; }}
@media print {{ body {{ margin: 0; }} .sheet-section {{ break-inside: avoid; }} }}
</style>
</head>
<body>
<h1>{0}</h1>
{1}
</body>
</html>
)",
                       kTitle, render_status_sheet_html(sheet));
}

}  // namespace pb::web
