// Where the real test peers (tests/peers) listen. The ctest fixture "peers"
// starts them and writes KEY=VALUE lines to the file named by PB_PEERS_ENV.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace pb::test {

class Peers {
  public:
    // Loads PB_PEERS_ENV; a test that needs peers calls GTEST_SKIP when this
    // is empty only if it runs outside ctest (the fixture makes it present).
    static const Peers& get();

    bool available() const { return !values_.empty(); }
    // The value of KEY; fails the calling test when it is missing.
    std::string at(const std::string& key) const;
    std::optional<std::string> find(const std::string& key) const;

  private:
    std::map<std::string, std::string> values_;
};

// Path of the postbridge binary under test (PB_BINARY) and of the source tree.
std::string binary_path();
std::string source_dir();

// Runs a shell command, returns its exit status and standard output.
struct CommandResult {
    int status = -1;
    std::string out;
};
CommandResult run_command(const std::string& command);

}  // namespace pb::test
