// Device Management > Job Status: the job history the running service
// keeps, newest first, each job's detail with its recipients and the
// transcript of its last failed attempt, and Retry. Jobs come as the JSON
// `postbridge jobs show` prints, so the page shows the same fields with the
// same words.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "web/app.hpp"
#include "web/app_internal.hpp"
#include "web/html.hpp"
#include "web/layout.hpp"

namespace pb::web {
namespace {

std::optional<std::int64_t> parse_id(std::string_view s) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v <= 0) return std::nullopt;
    return v;
}

std::string state_label(std::string_view state) {
    if (state == "queued") return "Queued";
    if (state == "sending") return "Sending";
    if (state == "held") return "Held (waiting for sign-in)";
    if (state == "sent") return "Sent";
    if (state == "partial") return "Partly sent";
    if (state == "failed") return "Failed";
    return std::string(state);
}

// The words of the Basic page's transport select.
std::string transport_label(std::string_view transport) {
    if (transport == "smtp") return "SMTP";
    if (transport == "graph") return "Microsoft Graph";
    return std::string(transport);
}

// `more`: there are older jobs; the link shows this many.
std::string render_jobs_page(const std::vector<nlohmann::json>& jobs,
                             std::optional<std::size_t> more) {
    if (jobs.empty()) return R"(<p id="no-jobs">No job yet.</p>)";
    bool busy = false;
    std::string rows;
    for (const auto& j : jobs) {
        const std::string id = json_text(j, "job");
        const std::string state = json_text(j, "state");
        busy = busy || state == "queued" || state == "sending";
        rows += fmt::format(
            R"(<tr data-job="{0}" data-state="{1}"><td><a href="/device-management/jobs/{0}">{0}</a></td><td>{2}</td><td class="state">{3}</td><td class="code">{4}</td><td class="status">{5}</td><td class="remedy">{6}</td><td>{7}</td><td>{8}</td></tr>)",
            escape(id), escape(state), escape(json_text(j, "created_at")),
            escape(state_label(state)), escape(json_text(j, "code")),
            escape(json_text(j, "status")), escape(json_text(j, "remedy")),
            escape(json_text(j, "profile")), escape(json_text(j, "subject")));
    }
    std::string out = fmt::format(
        R"(<table id="jobs"{}><thead><tr><th>Job</th><th>Accepted</th><th>State</th><th>Code</th><th>Status</th><th>What to do</th><th>Settings</th><th>Subject</th></tr></thead><tbody>{}</tbody></table>)",
        busy ? R"( data-refresh="2")" : "", rows);
    if (more)
        out += fmt::format(
            R"(<p class="no-print"><a id="older-jobs" href="/device-management/jobs?limit={}">Show older jobs</a></p>)",
            *more);
    return out;
}

std::string render_job_page(const nlohmann::json& j, std::string_view csrf, std::string_view notice,
                            std::string_view problem) {
    const std::string id = json_text(j, "job");
    const std::string state = json_text(j, "state");
    std::string out = render_messages(notice, problem);
    out += R"(<p class="no-print"><a href="/device-management/jobs">Back to Job Status</a></p>)";
    out += fmt::format(R"(<table id="job" class="sheet"{}><tbody>)",
                       state == "queued" || state == "sending" ? R"( data-refresh="2")" : "");
    const std::array<std::pair<std::string_view, std::string>, 12> rows = {{
        {"Job", id},
        {"State", state_label(state)},
        {"Code", json_text(j, "code")},
        {"Status", json_text(j, "status")},
        {"What to do", json_text(j, "remedy")},
        {"Detail", json_text(j, "detail")},
        {"Settings", json_text(j, "profile")},
        {"Function", json_text(j, "function")},
        {"Sender", json_text(j, "sender")},
        {"Subject", json_text(j, "subject")},
        {"Attempts", json_text(j, "attempts")},
        {"Transport", transport_label(json_text(j, "transport"))},
    }};
    for (const auto& [label, value] : rows)
        out += fmt::format(R"(<tr><th scope="row">{}</th><td data-field="{}">{}</td></tr>)", label,
                           label, value.empty() ? "-" : escape(value));
    out += fmt::format(R"(<tr><th scope="row">Accepted</th><td>{}</td></tr>)",
                       escape(json_text(j, "created_at")));
    if (j.value("maybe_duplicate", false))
        out +=
            R"(<tr><th scope="row">Note</th><td>An attempt broke off at the end of the data: a resend may have duplicated the message.</td></tr>)";
    out += "</tbody></table>";
    out +=
        R"(<h2>Recipients</h2><table id="recipients"><thead><tr><th>Address</th><th>Result</th><th>Code</th><th>Server reply</th></tr></thead><tbody>)";
    if (const auto rs = j.find("recipients"); rs != j.end())
        for (const auto& r : *rs)
            out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                               escape(json_text(r, "address")), escape(json_text(r, "result")),
                               escape(json_text(r, "code")), escape(json_text(r, "reply")));
    out += "</tbody></table>";
    if (const std::string t = json_text(j, "transcript"); !t.empty())
        out += fmt::format(
            R"(<h2>Transcript of the last failed attempt</h2><pre class="transcript" id="transcript">{}</pre>)",
            escape(t));
    if (state == "failed" || state == "partial" || state == "held" || state == "queued")
        out += fmt::format(
            R"(<form method="post" action="/device-management/jobs/{}/retry" class="no-print">{}<div class="buttons"><button type="submit" id="retry">Retry</button></div></form>)",
            escape(id), csrf_input(csrf));
    return out;
}

}  // namespace

