// What app.cpp, pages2.cpp and api.cpp share inside App: the per-request
// Call and a few constants. Not for use outside src/web.
#pragma once

#include <string>
#include <string_view>

#include "core/secret.hpp"
#include "web/app.hpp"

namespace pb::web {

inline constexpr std::string_view kEmailBase = "/network/email/basic";
inline constexpr std::string_view kFaxBase = "/fax/email-server";
inline constexpr std::string_view kExpiredForm =
    "The form has expired. Reload the page and try again.";

inline Response forbidden(std::string_view why) {
    return Response::text(403, std::string(why) + "\n");
}

struct App::Call {
    const Request& req;
    Session* session = nullptr;  // the caller's live session, if any
    bool new_cookie = false;     // the session was created or renewed: send its cookie

    bool admin() const { return session != nullptr && session->admin; }
    // The form's token against the session's, in constant time.
    bool csrf_ok() const {
        if (session == nullptr) return false;
        const auto sent = req.form("csrf");
        return sent && Secret::equal_constant_time(*sent, session->csrf);
    }
};

}  // namespace pb::web
