// Web Config part 2 inside App: Connection Test, CA Certificate, Root
// Certificate Update, Product Security, Job Status, Users (Scan to My
// Email), Status Sheet and Email Server Status, and the Basic page's test
// email. The HTML is admin_pages.cpp's; this file checks who asks (session,
// CSRF), gathers the data and applies changes.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "web/admin_pages.hpp"
#include "web/app.hpp"
#include "web/app_internal.hpp"
#include "web/multipart.hpp"
#include "web/pages.hpp"

namespace pb::web {
namespace {

constexpr std::string_view kJobsPath = "/device-management/jobs";
constexpr std::string_view kUsersPath = "/device-management/users";
constexpr std::string_view kCaPath = "/network-security/ca-certificate";
constexpr std::string_view kRootPath = "/network-security/root-certificate-update";
constexpr std::string_view kTestPath = "/network/email/connection-test";

std::optional<std::int64_t> parse_id(std::string_view s) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v <= 0) return std::nullopt;
    return v;
}

std::string message_of(const Error& e) {
    return e.detail.empty() ? std::string(e.info().status) : e.detail;
}

// Writes an upload to a private temporary file for Store::import_ca, which
// reads certificates from a file as `postbridge ca import` does.
class TempFile {
  public:
    explicit TempFile(std::string_view bytes) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "pb-ca-XXXXXX").string();
        const int fd = ::mkstemp(tmpl.data());  // 0600
        if (fd < 0) return;
        path_ = tmpl;
        std::size_t done = 0;
        while (done < bytes.size()) {
            const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        ::close(fd);
        ok_ = done == bytes.size();
    }
    ~TempFile() {
        if (!path_.empty()) {
            std::error_code ec;
            std::filesystem::remove(path_, ec);
        }
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    bool ok() const { return ok_; }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
    bool ok_ = false;
};

}  // namespace

Response App::framed(Call& call, int tab, std::string_view title, std::string body, int status) {
    const bool fax = fax_configured();
    Frame frame{std::string(title), static_cast<Tab>(tab), true, fax, call.session->csrf};
    return Response::html(
        render_page(frame, render_subnav(static_cast<Tab>(tab), call.req.path, fax) + body),
        status);
}

Response App::unavailable(Call& call, int tab, std::string_view title) {
    return framed(call, tab, title,
                  R"(<p class="error">This page needs the running service (postbridge serve).</p>)",
                  503);
}

bool App::user_exists(std::string_view profile) {
    if (!profile.starts_with("user:")) return false;
    auto users = store_.users();
    if (!users) return false;
    for (const auto& u : *users)
        if (u.name == profile.substr(5)) return true;
    return false;
}

Response App::route2(Call& call) {
    const auto& req = call.req;
    const bool get = req.method == "GET" || req.method == "HEAD";
    const bool post = req.method == "POST";
    const std::string_view p = req.path;

    if (p == kTestPath && (get || post)) return connection_test(call);
    if (post && p == fmt::format("{}/test-email", kEmailBase)) return test_email(call, kEmailBase);
    if (post && p == fmt::format("{}/test-email", kFaxBase)) return test_email(call, kFaxBase);
    if (p == kCaPath && get) return ca_page(call);
    if (p == fmt::format("{}/import", kCaPath) && post) return ca_import(call);
    if (p == fmt::format("{}/remove", kCaPath) && post) return ca_remove(call);
    if (p == kRootPath && (get || post)) return root_update(call);
    if (p == "/product-security" && (get || post)) return product_security(call);
    if (p == "/device-management" && get) return Response::redirect(std::string(kJobsPath));
    if (p == kJobsPath && get) return jobs_page(call);
    if (p.starts_with(kJobsPath) && p.size() > kJobsPath.size() + 1 && p[kJobsPath.size()] == '/') {
        std::string_view rest = p.substr(kJobsPath.size() + 1);
        const bool retry = rest.ends_with("/retry");
        if (retry) rest.remove_suffix(6);
        if (const auto id = parse_id(rest)) {
            if (retry && post) return job_retry(call, *id);
            if (!retry && get) return job_page(call, *id);
        }
        return Response::text(404, "Not found.\n");
    }
    if (p == kUsersPath && get) return users_page(call);
    if (p == fmt::format("{}/add", kUsersPath) && post) return users_add(call);
    if (p == fmt::format("{}/remove", kUsersPath) && post) return users_remove(call);
    if (p == fmt::format("{}/signin", kUsersPath) && post) return users_signin(call);
    if (p == "/device-management/status-sheet" && get) return status_sheet(call, false);
    if (p == "/device-management/email-server-status" && get) return status_sheet(call, true);
    return Response{0, {}, {}};
}

