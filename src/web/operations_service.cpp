// Operations over service::Outbox (operations_service.hpp).
#include "web/operations_service.hpp"

#include <cerrno>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/thread.hpp"
#include "mime/message.hpp"
#include "service/connection_test.hpp"
#include "spool/history.hpp"
#include "web/status_source.hpp"

namespace pb::web {
namespace {

class OutboxOperations final : public Operations {
  public:
    OutboxOperations(store::Store& store, service::Outbox& outbox, const Clock& clock, Random& rng,
                     OperationsOptions options)
        : store_(store), outbox_(outbox), clock_(clock), rng_(rng), options_(std::move(options)) {}

    std::vector<ReadyCheck> readiness() override {
        std::vector<ReadyCheck> out;
        out.push_back({"spool", spool_problem()});
        const int version = store_.schema_version();
        out.push_back({"store", version > 0 ? std::string{}
                                            : "the state database does not answer (" +
                                                  (store_.dir() / "postbridge.db").string() + ")"});
        out.push_back({"listeners", options_.listeners()});
        return out;
    }

    Result<std::string> metrics() override {
        observe::Gauges g;
        for (const auto state :
             {spool::JobState::queued, spool::JobState::sending, spool::JobState::held,
              spool::JobState::sent, spool::JobState::partial, spool::JobState::failed})
            g.jobs_by_state[std::string(spool::to_string(state))] = 0;
        auto counts = outbox_.spool().count_by_state();
        if (!counts) return std::move(counts).error();
        for (const auto& [state, n] : *counts) g.jobs_by_state[state] = n;

        service::Runtime rt(store_, clock_, rng_);
        if (auto r = rt.reload(); !r) return std::move(r).error();
        auto users = store_.users();
        if (!users) return std::move(users).error();
        std::vector<std::string> user_names;
        for (const auto& u : *users) user_names.push_back(u.name);
        const auto names = settings::profiles(user_names);

        auto oldest = outbox_.spool().oldest_waiting();
        if (!oldest) return std::move(oldest).error();
        const auto now = clock_.now();
        for (const auto& p : names) g.queue_oldest_seconds[p] = 0;
        for (const auto& [p, t] : *oldest)
            g.queue_oldest_seconds[p] = std::chrono::duration<double>(now - t).count();

        for (const auto& p : names) {
            if (rt.profile(p).auth_method != settings::AuthMethod::oauth2) continue;
            auto st = rt.status(p);
            if (!st) continue;  // a damaged token record: status says why
            observe::Gauges::SignIn s{p, std::string(oauth::to_string(st->state)), std::nullopt};
            if (st->keepalive.lapse_at)
                s.lapse_seconds =
                    std::chrono::duration<double>(*st->keepalive.lapse_at - now).count();
            g.signins.push_back(std::move(s));
        }
        if (options_.metrics != nullptr) return options_.metrics->render(g);
        return observe::Metrics{}.render(g);
    }

    void start_connection_test(std::string_view profile) override {
        std::lock_guard lock(tests_mu_);
        auto& slot = tests_[std::string(profile)];
        if (slot && !slot->done) return;  // running
        slot = std::make_unique<Test>();  // the one before ended: joins at once
        Test* t = slot.get();
        t->thread = std::jthread([this, t, p = std::string(profile)] {
            name_this_thread("pb-web-test");
            auto r = connection_test(p);
            std::lock_guard done(tests_mu_);
            t->result = std::move(r);
            t->done = true;
        });
    }

    bool connection_test_running(std::string_view profile) override {
        std::lock_guard lock(tests_mu_);
        const auto it = tests_.find(std::string(profile));
        return it != tests_.end() && !it->second->done;
    }

    std::optional<Result<nlohmann::json>> take_connection_test(std::string_view profile) override {
        std::lock_guard lock(tests_mu_);
        const auto it = tests_.find(std::string(profile));
        if (it == tests_.end() || !it->second->done) return std::nullopt;
        auto r = std::move(it->second->result);
        it->second->result.reset();
        return r;
    }

    Result<std::vector<nlohmann::json>> jobs(std::size_t limit) override {
        auto all = outbox_.spool().jobs(limit);
        if (!all) return std::move(all).error();
        std::vector<nlohmann::json> out;
        for (const auto& j : *all) out.push_back(spool::to_json(j));
        return out;
    }

