#include "support/peers.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace pb::test {

const Peers& Peers::get() {
    static const Peers peers = [] {
        Peers p;
        const char* path = std::getenv("PB_PEERS_ENV");
        if (path == nullptr) path = PB_DEFAULT_PEERS_ENV;
        std::ifstream in(path);
        std::string line;
        while (std::getline(in, line)) {
            const auto eq = line.find('=');
            if (eq == std::string::npos || line.starts_with('#')) continue;
            std::string value = line.substr(eq + 1);
            if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') &&
                value.back() == value.front())
                value = value.substr(1, value.size() - 2);
            p.values_[line.substr(0, eq)] = value;
        }
        return p;
    }();
    return peers;
}

std::optional<std::string> Peers::find(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::string Peers::at(const std::string& key) const {
    auto v = find(key);
    if (!v) ADD_FAILURE() << "peers.env has no " << key << " (is the peers fixture running?)";
    return v.value_or("");
}

std::string binary_path() {
    const char* p = std::getenv("PB_BINARY");
    return p ? p : PB_DEFAULT_BINARY;
}

std::string source_dir() {
    const char* p = std::getenv("PB_SOURCE_DIR");
    return p ? p : PB_DEFAULT_SOURCE_DIR;
}

CommandResult run_command(const std::string& command) {
    CommandResult r;
    FILE* f = popen(command.c_str(), "r");
    if (f == nullptr) return r;
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) r.out.append(buf.data(), n);
    const int st = pclose(f);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

}  // namespace pb::test
