// The connection test (`postbridge test-connection`, Network > Email Server
// > Connection Test, and the JSON API): connect, secure, greet,
// authenticate with the profile's current settings, send nothing. One
// implementation, so the page, the command and the API report the same
// steps, codes and words.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "service/runtime.hpp"
#include "smtp/client.hpp"

namespace pb::service {

// Fails before any step when the profile does not exist (652) or its
// settings cannot make a server or credentials (643 naming the setting).
// A step that fails is in the result, with the error's code.
Result<smtp::ConnectionTest> run_connection_test(Runtime& rt, std::string_view profile);

// `test-connection --json`: {"profile","ok","steps":[{"step","ok","detail"}],
// "certificate":{..},"code","status","remedy","error"}.
nlohmann::json connection_test_json(std::string_view profile, const smtp::ConnectionTest& t);

// The command's text: one line per step, the certificate, then the verdict
// and what to do.
std::string connection_test_text(const smtp::ConnectionTest& t);

}  // namespace pb::service
