// Splitting input at every position, for testing protocol cores that take
// bytes as they arrive (style.md: "tested at every split point").
#pragma once

#include <string_view>
#include <vector>

namespace pb::test {

using Chunks = std::vector<std::string_view>;

// Every way the input can arrive that a parser must handle the same: whole;
// in two pieces split at each position 1..n-1; and one byte at a time.
std::vector<Chunks> every_split(std::string_view input);

}  // namespace pb::test
