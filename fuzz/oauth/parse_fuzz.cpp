// Feeds arbitrary bytes to every parser that reads what an identity provider
// (or an administrator pasting a URL) sends: none may crash, hang or leak,
// whatever comes in.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oauth/device_flow.hpp"
#include "oauth/pkce.hpp"
#include "oauth/provider.hpp"
#include "oauth/provider_error.hpp"
#include "oauth/token.hpp"
#include "oauth/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pb::oauth;  // NOLINT: a fuzz entry point, nothing else in this file
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const pb::TimePoint now{};
    (void)parse_token_response(in, now);
    (void)parse_device_authorization(in, now);
    (void)parse_error_body(400, in);
    (void)decode_failure(Family::microsoft, 400, in);
    (void)decode_failure(Family::google, 400, in, std::chrono::days{365});
    (void)account_from_id_token(in);
    (void)parse_discovery("https://idp.example", in);
    (void)parse_url(in);
    (void)parse_form(in);
    static const Client client = [] {
        Client c;
        c.provider = builtin_provider(Service::gmail).value();
        c.client_id = "fuzz";
        return c;
    }();
    (void)read_redirect(client, in, "state");
    return 0;
}
