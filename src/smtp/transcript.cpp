// The bounded, redacted session record.
#include "smtp/transcript.hpp"

namespace pb::smtp {

namespace {
// A command line as recorded: without its CRLF.
std::string_view chomp(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}
}  // namespace

void Transcript::add(std::string line) {
    if (head_.size() < head_max_) {
        head_.push_back(std::move(line));
        return;
    }
    tail_.push_back(std::move(line));
    if (tail_.size() > tail_max_) {
        tail_.pop_front();
        ++dropped_;
    }
}

void Transcript::client(std::string_view line) {
    add("C: " + std::string(chomp(line)));
}

void Transcript::client_auth(std::string_view mechanism) {
    add(mechanism.empty() ? std::string("C: <redacted>")
                          : "C: AUTH " + std::string(mechanism) + " <redacted>");
}

void Transcript::client_body(std::size_t bytes) {
    add("C: <message body, " + std::to_string(bytes) + " bytes>");
}

void Transcript::server(const Reply& reply) {
    const std::string code = std::to_string(reply.code);
    const std::string status = reply.status.present() ? reply.status.str() + ' ' : std::string();
    for (std::size_t i = 0; i < reply.lines.size(); ++i) {
        const bool last = i + 1 == reply.lines.size();
        add("S: " + code + (last ? ' ' : '-') + (i == 0 ? status : std::string()) + reply.lines[i]);
    }
}

void Transcript::note(std::string_view text) {
    add("-- " + std::string(text));
}

std::string Transcript::str() const {
    std::string out;
    for (const auto& l : head_) out.append(l).append("\n");
    if (dropped_ > 0) out.append("-- (" + std::to_string(dropped_) + " lines left out)\n");
    for (const auto& l : tail_) out.append(l).append("\n");
    return out;
}

}  // namespace pb::smtp
