#include "support/transcript.hpp"

namespace pb::test {

std::vector<Chunks> every_split(std::string_view input) {
    std::vector<Chunks> all;
    all.push_back({input});
    for (std::size_t k = 1; k < input.size(); ++k)
        all.push_back({input.substr(0, k), input.substr(k)});
    Chunks bytes;
    for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
    if (input.size() > 1) all.push_back(std::move(bytes));
    return all;
}

}  // namespace pb::test