Response App::connection_test(Call& call) {
    constexpr std::string_view title = "Network > Email Server > Connection Test";
    const int tab = static_cast<int>(Tab::network);
    ConnectionTestPage page;
    page.csrf = call.session->csrf;
    page.profile = "email";
    page.profiles = {"email"};
    if (fax_configured()) page.profiles.emplace_back("fax");
    if (auto users = store_.users())
        for (const auto& u : *users) page.profiles.push_back("user:" + u.name);
    // POST starts the test and sends the browser to the page that waits for
    // it (303): the test runs beside the pages, never in their way.
    const bool post = call.req.method == "POST";
    if (post && !call.csrf_ok()) return forbidden(kExpiredForm);
    if (post && options_.operations == nullptr) return unavailable(call, tab, title);
    page.profile = (post ? call.req.form("profile") : call.req.param("profile")).value_or("email");
    if (std::find(page.profiles.begin(), page.profiles.end(), page.profile) ==
        page.profiles.end()) {
        const Error e = fail(Errc::invalid_input, "no profile " + page.profile);
        page.problem = fmt::format("Code {}: {}", e.number(), message_of(e));
        page.profile = "email";
        return framed(call, tab, title, render_connection_test_page(page));
    }
    if (post) {
        options_.operations->start_connection_test(page.profile);
        options_.log(fmt::format("web: connection test of {} started", page.profile));
        return Response::redirect(
            fmt::format("{}?profile={}", kTestPath, url_encode(page.profile)));
    }
    if (options_.operations != nullptr) {
        if (auto r = options_.operations->take_connection_test(page.profile)) {
            if (*r) {
                page.result = std::move(**r);
                options_.log(fmt::format("web: connection test of {}: {}", page.profile,
                                         page.result->value("ok", false) ? "ok" : "failed"));
            } else {
                page.problem =
                    fmt::format("Code {}: {}", r->error().number(), message_of(r->error()));
            }
        } else {
            page.running = options_.operations->connection_test_running(page.profile);
        }
    }
    return framed(call, tab, title, render_connection_test_page(page));
}

Response App::test_email(Call& call, std::string_view base) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string profile = base == kFaxBase ? "fax" : "email";
    if (options_.operations == nullptr) {
        call.session->flash = "Sending needs the running service (postbridge serve).";
        return Response::redirect(std::string(base));
    }
    SendRequest req;
    req.profile = profile;
    req.to = {call.req.form("to").value_or("")};
    if (req.to.front().empty()) {
        call.session->flash = "Enter the address to send the test email to.";
        return Response::redirect(std::string(base));
    }
    req.subject = "postbridge test email";
    req.body = fmt::format(
        "This is a test email from postbridge Web Config, sent with the settings of {}.\n",
        profile);
    auto r = options_.operations->send(req);
    if (!r) {
        call.session->flash = fmt::format("Code {}: {}", r.error().number(), message_of(r.error()));
    } else {
        const std::string id = (*r)["job"].dump();
        call.session->notice =
            r->contains("message")
                ? fmt::format("The test email is job {}, held: {}", id,
                              (*r)["message"].get<std::string>())
                : fmt::format(
                      "The test email was accepted as job {}. See Job Status for its result.", id);
        options_.log(fmt::format("web: test email of {} accepted as job {}", profile, id));
    }
    return Response::redirect(std::string(base));
}

Response App::ca_page(Call& call) {
    auto certs = store_.ca_certs();
    std::string problem = certs ? std::exchange(call.session->flash, {}) : certs.error().detail;
    return framed(call, static_cast<int>(Tab::network_security),
                  "Network Security > CA Certificate",
                  render_ca_page(certs ? *certs : std::vector<store::CaCert>{}, call.session->csrf,
                                 std::exchange(call.session->notice, {}), problem));
}

