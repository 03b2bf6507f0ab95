// Fixed and slow points of a network under a constant input u* (Sussillo & Barak 2013; field
// names and seeding as in Golub & Sussillo's FixedPointFinder), by nonlinear least squares:
//
//   continuous model   minimise q(x) = ½‖f(x, u*)‖²          (f: ContinuousModel::Rhs)
//   discrete map       minimise q(h) = ½‖F(h, u*) − h‖²      (F: DiscreteModel::Step)
//   NM-RNN, frozen s   minimise q(x) = ½‖f_x(x; s, u*)‖²     (NmRnn::XRhsAtS: the x-network alone)
//
// with Ceres' Levenberg–Marquardt from each seed, using the model's analytic Jacobian (∂f/∂x,
// ∂F/∂h − I, or NmRnn::XJacobianAtS). A point whose final q is at most tol_q is a fixed point; one
// with tol_q < q ≤ slow_q_threshold is a slow point; the rest are dropped. Survivors are
// de-duplicated (tol_unique, max-norm), points far from the seeds are excluded (outlier_distance_
// scale), and the Jacobian at each is returned for linearisation (solvers/linearize.h).
//
// Low-rank networks (LowRank, NmRnn) can be searched in the low-dimensional affine subspace that
// holds all their fixed points (options.subspace): x = c + M κ with c = B u* (the input drive) and
// M = L (the left factors), and for the full NM-RNN state M = blockdiag(I_M, L) so that z stays
// free. The residual is still the full f(c + Mκ), the Jacobian J·M, so every point found is a
// fixed point of the full system; only the search has R (or M + R) unknowns instead of N.
//
//   Rng rng(7);
//   Eigen::MatrixXd seeds = SampleStates(trajectory, 256, /*noise_stddev=*/0.01, &rng);
//   FixedPoints fps;
//   FixedPointSummary s = FindFixedPoints(model, u_star, seeds, FixedPointOptions(), &fps);
//   Linearization lin;
//   Linearize(fps.J_xstar, LinearizeOptions(), &lin);
#ifndef CTRNN_SOLVERS_FIXED_POINTS_H_
#define CTRNN_SOLVERS_FIXED_POINTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/batch.h"
#include "lib/model.h"
#include "lib/random.h"

