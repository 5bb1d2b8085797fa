// The delivery log: one line per attempt and one per final outcome, in the
// spirit of Postfix's, so that a lost scan is traced with grep, not a
// database query.
//
//   job=12 profile=email transport=smtp server=smtp.office365.com:587
//     attempt=1 to=<a@example.com> accepted "250 2.6.0 queued" size=20481
//     delay=0.52 time=0.48 state=sent code= status="Sent"
//   job=12 outcome=sent profile=email attempts=1 delay=0.52 code= status="Sent"
//
// (one line each). `job=ID` is a contract: tools outside the project grep
// for it. Fields: the job and its profile, the transport and the server it
// went to, each recipient with its result and the server's words, the size
// in bytes, delay (seconds since the job was accepted), time (seconds of
// this attempt on its connection), the job's state after it, its code (empty
// when none) and the status text. Values a peer chose (addresses, replies)
// are quoted and escaped, so a line stays one line.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "delivery/events.hpp"

namespace pb::observe {

// The attempt's line, and the outcome's when the attempt made the job final.
std::string attempt_line(const spool::Job& job, const spool::Attempt& attempt, TimePoint now);
std::string outcome_line(const spool::Job& job, const spool::Attempt& attempt, TimePoint now);

// A value for a key=value log field: as it is when it is a plain token,
// else in double quotes with '"' and '\' escaped and control bytes as \xNN.
std::string log_value(std::string_view v);

class DeliveryLog final : public delivery::Observer {
  public:
    DeliveryLog(const Clock& clock, std::function<void(std::string_view)> sink)
        : clock_(clock), sink_(std::move(sink)) {}
    void attempted(const spool::Job& job, const spool::Attempt& attempt) override;

  private:
    const Clock& clock_;
    std::function<void(std::string_view)> sink_;
};

// Several observers as one, told in order.
class Observers final : public delivery::Observer {
  public:
    void add(delivery::Observer* o) {
        if (o != nullptr) list_.push_back(o);
    }
    void claimed(const std::string& profile, std::span<const spool::Job> jobs) override {
        for (auto* o : list_) o->claimed(profile, jobs);
    }
    void attempted(const spool::Job& job, const spool::Attempt& attempt) override {
        for (auto* o : list_) o->attempted(job, attempt);
    }
    void progress(const spool::Job& job, std::uint64_t read, std::uint64_t size) override {
        for (auto* o : list_) o->progress(job, read, size);
    }

  private:
    std::vector<delivery::Observer*> list_;
};

}  // namespace pb::observe
