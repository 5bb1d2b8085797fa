// GraphTransport (graph_transport.hpp): carries results across, decides nothing.
#include "delivery/graph_transport.hpp"

#include <fmt/format.h>

namespace pb::delivery {
namespace {

// "https://graph.microsoft.com/v1.0" -> "graph.microsoft.com:443".
std::string server_of(std::string_view url) {
    const bool tls = url.starts_with("https://");
    if (const auto scheme = url.find("://"); scheme != std::string_view::npos)
        url.remove_prefix(scheme + 3);
    url = url.substr(0, url.find('/'));
    const auto bracket = url.rfind(']');  // an IPv6 address: [::1]:8080
    const auto colon = url.rfind(':');
    const bool has_port =
        colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
    return std::string(url) + (has_port ? "" : tls ? ":443" : ":80");
}

}  // namespace

GraphTransport::GraphTransport(Resolve resolve, const Clock& clock, graph::Waiter wait,
                               std::filesystem::path drafts_dir)
    : resolve_(std::move(resolve)),
      clock_(clock),
      wait_(std::move(wait)),
      ledger_(std::move(drafts_dir)) {}

BatchOutcome GraphTransport::send(const std::string& profile, std::span<OutgoingMessage> messages,
                                  const Done& done) {
    BatchOutcome out;
    auto endpoint = resolve_(profile);
    if (!endpoint) {
        for (std::size_t i = 0; i < messages.size(); ++i)
            out.messages.push_back({{}, endpoint.error(), false, "graph"});
        return out;
    }
    const std::string server = server_of(endpoint->options.endpoint);
    graph::Client client(*endpoint->http, *endpoint->tokens, gate_, ledger_, clock_, wait_,
                         endpoint->options);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        OutgoingMessage& m = messages[i];
        MessageOutcome mo;
        mo.transport = "graph";
        mo.server = server;
        if (!m.reopen) {
            mo.error =
                fail(Errc::invalid_input, "the Graph transport needs a message it can read again");
            out.messages.push_back(mo);
            if (done) done(i, mo);
            continue;
        }
        graph::Message gm;
        gm.job = m.job;
        gm.recipients = m.recipients;
        gm.size = m.body && m.body->size_hint() ? *m.body->size_hint() : m.size;
        gm.open = m.reopen;
        graph::Outcome go = client.send(gm);
        out.transcript += fmt::format("job {} via Microsoft Graph ({}):\n{}", m.job,
                                      go.how.empty() ? "not sent" : go.how, go.transcript);
        if (go.error) {
            mo.error = go.error;
            mo.maybe_sent = go.maybe_sent;
        } else {
            const std::string reply = fmt::format("202 Accepted by Microsoft Graph ({})", go.how);
            for (const auto& r : m.recipients) mo.recipients.push_back({r, std::nullopt, reply});
        }
        out.messages.push_back(mo);
        if (done) done(i, mo);
    }
    return out;
}

}  // namespace pb::delivery
