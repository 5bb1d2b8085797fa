// What the Users page (users_page.cpp) says that others check: the
// manual's sentence after a user's sign-in (section 6).
#pragma once

#include <string_view>

namespace pb::web {

inline constexpr std::string_view kUserSignedIn =
    "Authentication was successful. Try the operation again from the Home Screen.";

}  // namespace pb::web