Response App::jobs_page(Call& call) {
    constexpr std::string_view title = "Device Management > Job Status";
    constexpr Tab tab = Tab::device_management;
    if (options_.operations == nullptr) return unavailable(call, tab, title);
    // The newest 100, and a link for 100 more at a time (?limit=N); one
    // more than shown is read to know whether there are older ones.
    constexpr std::size_t page = 100, most = 100000;
    std::size_t limit = page;
    if (auto q = parse_form(call.req.query))
        for (const auto& [k, v] : *q)
            if (k == "limit") {
                std::size_t n = 0;
                const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
                if (ec == std::errc{} && end == v.data() + v.size())
                    limit = std::clamp(n, page, most);
            }
    auto jobs = options_.operations->jobs(limit + 1);
    if (!jobs) return framed(call, tab, title, render_messages("", message_of(jobs.error())), 500);
    std::optional<std::size_t> more;
    if (jobs->size() > limit) {
        jobs->resize(limit);
        more = std::min(limit + page, most);
    }
    return framed(call, tab, title, render_jobs_page(*jobs, more));
}

// The paths below the job list: GET .../ID shows a job and POST
// .../ID/retry queues it again; any other path there is not found, whatever
// the method.
Response App::job_path(Call& call) {
    std::string_view rest = std::string_view(call.req.path).substr(kJobsPath.size() + 1);
    const bool retry = rest.ends_with("/retry");
    if (retry) rest.remove_suffix(6);
    if (const auto id = parse_id(rest)) {
        if (retry && call.post()) return job_retry(call, *id);
        if (!retry && call.get()) return job_page(call, *id);
    }
    return not_found();
}

Response App::job_page(Call& call, std::int64_t id) {
    const std::string title = fmt::format("Device Management > Job Status > Job {}", id);
    constexpr Tab tab = Tab::device_management;
    if (options_.operations == nullptr) return unavailable(call, tab, title);
    auto job = options_.operations->job(id);
    if (!job) return framed(call, tab, title, render_messages("", message_of(job.error())), 500);
    if (!*job)
        return framed(call, tab, title, render_messages("", fmt::format("there is no job {}", id)),
                      404);
    return framed(
        call, tab, title,
        render_job_page(**job, call.session->csrf, std::exchange(call.session->notice, {}),
                        std::exchange(call.session->flash, {})));
}

Response App::job_retry(Call& call, std::int64_t id) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    if (options_.operations == nullptr) return Response::text(503, "Not available.\n");
    auto r = options_.operations->retry(id);
    if (!r) {
        call.session->flash = message_of(r.error());
    } else {
        call.session->notice = fmt::format("Job {} was queued again.", id);
        options_.log(fmt::format("web: job {} retried", id));
    }
    return Response::redirect(fmt::format("{}/{}", kJobsPath, id));
}

}  // namespace pb::web