Response App::ca_import(Call& call) {
    const auto parts = parse_multipart(call.req.content_type, call.req.body);
    if (!parts) return Response::text(400, "The form could not be read.\n");
    const FormPart* file = nullptr;
    std::string csrf;
    for (const auto& part : *parts) {
        if (part.name == "csrf") csrf = part.body;
        if (part.name == "certificate") file = &part;
    }
    if (!Secret::equal_constant_time(csrf, call.session->csrf)) return forbidden(kExpiredForm);
    if (file == nullptr || file->body.empty()) {
        call.session->flash = "Choose a certificate file (PEM or DER) to import.";
        return Response::redirect(std::string(kCaPath));
    }
    TempFile tmp(file->body);
    if (!tmp.ok()) {
        call.session->flash = "The certificate could not be stored for reading. See the log.";
        options_.log("web: CA import: cannot write a temporary file");
        return Response::redirect(std::string(kCaPath));
    }
    auto certs = store_.import_ca(tmp.path());
    if (!certs) {
        call.session->flash = certs.error().detail;
    } else {
        std::string names;
        for (const auto& c : *certs) names += (names.empty() ? "" : "; ") + c.subject;
        call.session->notice = fmt::format("Imported: {}", names);
        options_.log(fmt::format("web: {} CA certificate(s) imported", certs->size()));
    }
    return Response::redirect(std::string(kCaPath));
}

Response App::ca_remove(Call& call) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string id = call.req.form("id").value_or("");
    if (auto r = store_.remove_ca(id); !r) {
        call.session->flash = r.error().detail;
    } else {
        call.session->notice = "The CA certificate was removed.";
        options_.log(fmt::format("web: CA certificate {} removed", id));
    }
    return Response::redirect(std::string(kCaPath));
}

Response App::root_update(Call& call) {
    constexpr std::string_view title = "Network Security > Root Certificate Update";
    const int tab = static_cast<int>(Tab::network_security);
    std::string notice, problem;
    if (call.req.method == "POST") {
        if (!call.csrf_ok()) return forbidden(kExpiredForm);
        if (options_.operations == nullptr) return unavailable(call, tab, title);
        auto r = options_.operations->reload_certificates();
        if (r)
            notice = fmt::format("The system trusts {}.", *r);
        else
            problem = message_of(r.error());
    }
    auto certs = store_.ca_certs();
    return framed(
        call, tab, title,
        render_root_update_page(certs ? certs->size() : 0, call.session->csrf, notice, problem));
}

Response App::product_security(Call& call) {
    constexpr std::string_view title = "Product Security > Change Administrator Password";
    const int tab = static_cast<int>(Tab::product_security);
    std::string notice, problem;
    int status = 200;
    if (call.req.method == "POST") {
        if (!call.csrf_ok()) return forbidden(kExpiredForm);
        const Secret current(call.req.form("current").value_or(""));
        const Secret fresh(call.req.form("new").value_or(""));
        const Secret confirm(call.req.form("confirm").value_or(""));
        auto stored = store_.credential("admin", "admin");
        if (const auto wait = throttle_.wait(call.req.client)) {
            problem = "Too many wrong passwords. Try again later.";
            status = 429;
        } else if (!stored || !*stored || !verify_password(current, **stored)) {
            throttle_.failed(call.req.client);
            problem = "The current password is incorrect.";
            status = 403;
        } else if (fresh.size() < 8) {
            // The same rule and words as `postbridge admin-password set`.
            problem = "the password must have at least 8 characters";
            status = 400;
        } else if (!(fresh == confirm)) {
            problem = "The new passwords do not match.";
            status = 400;
        } else if (auto r = store_.put_credential("admin", "admin", hash_password(fresh, rng_));
                   !r) {
            problem = r.error().detail;
            status = 500;
        } else {
            notice = "The administrator password was changed.";
            options_.log("web: the administrator password was changed");
        }
    }
    return framed(call, tab, title,
                  render_product_security_page(call.session->csrf, notice, problem), status);
}

