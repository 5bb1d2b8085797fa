// Web Config's handler inside serve (serve.hpp): the pages and the JSON API
// (pb_web) over the sign-in driver (pb_web_oauth) and the outbox
// (pb_web_service).
#include <utility>

#include "cli/serve.hpp"
#include "web/app.hpp"
#include "web/operations_service.hpp"
#include "web/signin_service.hpp"

namespace pb::cli {
namespace {

class Front final : public WebFront {
  public:
    Front(ServeEnv& env, std::unique_ptr<web::SignInService> signin)
        : signin_(std::move(signin)),
          // The web thread's own store connection: the connection test
          // builds its Runtime on it, never on the outbox's.
          ops_(web::make_operations(env.store, env.outbox, env.ctx.clock, env.ctx.rng,
                                    {&env.metrics, [&env] { return env.listeners(); }})),
          app_(env.store, *signin_, env.ctx.clock, env.ctx.rng,
               web::AppOptions{env.log, ops_.get()}) {}
    web::Response handle(const web::Request& request) override { return app_.handle(request); }

  private:
    std::unique_ptr<web::SignInService> signin_;
    std::unique_ptr<web::Operations> ops_;
    web::App app_;
};

}  // namespace

Result<std::unique_ptr<WebFront>> make_web_front(ServeEnv& env) {
    // Sign-ins run on their own threads against their own connection to the
    // state, so the pages' connection is never shared between threads.
    auto signin =
        web::make_signin_service(env.ctx.state_dir, env.store_options, env.ctx.clock, env.log);
    if (!signin) return std::move(signin).error();
    return std::unique_ptr<WebFront>(std::make_unique<Front>(env, std::move(*signin)));
}

}  // namespace pb::cli
