// Commands: signin, signout, status, test-connection. Owned by the part that implements them; registers nothing
// until then.
#include "cli/app.hpp"

namespace pb::cli {

void add_signin_commands(CLI::App& /*app*/, Context& /*ctx*/) {}

}  // namespace pb::cli
