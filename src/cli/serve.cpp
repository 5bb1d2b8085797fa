// Commands: postbridge serve (Web Config, relay, delivery workers). Owned by the part that implements them; registers nothing
// until then.
#include "cli/app.hpp"

namespace pb::cli {

void add_serve_commands(CLI::App& /*app*/, Context& /*ctx*/) {}

}  // namespace pb::cli