namespace ctrnn {

// How each Levenberg–Marquardt step's linear least-squares problem is solved. Either way a point
// counts as fixed only when the q evaluated at it is ≤ tol_q, so a less accurate step can cost
// iterations but never yields a wrong point.
enum class FixedPointLinearSolver {
  // Cholesky of the normal equations JᵀJ + μD: about 2.6x faster per iteration than QR at
  // N = 100 (bench/bench_fixed_points.cc), but it squares J's condition number.
  kDenseNormalCholesky,
  // Householder QR of the damped Jacobian: accurate steps also where J is badly conditioned
  // (slow manifolds, near line attractors), where it can need fewer iterations.
  kDenseQr,
};

struct FixedPointOptions {
  // A point is a fixed point when q(x*) ≤ tol_q (units of q: state² / time² for a continuous
  // model, state² for a map). Levenberg–Marquardt stops as soon as q ≤ tol_q. > 0. Default 1e-20
  // (FixedPointFinder's Adam defaults to 1e-12; LM reaches 1e-20 in a few more iterations).
  double tol_q = 1e-20;
  // Points with tol_q < q ≤ slow_q_threshold are kept and labelled slow; points above it are
  // dropped (counted in the summary). ≥ tol_q; +inf keeps every point. Default 1e-8
  // (FixedPointFinder's final_q_threshold).
  double slow_q_threshold = 1e-8;
  // Levenberg–Marquardt iterations per seed at most; ≥ 1. Default 200.
  std::int64_t max_iterations = 200;
  // Default kDenseNormalCholesky.
  FixedPointLinearSolver linear_solver = FixedPointLinearSolver::kDenseNormalCholesky;
  // LM also stops when an iteration lowers q by at most this fraction of q (a slow point: a
  // local minimum of q above zero). ≥ 0. Default 1e-12.
  double function_tolerance = 1e-12;
  // Two points are duplicates when they differ by less than tol_unique in every coordinate
  // (FixedPointFinder's tol_unique); the one with the lower q is kept. ≥ 0 (0 keeps all).
  // Default 1e-3.
  double tol_unique = 1e-3;
  // Drop points whose distance from the centroid of the seeds exceeds outlier_distance_scale
  // times the seeds' mean distance from that centroid (FixedPointFinder's
  // do_exclude_distance_outliers and outlier_distance_scale). Defaults true and 10; scale > 0.
  bool exclude_distance_outliers = true;
  double outlier_distance_scale = 10.0;
  // Search in the affine subspace c + span(M) that holds every fixed point of a low-rank network
  // (see above). Only for kinds "low_rank" and "nm_rnn" (throws std::invalid_argument otherwise).
  // Seeds are projected onto the subspace (least squares). Default false.
  bool subspace = false;
  // NM-RNN only: if not empty (R values), search the x-network at this frozen s instead of the
  // full (z, x) system; seeds and points are then x alone (N rows). Default empty.
  Eigen::VectorXd frozen_s;

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

// The points found, one column (or entry) per kept point, ordered by increasing q. Names follow
// FixedPointFinder's FixedPoints (which stores one row per point; the archive does too).
struct FixedPoints {
  Eigen::MatrixXd xstar;   // S x K: the points
  Eigen::MatrixXd x_init;  // S x K: the seed each was found from
  // S x K: f(x*) for a continuous model (the velocity, ≈ 0), F(x*) for a map (≈ x*), as in
  // FixedPointFinder's F_xstar.
  Eigen::MatrixXd F_xstar;
  Eigen::VectorXd qstar;                 // K: q(x*)
  Eigen::VectorXd dq;                    // K: |Δq| of the last LM iteration
  std::vector<std::int64_t> n_iters;     // K: LM iterations taken
  std::vector<bool> is_fixed;            // K: q ≤ tol_q (else a slow point)
  std::vector<Eigen::MatrixXd> J_xstar;  // K matrices S x S: ∂f/∂x (continuous) or ∂F/∂h (map)
  bool discrete = false;                 // J_xstar is the Jacobian of a map
};

struct FixedPointSummary {
  std::int64_t num_seeds = 0;
  std::int64_t num_fixed = 0;         // kept with q ≤ tol_q
  std::int64_t num_slow = 0;          // kept with tol_q < q ≤ slow_q_threshold
  std::int64_t num_above_slow = 0;    // dropped: q > slow_q_threshold (or not finite)
  std::int64_t num_duplicates = 0;    // dropped: within tol_unique of a kept point
  std::int64_t num_outliers = 0;      // dropped: far from the seeds
  std::int64_t total_iterations = 0;  // LM iterations over all seeds
  double max_q = 0.0;                 // largest q among the kept points (0 if none)
  Eigen::Index search_dimension = 0;  // unknowns per seed (S, N, R or M + R)
  std::string message;                // what the search did, in words

  std::int64_t num_kept() const { return num_fixed + num_slow; }
  // At least one point kept.
  bool ok() const { return num_kept() > 0; }
  std::string BriefReport() const;
};

// Searches from every column of initial_states (S x K, S = state_size(), or N with frozen_s) under
// the constant input u (input_size()). Throws std::invalid_argument on wrong sizes, invalid
// options, frozen_s or subspace for a model kind that lacks them; what the search found (including
// nothing) is in the summary. Deterministic: the same inputs give the same points.
FixedPointSummary FindFixedPoints(const Model& model,
                                  const Eigen::VectorXd& u,
                                  const Eigen::MatrixXd& initial_states,
                                  const FixedPointOptions& options,
                                  FixedPoints* out);

// Seeds for FindFixedPoints: `count` states drawn uniformly, with replacement, from the recorded
// (trial, time) pairs of a trajectory (FixedPointFinder's sample_states), each entry plus
// N(0, noise_stddev²) noise from rng. Returns S x count. Throws std::invalid_argument for an empty
// trajectory, count < 1 or noise_stddev < 0.
Eigen::MatrixXd SampleStates(const Trajectory& trajectory,
                             Eigen::Index count,
                             double noise_stddev,
                             Rng* rng);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_FIXED_POINTS_H_
