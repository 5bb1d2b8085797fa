#include "relay/received.hpp"

#include "mime/header.hpp"

namespace pb::relay {
namespace {

// What a client may put in the header through its EHLO name: a domain or
// an address literal, nothing that could end the comment or the line.
std::string sanitized_name(std::string_view name) {
    constexpr std::size_t kMax = 255;  // a domain's longest
    std::string out(name.substr(0, kMax));
    for (char& c : out) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':' ||
                        c == '[' || c == ']';
        if (!ok) c = '?';
    }
    return out.empty() ? "unknown" : out;
}

// RFC 5321's address literal: [192.0.2.7] or [IPv6:2001:db8::7]; an
// IPv4 client on a dual-stack listener is shown as IPv4.
std::string address_literal(std::string_view client) {
    constexpr std::string_view kMapped = "::ffff:";
    if (client.starts_with(kMapped) && client.find('.') != std::string_view::npos)
        client.remove_prefix(kMapped.size());
    if (client.find(':') != std::string_view::npos) return "[IPv6:" + std::string(client) + "]";
    return "[" + std::string(client) + "]";
}

}  // namespace

spool::Trace received_header(const Envelope& envelope, const Arrival& arrival, TimePoint when) {
    const bool tls = arrival.tls.has_value();
    const bool auth = envelope.user.has_value();
    std::string protocol = "SMTP";
    if (envelope.esmtp) {
        protocol = "ESMTP";
        if (tls) protocol += 'S';
        if (auth) protocol += 'A';
    }

    spool::Trace t;
    t.head = "Received: from " + sanitized_name(envelope.helo) + " (unknown " +
             address_literal(arrival.client) + ")\r\n";
    if (tls) t.head += "\t(using " + *arrival.tls + ")\r\n";
    if (auth) t.head += "\t(Authenticated sender: " + *envelope.user + ")\r\n";
    t.head +=
        "\tby " + sanitized_name(arrival.hostname) + " (postbridge) with " + protocol + " id ";
    t.tail = envelope.recipients.size() == 1 ? "\r\n\tfor <" + envelope.recipients.front() + ">; "
                                             : std::string(";\r\n\t");
    t.tail += mime::format_date(when) + "\r\n";
    return t;
}

}  // namespace pb::relay
