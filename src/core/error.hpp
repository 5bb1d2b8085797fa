// The one error type of postbridge, and the job code table.
//
// Every failure that reaches a job, a command's exit or a page is one of the
// codes below. The numbers are the contract: 360, 361 and 370 are the device
// manual's; 601-653 are ours (design.md). A number is never reused: a retired
// code keeps its slot, commented out, so that old job records still mean what
// they said.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace pb {

enum class Errc : int {
    // The manual's codes: the sign-in is missing or no longer valid.
    not_signed_in = 360,
    sign_in_expired = 361,
    sign_in_again = 370,

    // Reaching the server.
    name_resolution = 601,
    cannot_connect = 602,
    timed_out = 603,
    proxy_failure = 604,

    // TLS.
    tls_handshake = 611,
    cert_untrusted = 612,
    cert_name_mismatch = 613,
    starttls_not_offered = 614,
    auth_without_tls = 615,

    // Authentication.
    smtp_auth_disabled = 621,
    auth_rejected = 622,
    no_common_mechanism = 623,

    // The message and its envelope.
    sender_not_allowed = 631,
    recipient_rejected = 632,
    message_too_large = 633,
    rate_limited = 634,
    smtputf8_not_offered = 635,

    // Services.
    mail_service_unavailable = 641,
    identity_provider_unavailable = 642,
    identity_provider_config = 643,

    // This side.
    spool_unwritable = 651,
    invalid_input = 652,
    gave_up = 653,

    // Microsoft Graph (the graph transport).
    graph_permission_missing = 661,
    graph_mailbox_not_found = 662,
    graph_cannot_split = 663,
    graph_request_refused = 664,
};

// What a code means for whoever has to act on it.
enum class Condition : int {
    transient = 1,      // retried by itself
    permanent = 2,      // this message cannot go; nothing will change that
    sign_in = 3,        // held until an administrator signs in again
    configuration = 4,  // an administrator must change a setting
    local = 5,          // this machine: disk, input
};

struct CodeInfo {
    Errc code;
    std::string_view name;    // stable identifier, e.g. "not_signed_in"
    std::string_view status;  // what happened, as the job history shows it
    std::string_view remedy;  // what to do
    Condition condition;
};

// Every code, in numeric order.
std::span<const CodeInfo> code_table() noexcept;
// The entry of one code; every enumerator has one (checked by a test).
const CodeInfo& info(Errc code) noexcept;
// The code with this number, if postbridge defines it.
std::optional<Errc> errc_from_int(int number) noexcept;
std::string_view to_string(Condition c) noexcept;
std::string_view condition_name(Errc code) noexcept;

const std::error_category& postbridge_category() noexcept;
const std::error_category& condition_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;
std::error_condition make_error_condition(Condition c) noexcept;

// A failure with the code and what exactly went wrong, in words a person can
// act on. `detail` never holds a secret: callers build it from redacted data.
struct Error {
    Errc code;
    std::string detail;
    // The system's reason, where the failure had one (errno), so that a
    // caller can answer in its own protocol's terms: a relay says 452
    // "insufficient system storage" for ENOSPC, where any other 651 is 451.
    int system_errno = 0;

    // The disk (or the user's quota) is full: space may come back.
    bool storage_full() const noexcept;

    int number() const noexcept { return static_cast<int>(code); }
    const CodeInfo& info() const noexcept { return pb::info(code); }
    // "code 622: Authentication was rejected. (detail)"
    std::string describe() const;
};

// A value or an Error. Small on purpose: g++ 12 has no std::expected.
template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return std::get<0>(v_); }
    const T& operator*() const& { return std::get<0>(v_); }

    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }

  private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : e_(std::move(error)) {}  // NOLINT: implicit by design

    bool ok() const noexcept { return !e_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    const Error& error() const& { return *e_; }
    Error&& error() && { return std::move(*e_); }

  private:
    std::optional<Error> e_;
};

inline Error fail(Errc code, std::string detail) {
    return Error{code, std::move(detail)};
}
// With the system's reason (errno).
inline Error fail(Errc code, std::string detail, int system_errno) {
    return Error{code, std::move(detail), system_errno};
}

// 612 for a certificate refused for its dates (not valid yet, or expired):
// by this computer's clock, which is as likely to be what is wrong as the
// certificate, so the detail says what time it is here. `whose`: "the server
// certificate", "the certificate of login.example".
enum class CertDates { not_yet_valid, expired };
Error certificate_dates(std::string_view whose, CertDates which);

}  // namespace pb

template <>
struct std::is_error_code_enum<pb::Errc> : std::true_type {};
template <>
struct std::is_error_condition_enum<pb::Condition> : std::true_type {};
