// Fuzzes the reply parser: the input is cut where its first byte says, so
// the fuzzer also explores split points; both ways must agree.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace {

struct Outcome {
    std::vector<pb::smtp::Reply> replies;
    bool invalid = false;
};

Outcome parse(std::string_view a, std::string_view b) {
    Outcome o;
    pb::smtp::ReplyParser p;
    for (std::string_view part : {a, b}) {
        while (!part.empty()) {
            const auto r = p.put(part);
            if (r.consumed > part.size()) std::abort();
            part.remove_prefix(r.consumed);
            if (r.status == pb::smtp::ReplyParser::Status::invalid) {
                o.invalid = true;
                return o;
            }
            if (r.status == pb::smtp::ReplyParser::Status::ready) {
                o.replies.push_back(p.take());
                const auto& rep = o.replies.back();
                if (rep.code < 200 || rep.code > 599 || rep.lines.empty()) std::abort();
                (void)rep.summary();
            } else if (r.consumed == 0 && !part.empty()) {
                std::abort();  // need_more must take everything it was given
            }
        }
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
    const Outcome whole = parse(in, {});
    const Outcome split = parse(in.substr(0, cut), in.substr(cut));
    if (whole.invalid != split.invalid || whole.replies.size() != split.replies.size())
        std::abort();
    for (std::size_t i = 0; i < whole.replies.size(); ++i)
        if (whole.replies[i].lines != split.replies[i].lines ||
            !(whole.replies[i].status == split.replies[i].status))
            std::abort();
    return 0;
}
