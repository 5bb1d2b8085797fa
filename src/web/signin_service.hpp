// The product's SignInService: runs OAuth 2.0 sign-ins of src/oauth for the
// Email Server page (device flow polled on a thread of its own, or the
// authorization code flow finished by a pasted URL) and keeps the tokens
// sealed in the state directory.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/store.hpp"
#include "web/signin.hpp"

namespace pb::web {

// Opens its own connection to the state in `state_dir`: sign-ins finish on
// their own threads, apart from the pages' use of the store.
Result<std::unique_ptr<SignInService>> make_signin_service(
    const std::filesystem::path& state_dir, const store::Options& options, const Clock& clock,
    std::function<void(std::string_view)> log);

}  // namespace pb::web
