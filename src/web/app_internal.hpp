// What App's page files share: the per-request Call, the paths one page
// sends the browser to from another, and the answers every page gives the
// same way. Not for use outside src/web.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "web/app.hpp"

namespace pb::web {

inline constexpr std::string_view kEmailBase = "/network/email/basic";
inline constexpr std::string_view kGuidePath = "/guide";
inline constexpr std::string_view kFaxBase = "/fax/email-server";
inline constexpr std::string_view kJobsPath = "/device-management/jobs";
inline constexpr std::string_view kExpiredForm =
    "The form has expired. Reload the page and try again.";

inline Response forbidden(std::string_view why) {
    return Response::text(403, std::string(why) + "\n");
}

// The operating system's bundle of root certificates, as Root Certificate
// Update shows it: the first of `candidates` that exists, its count and
// when it was last written. Empty path: none was found.
struct SystemBundle {
    std::filesystem::path path;
    std::size_t certificates = 0;
    std::string updated;  // "2026-11-30 10:12 UTC"
};
SystemBundle system_bundle(std::span<const std::filesystem::path> candidates);

inline Response not_found() {
    return Response::text(404, "Not found.\n");
}

// An error for people: its detail, or the code's status line when it has none.
inline std::string message_of(const Error& e) {
    return e.detail.empty() ? std::string(e.info().status) : e.detail;
}

struct App::Call {
    const Request& req;
    Session* session = nullptr;  // the administrator's live session, if any
    bool new_cookie = false;     // the session was created or renewed: send its cookie
    std::string login_cookie;    // a visitor's new pre-login cookie, to send

    bool admin() const { return session != nullptr; }
    // HEAD is answered as GET (the server leaves out the body).
    bool get() const { return req.method == "GET" || req.method == "HEAD"; }
    bool post() const { return req.method == "POST"; }
    // The form's token against the session's, in constant time.
    bool csrf_ok() const {
        if (session == nullptr) return false;
        const auto sent = req.form("csrf");
        return sent && Secret::equal_constant_time(*sent, session->csrf);
    }
};

}  // namespace pb::web
