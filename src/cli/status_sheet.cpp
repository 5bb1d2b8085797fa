// Command: postbridge status-sheet [--format text|html] [-o FILE]. The
// manual's network status sheet, from the same code as Web Config's Status
// Sheet page (web/status_sheet.hpp, web/status_source.hpp), so the
// printout and the page always agree.
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "service/runtime.hpp"
#include "web/status_sheet.hpp"
#include "web/status_source.hpp"

namespace pb::cli {
namespace {

int status_sheet(Context& ctx, const std::string& format, const std::string& out_file) {
    if (format != "text" && format != "html")
        return ctx.report(
            fail(Errc::invalid_input, fmt::format("--format: '{}' is not text or html", format)));
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    service::Runtime rt(**s, ctx.clock, ctx.rng);
    if (auto r = rt.reload(); !r) return ctx.report(r.error());
    auto sheet = web::collect_status_sheet(
        **s, rt.config(), [&rt](const std::string& p) { return rt.status(p); }, ctx.clock.now());
    if (!sheet) return ctx.report(sheet.error());
    const std::string text = format == "html" ? web::render_status_sheet_document(*sheet)
                                              : web::render_status_sheet_text(*sheet);
    if (out_file.empty()) {
        std::cout << text;
        return Exit::ok;
    }
    std::ofstream f(out_file, std::ios::binary | std::ios::trunc);
    if (!(f << text) || !f.flush())
        return ctx.report(fail(Errc::invalid_input, fmt::format("cannot write {}", out_file)));
    return Exit::ok;
}

}  // namespace

void add_status_sheet_commands(CLI::App& app, Context& ctx) {
    struct Args {
        std::string format = "text";
        std::string out;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("status-sheet",
                                   "The network status sheet: network and email server settings");
    cmd->add_option("--format", a->format, "text or html")->capture_default_str();
    cmd->add_option("-o,--output", a->out, "write to FILE instead of standard output");
    cmd->callback([&ctx, a] { ctx.exit_status = status_sheet(ctx, a->format, a->out); });
}

}  // namespace pb::cli
