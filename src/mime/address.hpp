// Email addresses as people type them and as headers carry them: RFC 5322
// mailboxes ("Name <user@example.com>", quoted local parts, comments, groups)
// checked against the limits of RFC 5321 (local part 64, domain 255 octets),
// with RFC 6531/6532 internationalized addresses: a UTF-8 domain becomes its
// A-label for the envelope, a UTF-8 local part marks the message as needing
// SMTPUTF8 (job code 635 when the server lacks it).
//
// Every refusal is 652 with a detail that names the field, the address and
// what is wrong with it, because that text is all an administrator sees.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace pb::mime {

struct Mailbox {
    std::string display_name;  // UTF-8, unquoted; empty when none was given
    std::string local_part;    // unquoted ("john doe", not "\"john doe\"")
    std::string domain;        // as written, UTF-8 for IDNs
    std::string ascii_domain;  // lowercase A-label form (or the [literal])

    // Whether the local part is UTF-8 and so needs SMTPUTF8 (RFC 6531): no
    // ASCII form of it exists.
    bool needs_smtputf8() const noexcept;
    // Whether the domain is internationalized (its ASCII form has A-labels).
    bool idn() const noexcept { return domain != ascii_domain && !is_literal(); }
    bool is_literal() const noexcept { return domain.starts_with('['); }

    // The local part as it must be written: bare when it is a dot-atom,
    // otherwise quoted with backslash escapes.
    std::string wire_local_part() const;
    // "user@xn--bcher-kva.example": what MAIL FROM, RCPT TO and headers use.
    std::string addr_spec() const;

    bool operator==(const Mailbox&) const = default;
};

// One mailbox: "user@example.com", "<user@example.com>",
// "Name <user@example.com>", "\"Last, First\" <user@example.com>".
// `field` names the origin in errors ("To", "--cc", "From").
Result<Mailbox> parse_mailbox(std::string_view text, std::string_view field = "address");

// Whether a list may hold no address at all: a user's --to may not, a
// header's "To: undisclosed-recipients:;" may.
enum class EmptyList { refuse, allow };

// A comma-separated list (RFC 5322 address-list); groups ("team: a, b;") are
// flattened into their members.
Result<std::vector<Mailbox>> parse_address_list(std::string_view text,
                                                std::string_view field = "address",
                                                EmptyList empty = EmptyList::refuse);

}  // namespace pb::mime
