// The local submission format (local_submission.hpp).
#include "intake/local_submission.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>

namespace pb::intake::local {
namespace {

using nlohmann::json;

Result<json> object_line(std::string_view line, std::string_view what) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    auto j = json::parse(line, nullptr, false);
    if (!j.is_object())
        return fail(Errc::invalid_input,
                    std::string(what) + " is not one line of JSON (is the other side postbridge?)");
    return j;
}

// An integer field read without trusting the other side: a float or a value
// out of [lo, hi] is refused (nlohmann's conversion of 1e300 to an integer
// is undefined behaviour, which the fuzzer found).
std::optional<std::int64_t> integer(const json& j, const char* key, std::int64_t fallback,
                                    std::int64_t lo, std::int64_t hi) {
    const auto it = j.find(key);
    if (it == j.end()) return fallback;
    std::int64_t v = 0;
    if (it->is_number_unsigned()) {
        const auto u = it->get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(hi)) return std::nullopt;
        v = static_cast<std::int64_t>(u);
    } else if (it->is_number_integer()) {
        v = it->get<std::int64_t>();
    } else {
        return std::nullopt;
    }
    if (v < lo || v > hi) return std::nullopt;
    return v;
}

// Bytes that are not UTF-8 (an address typed in Latin-1, a server's words)
// become U+FFFD rather than an exception.
std::string line_of(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string socket_path() {
    const char* env = std::getenv("POSTBRIDGE_SUBMIT_SOCKET");
    return env != nullptr && *env != '\0' ? env : std::string(kDefaultSocket);
}

std::string encode(const Request& r) {
    return line_of(json{{"kind", r.kind == Request::Kind::queue ? "queue" : "send"},
                        {"from", r.from},
                        {"full_name", r.full_name},
                        {"recipients", r.recipients},
                        {"t", r.recipients_from_headers},
                        {"notify", r.dsn_notify},
                        {"ret", r.dsn_ret}});
}

std::string encode(const Reply& r) {
    json j{{"exit", r.exit_status}};
    if (r.job != 0) j["job"] = r.job;
    if (r.held) j["held"] = true;
    if (!r.message.empty()) j["message"] = r.message;
    if (!r.text.empty()) j["text"] = r.text;
    return line_of(j);
}

Result<Request> decode_request(std::string_view line) {
    auto j = object_line(line, "the submission's first line");
    if (!j) return std::move(j).error();
    Request r;
    try {
        const std::string kind = j->value("kind", "send");
        if (kind != "send" && kind != "queue")
            return fail(Errc::invalid_input, "the submission's kind is neither send nor queue");
        r.kind = kind == "queue" ? Request::Kind::queue : Request::Kind::send;
        r.from = j->value("from", "");
        r.full_name = j->value("full_name", "");
        r.recipients_from_headers = j->value("t", false);
        r.dsn_notify = j->value("notify", "");
        r.dsn_ret = j->value("ret", "");
        for (const auto& a : j->value("recipients", json::array()))
            r.recipients.push_back(a.get<std::string>());
    } catch (const json::exception&) {
        return fail(Errc::invalid_input,
                    "the submission's first line has a field of the wrong type");
    }
    return r;
}

Result<Reply> decode_reply(std::string_view line) {
    auto j = object_line(line, "the service's answer");
    if (!j) return std::move(j).error();
    Reply r;
    try {
        const auto exit_status = integer(*j, "exit", 75, 0, 255);
        const auto job = integer(*j, "job", 0, 0, std::numeric_limits<std::int64_t>::max());
        if (!exit_status || !job)
            return fail(Errc::invalid_input, "the service's answer has a number out of range");
        r.exit_status = static_cast<int>(*exit_status);
        r.job = *job;
        r.held = j->value("held", false);
        r.message = j->value("message", "");
        r.text = j->value("text", "");
    } catch (const json::exception&) {
        return fail(Errc::invalid_input, "the service's answer has a field of the wrong type");
    }
    return r;
}

}  // namespace pb::intake::local
