// What the spool's tests (the queue suite, the local backend's own) say
// again and again: a scan submission, an attempt that sent it, and the
// message of a job read back whole.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spool/spool.hpp"
#include "support/drain.hpp"

namespace pb::test {

inline spool::Submission scan_submission(std::vector<std::string> rcpts = {"b@example.test"}) {
    return spool::Submission{spool::Function::scan_to_email,
                             "email",
                             "a@example.test",
                             std::move(rcpts),
                             "Scan",
                             std::nullopt};
}

// The attempt that delivered a job submitted to b@example.test.
inline spool::Attempt sent_to_b() {
    return spool::Attempt{spool::JobState::sent,
                          std::nullopt,
                          false,
                          std::nullopt,
                          std::nullopt,
                          {spool::Recipient{0, "b@example.test", spool::RecipientResult::accepted,
                                            std::nullopt, "250"}}};
}

// Accepts `body` as a scan to b@example.test; its job's number (0 when
// refused, which fails the test).
inline spool::JobId accept_scan(spool::Spool& spool,
                                const std::string& body = "Subject: x\r\n\r\nhi\r\n") {
    StringSource src(body);
    auto id = spool.accept(scan_submission(), src);
    EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error().detail);
    return id.ok() ? *id : 0;
}

// The job as the spool has it now (an empty one, failing the test, when gone).
inline spool::Job job_of(spool::Spool& spool, spool::JobId id) {
    auto j = spool.job(id);
    EXPECT_TRUE(j.ok() && j->has_value());
    return j.ok() && j->has_value() ? **j : spool::Job{};
}

// The job's message as it would be sent, read 100 bytes at a time.
inline std::string read_message(spool::Spool& spool, const spool::Job& job) {
    auto r = spool.open_message(job);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().detail);
    return r.ok() ? drain(**r, 100) : std::string();
}

}  // namespace pb::test
