#include "solvers/parallel.h"

#include <algorithm>
#include <exception>
#include <thread>

namespace ctrnn {

std::vector<TrialBlock> SplitTrials(Eigen::Index trials, std::int64_t blocks) {
  const Eigen::Index n = std::max<Eigen::Index>(
      1,
      std::min<Eigen::Index>(static_cast<Eigen::Index>(std::max<std::int64_t>(blocks, 1)), trials));
  std::vector<TrialBlock> out;
  Eigen::Index first = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::Index count = trials / n + (i < trials % n ? 1 : 0);
    out.push_back({first, count});
    first += count;
  }
  return out;
}

void ParallelFor(std::int64_t n,
                 std::int64_t threads,
                 const std::function<void(std::int64_t)>& fn) {
  if (n <= 0) return;
  const std::int64_t t_count = std::clamp<std::int64_t>(threads, 1, n);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
  auto work = [&](std::int64_t t) {
    for (std::int64_t i = t; i < n; i += t_count) {
      try {
        fn(i);
      } catch (...) {
        errors[static_cast<size_t>(i)] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(t_count - 1));
  for (std::int64_t t = 1; t < t_count; ++t) pool.emplace_back(work, t);
  work(0);
  for (std::thread& th : pool) th.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace ctrnn
