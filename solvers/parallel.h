// Threads over blocks of trials (DESIGN.md §3.7). A batch of B trials is cut into contiguous
// blocks of columns; each block is worked on by one thread and writes only its own outputs, and
// whatever is summed over blocks is summed afterwards in block order. The numbers therefore depend
// on the blocks (their count), never on the threads that ran them or the order they finished in.
#ifndef CTRNN_SOLVERS_PARALLEL_H_
#define CTRNN_SOLVERS_PARALLEL_H_

#include <cstdint>
#include <functional>
#include <vector>

#include <Eigen/Core>

namespace ctrnn {

// Columns [first, first + count) of a batch.
struct TrialBlock {
  Eigen::Index first = 0;
  Eigen::Index count = 0;
};

// `trials` columns cut into min(blocks, trials) contiguous blocks whose sizes differ by at most
// one (the first ones are the larger). blocks < 1 counts as 1.
std::vector<TrialBlock> SplitTrials(Eigen::Index trials, std::int64_t blocks);

// Calls fn(i) for i = 0..n-1 on min(threads, n) threads (the caller's thread is one of them),
// thread t taking i = t, t + threads, ...; returns when all calls have returned. If calls throw,
// the exception of the smallest i is rethrown after every thread has finished. threads < 1
// counts as 1.
void ParallelFor(std::int64_t n, std::int64_t threads, const std::function<void(std::int64_t)>& fn);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_PARALLEL_H_