Response App::jobs_page(Call& call) {
    constexpr std::string_view title = "Device Management > Job Status";
    const int tab = static_cast<int>(Tab::device_management);
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

Response App::job_page(Call& call, std::int64_t id) {
    const std::string title = fmt::format("Device Management > Job Status > Job {}", id);
    const int tab = static_cast<int>(Tab::device_management);
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

Response App::users_page(Call& call) {
    UsersPage page;
    page.csrf = call.session->csrf;
    page.notice = std::exchange(call.session->notice, {});
    page.problem = std::exchange(call.session->flash, {});
    auto users = store_.users();
    if (!users) {
        page.problem = users.error().detail;
    } else {
        for (auto& u : *users) {
            auto st = signin_.status("user:" + u.name);
            page.users.push_back({std::move(u), std::move(st)});
        }
    }
    if (auto active = call.req.param("user"); active) {
        for (const auto& r : page.users) {
            if (r.user.name != *active) continue;
            page.active = r.user.name;
            EmailPage panel;
            panel.profile = "user:" + r.user.name;
            panel.base = std::string(kUsersPath);
            panel.csrf = page.csrf;
            panel.now = clock_.now();
            panel.signin = r.signin;
            std::string service = "custom";
            if (auto s = store_.load_settings())
                service = settings::to_string(s->profile_config(panel.profile).service);
            page.panel = render_signin_panel(panel, service, kUserSignedIn);
        }
    }
    return framed(call, static_cast<int>(Tab::device_management),
                  "Device Management > Users (Scan to My Email)", render_users_page(page));
}

Response App::users_add(Call& call) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string name = call.req.form("name").value_or("");
    const std::string email = call.req.form("email").value_or("");
    if (auto r = store_.add_user(name, email); !r) {
        // Shown again with what was typed, and the store's words (the
        // same as `postbridge users add`).
        UsersPage page;
        page.csrf = call.session->csrf;
        page.problem = r.error().detail;
        page.name = name;
        page.email = email;
        if (auto users = store_.users())
            for (auto& u : *users) {
                auto st = signin_.status("user:" + u.name);
                page.users.push_back({std::move(u), std::move(st)});
            }
        return framed(call, static_cast<int>(Tab::device_management),
                      "Device Management > Users (Scan to My Email)", render_users_page(page), 400);
    }
    options_.log(fmt::format("web: user {} registered", name));
    call.session->notice =
        fmt::format("Registered {} <{}>. The user can now sign in.", name, email);
    return Response::redirect(std::string(kUsersPath));
}

Response App::users_remove(Call& call) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string name = call.req.form("name").value_or("");
    (void)signin_.sign_out("user:" + name);
    if (auto r = store_.remove_user(name); !r) {
        call.session->flash = r.error().detail;
    } else {
        call.session->notice = fmt::format("Removed {} and its sign-in.", name);
        options_.log(fmt::format("web: user {} removed", name));
    }
    return Response::redirect(std::string(kUsersPath));
}

Response App::users_signin(Call& call) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string profile = call.req.form("profile").value_or("");
    if (!user_exists(profile)) {
        call.session->flash = fmt::format("'{}' is not a registered user.", profile);
        return Response::redirect(std::string(kUsersPath));
    }
    const std::string name = profile.substr(5);
    const std::string action = call.req.form("action").value_or("");
    std::string problem;
    if (action == "start") {
        auto r = signin_.start(profile);
        if (!r)
            problem = message_of(r.error());
        else
            options_.log(fmt::format("web: sign-in of {} started", profile));
    } else if (action == "finish") {
        auto r = signin_.finish(profile, call.req.form("redirect_url").value_or(""));
        if (!r) problem = message_of(r.error());
    } else if (action == "signout") {
        if (auto r = signin_.sign_out(profile); !r)
            problem = r.error().detail;
        else
            options_.log(fmt::format("web: {} signed out", profile));
        call.session->flash = problem;
        return Response::redirect(std::string(kUsersPath));
    } else {
        return Response::text(400, "Unknown action.\n");
    }
    call.session->flash = problem;
    return Response::redirect(fmt::format("{}?user={}", kUsersPath, url_encode(name)));
}

Response App::status_sheet(Call& call, bool email_only) {
    const std::string_view title =
        email_only ? "Device Management > Email Server Status" : "Device Management > Status Sheet";
    const int tab = static_cast<int>(Tab::device_management);
    if (options_.operations == nullptr) return unavailable(call, tab, title);
    auto sheet = options_.operations->status_sheet();
    if (!sheet)
        return framed(call, tab, title, render_messages("", message_of(sheet.error())), 500);
    return framed(call, tab, title, render_status_sheet_page(*sheet, email_only));
}

}  // namespace pb::web
