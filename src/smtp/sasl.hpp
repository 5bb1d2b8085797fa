// SASL for SMTP AUTH (RFC 4954): a table of the protocol's parameters plus
// small mechanism objects with start/step, after curl's lib/curl_sasl.c.
// Nothing here does I/O or knows about the session; the session asks a
// mechanism for its initial response and hands it each 334 challenge.
//
// Every response is a Secret: the bytes leave the process only through the
// session's write, and the transcript shows "<redacted>" in their place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "smtp/capabilities.hpp"

namespace pb::smtp {

// What differs between protocols that carry SASL (SMTP now, POP3 later).
struct SaslProtocol {
    int continue_code;                // server wants another response
    int success_code;                 // authenticated
    std::size_t max_line;             // the whole command line, CRLF included
    std::string_view empty_response;  // how an empty initial response is written
    std::string_view cancel;
};

inline constexpr SaslProtocol smtp_sasl{334, 235, 512, "=", "*"};

enum class AuthMethod { off, smtp_auth, oauth2 };

// What a mechanism needs. `secret` is the password (PLAIN, LOGIN) or the
// bearer access token (XOAUTH2, OAUTHBEARER).
struct SaslCredentials {
    std::string user;
    Secret secret;
    std::string host;  // OAUTHBEARER's host= and port= (RFC 7628 3.1)
    std::uint16_t port = 0;
};

class Mechanism {
  public:
    virtual ~Mechanism() = default;
    virtual std::string_view name() const noexcept = 0;
    // False for LOGIN: servers differ on its initial response, so wait for
    // the first prompt as Outlook and Thunderbird do.
    virtual bool has_initial_response() const noexcept { return true; }
    // What to send to an error challenge before the final 5xx: an empty line
    // for XOAUTH2 (Google), "AQ==" (%x01) for OAUTHBEARER, "*" otherwise.
    virtual std::string_view error_ack() const noexcept { return "*"; }
    // Tokens can be refreshed and tried again; passwords cannot.
    virtual bool uses_token() const noexcept { return false; }

    // The base64 initial response; does not count as sent until the caller
    // says so with initial_sent() (it may not fit on the AUTH line).
    Secret initial_response() const { return encode(0); }
    void initial_sent() noexcept { ++sent_; }
    // The base64 answer to the next 334 challenge.
    Secret step() { return encode(sent_++); }
    // True once every response went out: a 334 after that is an error
    // challenge (RFC 7628 3.2.2; Google's XOAUTH2 does the same).
    bool finished() const noexcept { return sent_ >= responses(); }
    bool initial_response_sent() const noexcept { return sent_ > 0; }

  protected:
    virtual int responses() const noexcept { return 1; }
    // The raw (not yet base64) response number `index`.
    virtual std::string raw_response(int index) const = 0;

  private:
    Secret encode(int index) const;
    int sent_ = 0;
};

std::unique_ptr<Mechanism> make_mechanism(std::string_view name, SaslCredentials credentials);

// The mechanism to use for `method` among those the server offers: oauth2
// prefers XOAUTH2 (what Exchange Online and Gmail speak) over OAUTHBEARER;
// smtp-auth prefers PLAIN over LOGIN. Fails with 623 when none fits.
Result<std::string_view> choose_mechanism(AuthMethod method, const Capabilities& caps);

// The AUTH command line (with CRLF), carrying the initial response only when
// the whole line stays within protocol.max_line (RFC 4954 4: otherwise it
// goes after the first 334, which real Microsoft tokens of 1.5-2.5 KB need).
Secret auth_command(Mechanism& mech, const SaslProtocol& protocol = smtp_sasl);

// The raw (decoded) blobs, exposed for transcript tests of the exact bytes.
std::string xoauth2_blob(std::string_view user, std::string_view token);
std::string oauthbearer_blob(std::string_view user, std::string_view host, std::uint16_t port,
                             std::string_view token);

}  // namespace pb::smtp
