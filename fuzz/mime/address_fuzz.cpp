// The address parser on arbitrary input: it must never crash, every refusal
// must be 652 with a one-line detail, and every accepted address must come
// back unchanged after being written into a header and parsed again.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mime/address.hpp"
#include "mime/header.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pb::mime;  // NOLINT: a fuzz entry point, nothing else here
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto list = parse_address_list(input, "To", EmptyList::allow);
    if (!list) {
        check(list.error().code == pb::Errc::invalid_input);
        check(list.error().detail.find_first_of("\r\n") == std::string::npos);
        return 0;
    }
    for (const Mailbox& m : *list) {
        check(m.wire_local_part().size() <= 64 && m.ascii_domain.size() <= 255);
        HeaderField field("To");
        field.mailbox(m);
        const std::string text = std::move(field).finish();
        std::string value;
        for (char c : text.substr(3, text.size() - 5))
            if (c != '\r' && c != '\n') value.push_back(c);
        auto again = parse_mailbox(value, "To");
        check(again.ok());
        check(again->addr_spec() == m.addr_spec());
        const bool encoded = !std::all_of(m.display_name.begin(), m.display_name.end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x80;
        });
        check((encoded ? decode_words(again->display_name) : again->display_name) ==
              m.display_name);
    }
    return 0;
}