    Result<std::optional<nlohmann::json>> job(std::int64_t id) override {
        auto j = outbox_.spool().job(id);
        if (!j) return std::move(j).error();
        if (!*j) return std::optional<nlohmann::json>{};
        return std::optional<nlohmann::json>{spool::to_json(**j, true)};
    }

    Result<nlohmann::json> retry(std::int64_t id) override {
        auto j = outbox_.spool().job(id);
        if (!j) return std::move(j).error();
        if (!*j) return fail(Errc::invalid_input, "there is no job " + std::to_string(id));
        if (auto r = outbox_.spool().retry(id); !r) return std::move(r).error();
        auto again = outbox_.spool().job(id);
        if (!again) return std::move(again).error();
        return spool::to_json(**again);
    }

    Result<nlohmann::json> send(const SendRequest& req) override {
        mime::Draft draft;
        draft.to = req.to;
        draft.cc = req.cc;
        draft.bcc = req.bcc;
        draft.subject = req.subject;
        draft.text = req.body;
        auto accepted =
            outbox_.intake().compose(spool::Function::cli, req.profile, std::move(draft));
        if (!accepted) return std::move(accepted).error();
        auto j = outbox_.spool().job(accepted->id);
        if (!j) return std::move(j).error();
        nlohmann::json out = *j ? spool::to_json(**j) : nlohmann::json{{"job", accepted->id}};
        if (accepted->held) out["message"] = std::string(intake::kSignInMessage);
        return out;
    }

    // Status and the sheet read the sign-ins through a Runtime on this
    // thread's own store connection, as the CLI does: the outbox's
    // connection belongs to serve's threads.
    Result<nlohmann::json> status(std::optional<std::string> profile) override {
        service::Runtime rt(store_, clock_, rng_);
        if (auto r = rt.reload(); !r) return std::move(r).error();
        std::vector<std::string> names;
        if (profile) {
            if (auto r = rt.check_profile(*profile); !r) return std::move(r).error();
            names.push_back(*profile);
        } else {
            auto users = store_.users();
            if (!users) return std::move(users).error();
            std::vector<std::string> user_names;
            for (const auto& u : *users) user_names.push_back(u.name);
            names = settings::profiles(user_names);
        }
        return status_json(rt.config(), names,
                           [&rt](const std::string& p) { return rt.status(p); });
    }

    Result<StatusSheet> status_sheet() override {
        service::Runtime rt(store_, clock_, rng_);
        if (auto r = rt.reload(); !r) return std::move(r).error();
        return collect_status_sheet(
            store_, rt.config(), [&rt](const std::string& p) { return rt.status(p); },
            clock_.now());
    }

  private:
    // On the test's own thread. The Store is thread-safe, and the Random
    // serve passes is OpenSSL's generator, which is too.
    Result<nlohmann::json> connection_test(std::string_view profile) {
        service::Runtime rt(store_, clock_, rng_);
        if (auto r = rt.reload(); !r) return std::move(r).error();
        auto t = service::run_connection_test(rt, profile);
        if (!t) return std::move(t).error();
        return service::connection_test_json(profile, *t);
    }

    struct Test {
        std::optional<Result<nlohmann::json>> result;  // set when done, until taken
        bool done = false;
        std::jthread thread;  // last: joined before the rest goes
    };

    store::Store& store_;
    service::Outbox& outbox_;
    // Whether a message can be accepted now: a body written, synced and
    // removed, as intake would.
    std::string spool_problem() { return outbox_.spool().problem(); }

    const Clock& clock_;
    Random& rng_;
    OperationsOptions options_;
    std::mutex tests_mu_;
    // Last: destroying it waits for a test still running, while the
    // members it uses are alive.
    std::map<std::string, std::unique_ptr<Test>> tests_;
};

}  // namespace

std::unique_ptr<Operations> make_operations(store::Store& store, service::Outbox& outbox,
                                            const Clock& clock, Random& rng,
                                            OperationsOptions options) {
    return std::make_unique<OutboxOperations>(store, outbox, clock, rng, std::move(options));
}

}  // namespace pb::web
