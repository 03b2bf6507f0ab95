#include "lib/models/nm_rnn.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "lib/models/qr.h"
#include "lib/nonlinearity.h"
#include "lib/random.h"

namespace ctrnn {
namespace {

namespace ei = Eigen::internal;
using Packet = ei::packet_traits<double>::type;
constexpr Eigen::Index kLanes = ei::packet_traits<double>::size;
// Independent accumulator chains per block: with 32 vector registers (AVX-512) four packets of rows
// or four columns, else two.
constexpr int kBlock = kLanes >= 8 ? 4 : 2;

// The products of a step are skinny: N x R times R x B, or sums over N or B of R or M products
// (R, M, U: a few). Eigen's GEMM spends more time packing such operands than multiplying them, so
// three kernels below keep up to 4 x kBlock accumulators in registers and stream the long dimension
// once. Their small operand is a strided view, so that it can be a transpose; columns come as lists
// (`cols` = nullptr: all). Rows past the last whole packet go through one more packet that overlaps
// the one before (lanes masked or discarded): no row is left to scalar code unless a column is
// shorter than a packet. Every sum runs over its terms in a fixed order that depends neither on the
// other columns nor on alignment: a batch gives its trials' results bit for bit, wherever it is
// stored.

// A small read-only matrix with arbitrary strides: v(i, j) = p[i rs + j cs].
struct View {
  const double* p;
  Eigen::Index rows, cols, rs, cs;
  double operator()(Eigen::Index i, Eigen::Index j) const { return p[i * rs + j * cs]; }
};
View Of(ConstMatRef m) { return {m.data(), m.rows(), m.cols(), 1, m.outerStride()}; }
// The transpose of m.
View OfT(ConstMatRef m) { return {m.data(), m.cols(), m.rows(), m.outerStride(), 1}; }

// A small writable matrix with arbitrary strides.
struct Out {
  double* p;
  Eigen::Index rs, cs;
  double& operator()(Eigen::Index i, Eigen::Index j) const { return p[i * rs + j * cs]; }
};
Out To(MatRef m) { return {m.data(), 1, m.outerStride()}; }
// Writes the transpose into m.
Out ToT(MatRef m) { return {m.data(), m.outerStride(), 1}; }

// Lanes first..kLanes-1 set (all bits), the others zero.
Packet LaneMask(Eigen::Index first) {
  return ei::pcmp_le(ei::pset1<Packet>(static_cast<double>(first)), ei::plset<Packet>(0.0));
}

// Stores the lanes keep..kLanes-1 of p at to[keep..] (the others belong to another block).
void StoreLanes(double* to, const Packet& p, Eigen::Index keep) {
  double lanes[kLanes];
  ei::pstoreu(lanes, p);
  for (Eigen::Index l = keep; l < kLanes; ++l) to[l] = lanes[l];
}

// Calls f(std::integral_constant<int, KC>(), k0) for chunks of KC <= 4 columns k0.. covering
// 0..k-1: the kernels hold a chunk's accumulators in registers.
template <typename F>
void ForChunks(Eigen::Index k, F f) {
  Eigen::Index k0 = 0;
  for (; k0 + 4 <= k; k0 += 4) f(std::integral_constant<int, 4>(), k0);
  switch (k - k0) {
    case 3:
      f(std::integral_constant<int, 3>(), k0);
      break;
    case 2:
      f(std::integral_constant<int, 2>(), k0);
      break;
    case 1:
      f(std::integral_constant<int, 1>(), k0);
      break;
    default:
      break;
  }
}

// out(k0 + k, j0 + c) (+)= alpha Σ_i a(i, k0 + k) x(i, j0 + c) for k < KC, c < NC.
template <int KC, int NC>
void AtXBlock(ConstMatRef a,
              Eigen::Index k0,
              ConstMatRef x,
              Eigen::Index j0,
              double alpha,
              bool add,
              const Out& out) {
  const Eigen::Index n = a.rows(), whole = n - n % kLanes;
  const double* ak[KC];
  const double* xc[NC];
  for (int k = 0; k < KC; ++k) ak[k] = a.col(k0 + k).data();
  for (int c = 0; c < NC; ++c) xc[c] = x.col(j0 + c).data();
  Packet acc[NC][KC];
  for (int c = 0; c < NC; ++c) {
    for (int k = 0; k < KC; ++k) acc[c][k] = ei::pset1<Packet>(0.0);
  }
  auto step = [&](Eigen::Index i, const Packet* mask) {
    Packet xi[NC];
    for (int c = 0; c < NC; ++c) {
      xi[c] = ei::ploadu<Packet>(xc[c] + i);
      if (mask != nullptr) xi[c] = ei::pand(xi[c], *mask);
    }
    for (int k = 0; k < KC; ++k) {
      Packet ai = ei::ploadu<Packet>(ak[k] + i);
      if (mask != nullptr) ai = ei::pand(ai, *mask);
      for (int c = 0; c < NC; ++c) acc[c][k] = ei::pmadd(ai, xi[c], acc[c][k]);
    }
  };
  for (Eigen::Index i = 0; i < whole; i += kLanes) step(i, nullptr);
  const bool overlap = whole < n && n >= kLanes;
  if (overlap) {
    // Masked on both sides: the lanes already summed contribute exactly 0, even next to Inf.
    const Packet mask = LaneMask(whole - (n - kLanes));
    step(n - kLanes, &mask);
  }
  for (int c = 0; c < NC; ++c) {
    for (int k = 0; k < KC; ++k) {
      double sum = ei::predux(acc[c][k]);
      if (!overlap) {
        for (Eigen::Index i = whole; i < n; ++i) sum += ak[k][i] * xc[c][i];
      }
      double& o = out(k0 + k, j0 + c);
      o = add ? o + alpha * sum : alpha * sum;
    }
  }
}

template <int KC>
void AtXChunk(
    ConstMatRef a, Eigen::Index k0, ConstMatRef x, double alpha, bool add, const Out& out) {
  Eigen::Index j = 0;
  for (; j + kBlock <= x.cols(); j += kBlock) AtXBlock<KC, kBlock>(a, k0, x, j, alpha, add, out);
  for (; j < x.cols(); ++j) AtXBlock<KC, 1>(a, k0, x, j, alpha, add, out);
}

// out (+)= alpha aᵀ x  (a: L x K, x: L x C, out: K x C, or C x K through ToT).
void AtX(ConstMatRef a, ConstMatRef x, double alpha, bool add, const Out& out) {
  ForChunks(a.cols(), [&](auto kc, Eigen::Index k0) {
    AtXChunk<decltype(kc)::value>(a, k0, x, alpha, add, out);
  });
}

// g(i.., k0 + k) += Σ_{j in cols} x(i.., j) y(k0 + k, j), k < KC, for the NP packets of rows from
// i; only lanes keep.. of a single packet (NP = 1) are stored when keep > 0.
template <int KC, int NP>
void AddXYtRows(ConstMatRef x,
                const View& y,
                const Eigen::Index* cols,
                Eigen::Index ncols,
                Eigen::Index k0,
                Eigen::Index i,
                Eigen::Index keep,
                MatRef g) {
  Packet acc[NP][KC];
  for (int k = 0; k < KC; ++k) {
    for (int p = 0; p < NP; ++p) {
      acc[p][k] = ei::ploadu<Packet>(g.col(k0 + k).data() + i + p * kLanes);
    }
  }
  for (Eigen::Index jj = 0; jj < ncols; ++jj) {
    const Eigen::Index j = cols == nullptr ? jj : cols[jj];
    const double* xj = x.col(j).data() + i;
    Packet xi[NP];
    for (int p = 0; p < NP; ++p) xi[p] = ei::ploadu<Packet>(xj + p * kLanes);
    for (int k = 0; k < KC; ++k) {
      const Packet b = ei::pset1<Packet>(y(k0 + k, j));
      for (int p = 0; p < NP; ++p) acc[p][k] = ei::pmadd(xi[p], b, acc[p][k]);
    }
  }
  for (int k = 0; k < KC; ++k) {
    for (int p = 0; p < NP; ++p) {
      double* to = g.col(k0 + k).data() + i + p * kLanes;
      if (keep > 0) {
        StoreLanes(to, acc[p][k], keep);
      } else {
        ei::pstoreu(to, acc[p][k]);
      }
    }
  }
}

template <int KC>
void AddXYtChunk(ConstMatRef x,
                 const View& y,
                 const Eigen::Index* cols,
                 Eigen::Index ncols,
                 Eigen::Index k0,
                 MatRef g) {
  const Eigen::Index n = x.rows(), whole = n - n % kLanes;
  Eigen::Index i = 0;
  for (; i + kBlock * kLanes <= whole; i += kBlock * kLanes) {
    AddXYtRows<KC, kBlock>(x, y, cols, ncols, k0, i, 0, g);
  }
  for (; i < whole; i += kLanes) AddXYtRows<KC, 1>(x, y, cols, ncols, k0, i, 0, g);
  if (whole == n) return;
  if (n >= kLanes) {
    // The rows before `whole` are done: keep only the lanes past them.
    AddXYtRows<KC, 1>(x, y, cols, ncols, k0, n - kLanes, whole - (n - kLanes), g);
    return;
  }
  for (i = 0; i < n; ++i) {
    for (int k = 0; k < KC; ++k) {
      double sum = g(i, k0 + k);
      for (Eigen::Index jj = 0; jj < ncols; ++jj) {
        const Eigen::Index j = cols == nullptr ? jj : cols[jj];
        sum += x(i, j) * y(k0 + k, j);
      }
      g(i, k0 + k) = sum;
    }
  }
}

// g += x yᵀ over the columns `cols` of x and y  (x: L x C, y: K x C, g: L x K).
void AddXYt(ConstMatRef x, const View& y, const Eigen::Index* cols, Eigen::Index ncols, MatRef g) {
  ForChunks(y.rows, [&](auto kc, Eigen::Index k0) {
    AddXYtChunk<decltype(kc)::value>(x, y, cols, ncols, k0, g);
  });
}
void AddXYt(ConstMatRef x, const View& y, MatRef g) { AddXYt(x, y, nullptr, x.cols(), g); }

// out(:, j) (+)= Σ_{k < KC} a(:, k0 + k) y(k0 + k, j) for the columns `cols`; `add` = false
// overwrites.
template <int KC>
void AYChunk(ConstMatRef a,
             Eigen::Index k0,
             const View& y,
             const Eigen::Index* cols,
             Eigen::Index ncols,
             bool add,
             MatRef out) {
  const Eigen::Index n = a.rows(), whole = n - n % kLanes;
  const double* ak[KC];
  for (int k = 0; k < KC; ++k) ak[k] = a.col(k0 + k).data();
  for (Eigen::Index jj = 0; jj < ncols; ++jj) {
    const Eigen::Index j = cols == nullptr ? jj : cols[jj];
    double* oj = out.col(j).data();
    Packet b[KC];
    for (int k = 0; k < KC; ++k) b[k] = ei::pset1<Packet>(y(k0 + k, j));
    auto at = [&](Eigen::Index i) {
      Packet acc = add ? ei::ploadu<Packet>(oj + i) : ei::pset1<Packet>(0.0);
      for (int k = 0; k < KC; ++k) acc = ei::pmadd(ei::ploadu<Packet>(ak[k] + i), b[k], acc);
      return acc;
    };
    for (Eigen::Index i = 0; i < whole; i += kLanes) ei::pstoreu(oj + i, at(i));
    if (whole == n) continue;
    if (n >= kLanes) {
      // The rows before `whole` were just written: keep only the lanes past them.
      StoreLanes(oj + n - kLanes, at(n - kLanes), whole - (n - kLanes));
      continue;
    }
    for (Eigen::Index i = 0; i < n; ++i) {
      double sum = add ? oj[i] : 0.0;
      for (int k = 0; k < KC; ++k) sum += ak[k][i] * y(k0 + k, j);
      oj[i] = sum;
    }
  }
}

// out (+)= a y over the columns `cols`  (a: L x K, y: K x C, out: L x C).
void AY(ConstMatRef a,
        const View& y,
        const Eigen::Index* cols,
        Eigen::Index ncols,
        bool add,
        MatRef out) {
  if (a.cols() == 0 && !add) out.setZero();
  ForChunks(a.cols(), [&](auto kc, Eigen::Index k0) {
    AYChunk<decltype(kc)::value>(a, k0, y, cols, ncols, add || k0 > 0, out);
  });
}
void AY(ConstMatRef a, const View& y, bool add, MatRef out) { AY(a, y, nullptr, y.cols, add, out); }

// The trials whose input column is not all zero (pulse inputs leave most of them zero in a bin;
// skipping the others in B_x u and its gradient changes nothing).
void NonzeroColumns(ConstMatRef u, std::vector<Eigen::Index>* cols) {
  cols->clear();
  for (Eigen::Index j = 0; j < u.cols(); ++j) {
    if (!(u.col(j).array() == 0.0).all()) cols->push_back(j);
  }
}

// g_u += Ā for the gradient l_bar with respect to Q (thin QR, lib/models/qr.h, allocation-free):
// M = −L̄ᵀQ, C = copyltu(M), Ā = (L̄ + Q C) R^{-T}. Overwrites l_bar and m.
void AddQrBackward(ConstMatRef q, ConstMatRef r, MatRef l_bar, MatRef m, MatRef g_u) {
  AtX(l_bar, q, -1.0, /*add=*/false, To(m));
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index j = i + 1; j < m.cols(); ++j) m(i, j) = m(j, i);
  }
  AY(q, Of(m), /*add=*/true, l_bar);
  // X Rᵀ = B with R upper triangular: column j of B is R(j, j) X(:, j) + Σ_{k>j} R(j, k) X(:, k).
  for (Eigen::Index j = r.rows() - 1; j >= 0; --j) {
    for (Eigen::Index k = j + 1; k < r.cols(); ++k) l_bar.col(j) -= r(j, k) * l_bar.col(k);
    l_bar.col(j) /= r(j, j);
  }
  g_u += l_bar;
}

}  // namespace

// The per-thread scratch. Quantities of size M or R per trial are kept batch-major (B x M, B x R:
// suffix _t), so that their products and elementwise maps run along the B trials in whole packets.
struct NmRnn::Work {
  // φ(x), φ'(x): N x B, the top rows of buffers whose columns are padded to whole packets, so
  // that the kernels load them aligned.
  Eigen::MatrixXd phi_buf, phi_slope_buf;
  Eigen::Index n = 0;
  Eigen::Block<Eigen::MatrixXd> phi() { return phi_buf.topRows(n); }
  Eigen::Block<Eigen::MatrixXd> phi_slope() { return phi_slope_buf.topRows(n); }
  // zᵀ, uᵀ, tanh(z)ᵀ, (1 − tanh(z)²)ᵀ, the z drive (W_z a + B_z u [+ W_zx φ + b_zx])ᵀ and zᵀ after
  // its Euler update: B x M (uᵀ: B x U).
  Eigen::MatrixXd z_t, u_t, a_t, a_slope_t, z_drive_t, z_next_t;
  // s = σ(A_z z + b_z), h = V_effᵀ φ, w = g s ⊙ h, e = c Lᵀλ, h̄ = g s ⊙ e, and p, the adjoint of
  // A_z z + b_z, all transposed: B x R.
  Eigen::MatrixXd s_t, h_t, w_t, e_t, h_bar_t, p_t;
  // Adjoints of z', of the z drive and of z, transposed: B x M.
  Eigen::MatrixXd lz_t, rz_t, lam_z_t;
  // c u_x (Ux x B); L̄ of one call (N x R) and the QR backward's R x R matrix.
  Eigen::MatrixXd cu, l_bar, qr_m;
  // Feedback: W_zxᵀ r (N x B) and W̄_zxᵀ (N x M); the readout's C̄ᵀ (N x O).
  Eigen::MatrixXd fb, g_zx_t, g_c_t;
  // The trials with a nonzero x input in the current bin.
  std::vector<Eigen::Index> u_cols;
};

NmRnn::Work& NmRnn::Scratch() {
  static thread_local Work work;
  return work;
}

NmRnn::NmRnn(const NmRnnOptions& options) : opt_(options) {
  const Eigen::Index n = opt_.num_neurons, m = opt_.num_nm, r = opt_.rank;
  const Eigen::Index u = opt_.input_size, o = opt_.output_size;
  if (n < 1 || m < 1 || r < 1 || u < 1 || o < 1) {
    throw std::invalid_argument("nm_rnn: N, M, R, input_size and output_size must be positive");
  }
  if (r > n) {
    throw std::invalid_argument("nm_rnn: R = " + std::to_string(r) +
                                " exceeds N = " + std::to_string(n));
  }
  if (opt_.x_input_size < 1 || opt_.x_input_size > u) {
    throw std::invalid_argument("nm_rnn: x_input_size = " + std::to_string(opt_.x_input_size) +
                                " must lie in [1, input_size = " + std::to_string(u) + "]");
  }
  for (const auto& [k, value] : opt_.clamped_s) {
    if (k < 0 || k >= r || !(value >= 0.0 && value <= 1.0)) {
      throw std::invalid_argument(
          "nm_rnn: clamped_s (" + std::to_string(k) + ", " + std::to_string(value) +
          ") needs 0 <= k < R = " + std::to_string(r) + " and a value in [0, 1]");
    }
  }
  u_off_ = layout_.Add("U", {n, r}, "left factors before orthonormalisation (row_factors)");
  if (!opt_.linear_symmetric) v_off_ = layout_.Add("V", {n, r}, "right factors (column_factors)");
  bx_off_ = layout_.Add("B_x", {n, opt_.x_input_size}, "input weights of x (input_weights)");
  c_off_ = layout_.Add("C", {o, n}, "readout weights (readout_weights)");
  if (opt_.readout_bias) d_off_ = layout_.Add("d", {o}, "readout bias (readout_bias)");
  wz_off_ = layout_.Add("W_z", {m, m}, "neuromodulatory recurrence (nm_rec_weight)");
  bz_off_ = layout_.Add("B_z", {m, u}, "neuromodulatory input weights (nm_input_weight)");
  az_off_ = layout_.Add("A_z", {r, m}, "z -> s weights (nm_sigmoid_weight)");
  b_off_ = layout_.Add("b_z", {r}, "z -> s bias (nm_sigmoid_intercept)");
  if (opt_.feedback) {
    wzx_off_ = layout_.Add("W_zx", {m, n}, "x -> z feedback weights");
    bzx_off_ = layout_.Add("b_zx", {m}, "x -> z feedback bias");
  }
  FinishLayout();
  BlockView(layout_.Find("U"), &theta_).setIdentity();
  if (!opt_.linear_symmetric) BlockView(layout_.Find("V"), &theta_).setIdentity();
  x0_.resize(m + n);
  x0_.head(m).setConstant(opt_.z0);
  x0_.tail(n).setConstant(opt_.x0);
  g_ = opt_.scale_by_n ? 1.0 / static_cast<double>(n) : 1.0;
  Refresh();
}

std::unique_ptr<Model> NmRnn::FromConfig(Config* c, std::uint64_t seed) {
  NmRnnOptions o;
  o.num_neurons = c->GetInt("N", 100, 1, 100000);
  o.num_nm = c->GetInt("M", 5, 1, 100000);
  o.rank = c->GetInt("R", 3, 1, o.num_neurons);
  o.input_size = c->GetInt("input_size", 3, 1, 100000);
  o.x_input_size = c->GetInt("x_input_size", o.input_size, 1, o.input_size);
  o.output_size = c->GetInt("output_size", 1, 1, 100000);
  o.tau_x = c->GetDouble("tau_x", 10.0, 1e-9, 1e12);
  o.tau_z = c->GetDouble("tau_z", 100.0, 1e-9, 1e12);
  o.orthonormalize_u = c->GetBool("orthonormalize_U", true);
  o.scale_by_n = c->GetBool("scale_by_N", false);
  o.feedback = c->GetBool("feedback", false);
  o.linear_symmetric = c->GetBool("linear_symmetric", false);
  o.readout_bias = c->GetBool("readout_bias", true);
  o.init = c->GetString("init", "nmrnn", {"nmrnn", "eft"});
  o.random_initial_state =
      c->GetString("initial_state", "constant", {"constant", "random"}) == "random";
  o.x0 = c->GetDouble("x0", 0.1, -1e6, 1e6);
  o.z0 = c->GetDouble("z0", 0.1, -1e6, 1e6);
  o.sequential_euler =
      c->GetString("euler_order", "sequential", {"sequential", "simultaneous"}) == "sequential";
  auto model = std::make_unique<NmRnn>(o);
  model->Initialize(seed);
  return model;
}

void NmRnn::Initialize(std::uint64_t seed) {
  Rng rng(seed);
  const Eigen::Index n = opt_.num_neurons, m = opt_.num_nm, r = opt_.rank;
  const Eigen::Index u = opt_.input_size, o = opt_.output_size;
  auto inv_sqrt = [](Eigen::Index k) { return 1.0 / std::sqrt(static_cast<double>(k)); };
  const bool eft = opt_.init == "eft";
  auto set = [&](const char* name, const Eigen::MatrixXd& value) {
    BlockView(layout_.Find(name), &theta_) = value;
  };
  set("U", rng.NormalMatrix(n, r, eft ? inv_sqrt(r) : 1.0));
  if (!opt_.linear_symmetric) set("V", rng.NormalMatrix(n, r, eft ? inv_sqrt(r) : 1.0));
  // The authors draw B_x for all inputs and crop it to the x inputs (multitask form, §1.3).
  set("B_x", rng.NormalMatrix(n, u, inv_sqrt(u)).leftCols(opt_.x_input_size));
  set("C", rng.NormalMatrix(o, n, inv_sqrt(n)));
  if (opt_.readout_bias) set("d", rng.NormalMatrix(o, 1, inv_sqrt(n)));
  set("W_z", rng.NormalMatrix(m, m, eft ? inv_sqrt(m) : 0.1));
  set("B_z", rng.NormalMatrix(m, u, inv_sqrt(u)));
  set("A_z", rng.NormalMatrix(r, m, eft ? inv_sqrt(m) : 0.1));
  set("b_z", rng.NormalMatrix(r, 1, eft ? inv_sqrt(r) : 0.1));
  if (opt_.feedback) {
    set("W_zx", rng.NormalMatrix(m, n, eft ? inv_sqrt(n) : 0.1 * inv_sqrt(n)));
    set("b_zx", eft ? rng.NormalMatrix(m, 1, inv_sqrt(m)) : Eigen::MatrixXd::Zero(m, 1));
  }
  if (opt_.random_initial_state) {
    x0_.head(m) = rng.NormalMatrix(m, 1, inv_sqrt(m));
    x0_.tail(n) = rng.NormalMatrix(n, 1, inv_sqrt(n));
  }
  Refresh();
}

std::vector<StateBlock> NmRnn::state_blocks() const {
  return {{"z", 0, opt_.num_nm}, {"x", opt_.num_nm, opt_.num_neurons}};
}

Attributes NmRnn::hyperparameters() const {
  return {{"N", opt_.num_neurons},
          {"M", opt_.num_nm},
          {"R", opt_.rank},
          {"input_size", opt_.input_size},
          {"x_input_size", opt_.x_input_size},
          {"output_size", opt_.output_size},
          {"tau_x", opt_.tau_x},
          {"tau_z", opt_.tau_z},
          {"orthonormalize_U", std::int64_t{opt_.orthonormalize_u}},
          {"scale_by_N", std::int64_t{opt_.scale_by_n}},
          {"feedback", std::int64_t{opt_.feedback}},
          {"linear_symmetric", std::int64_t{opt_.linear_symmetric}},
          {"euler_order", std::string(opt_.sequential_euler ? "sequential" : "simultaneous")}};
}

void NmRnn::Refresh() {
  const auto u = BlockView(layout_.Find("U"), theta_);
  if (opt_.orthonormalize_u) {
    ThinQr(u, &l_, &r_qr_);
  } else {
    l_ = u;
  }
  if (!opt_.linear_symmetric) v_ = BlockView(layout_.Find("V"), theta_);
  const Eigen::Index n = opt_.num_neurons, m = opt_.num_nm, r = opt_.rank;
  w_z_t_ = Block(wz_off_, m, m).transpose();
  b_z_t_ = Block(bz_off_, m, opt_.input_size).transpose();
  a_z_t_ = Block(az_off_, r, m).transpose();
  if (opt_.feedback) w_zx_t_ = Block(wzx_off_, m, n).transpose();
  c_t_ = Block(c_off_, opt_.output_size, n).transpose();
  const Eigen::Index padded = (n + kLanes - 1) / kLanes * kLanes;
  l_padded_.setZero(padded, r);
  l_padded_.topRows(n) = l_;
  if (!opt_.linear_symmetric) {
    v_padded_.setZero(padded, r);
    v_padded_.topRows(n) = v_;
  }
}

void NmRnn::XPieces(ConstMatRef x, bool slope, Work* w) const {
  const Eigen::Index padded = (x.rows() + kLanes - 1) / kLanes * kLanes;
  w->n = x.rows();
  w->phi_buf.resize(padded, x.cols());
  if (opt_.linear_symmetric) {
    w->phi() = x;
    if (slope) {
      w->phi_slope_buf.resize(padded, x.cols());
      w->phi_slope().setOnes();
    }
  } else if (slope) {
    w->phi_slope_buf.resize(padded, x.cols());
    ApplyWithDerivative(Nonlinearity::kTanh, x, w->phi(), w->phi_slope());
  } else {
    Apply(Nonlinearity::kTanh, x, w->phi());
  }
  w->h_t.resize(x.cols(), opt_.rank);
  AtX(VEffAligned(), w->phi(), 1.0, /*add=*/false, ToT(w->h_t));
}

void NmRnn::ZPieces(ConstMatRef z, ConstMatRef u, bool slope, Work* w) const {
  const Eigen::Index m = opt_.num_nm;
  w->z_t = z.transpose();
  w->u_t = u.transpose();
  w->a_t.resize(z.cols(), m);
  if (slope) {
    w->a_slope_t.resize(z.cols(), m);
    ApplyWithDerivative(Nonlinearity::kTanh, w->z_t, w->a_t, w->a_slope_t);
  } else {
    Apply(Nonlinearity::kTanh, w->z_t, w->a_t);
  }
  w->z_drive_t.resize(z.cols(), m);
  AY(w->a_t, Of(w_z_t_), /*add=*/false, w->z_drive_t);
  AY(w->u_t, Of(b_z_t_), /*add=*/true, w->z_drive_t);
  if (opt_.feedback) {
    AtX(w->phi(), w_zx_t_, 1.0, /*add=*/true, To(w->z_drive_t));  // (W_zx φ)ᵀ
    w->z_drive_t.rowwise() += theta_.segment(bzx_off_, m).transpose();
  }
}

void NmRnn::Gates(ConstMatRef z_t, Work* w) const {
  w->s_t.resize(z_t.rows(), opt_.rank);
  AY(z_t, Of(a_z_t_), /*add=*/false, w->s_t);
  w->s_t.rowwise() += theta_.segment(b_off_, opt_.rank).transpose();
  Apply(Nonlinearity::kSigmoid, w->s_t, w->s_t);
  for (const auto& [k, value] : opt_.clamped_s) w->s_t.col(k).setConstant(value);
}

void NmRnn::XDrive(ConstMatRef u, Work* w, MatRef drive) const {
  w->w_t = g_ * w->s_t.cwiseProduct(w->h_t);
  AY(LAligned(), OfT(w->w_t), /*add=*/false, drive);
  const auto u_x = u.topRows(opt_.x_input_size);
  NonzeroColumns(u_x, &w->u_cols);
  AY(Block(bx_off_, opt_.num_neurons, opt_.x_input_size),
     Of(u_x),
     w->u_cols.data(),
     static_cast<Eigen::Index>(w->u_cols.size()),
     /*add=*/true,
     drive);
}

void NmRnn::Rhs(ConstMatRef state, ConstMatRef u, MatRef dxdt) const {
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons;
  const auto x = state.bottomRows(n);
  Work& w = Scratch();
  XPieces(x, false, &w);
  ZPieces(state.topRows(m), u, false, &w);
  Gates(w.z_t, &w);
  dxdt.topRows(m) = ((w.z_drive_t - w.z_t) / opt_.tau_z).transpose();
  auto dx = dxdt.bottomRows(n);
  XDrive(u, &w, dx);
  dx = (dx - x) / opt_.tau_x;
}

void NmRnn::EulerStep(ConstMatRef state, ConstMatRef u, double dt, MatRef next) const {
  if (!opt_.sequential_euler) {
    ContinuousModel::EulerStep(state, u, dt, next);
    return;
  }
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons;
  const auto x = state.bottomRows(n);
  Work& w = Scratch();
  XPieces(x, false, &w);
  ZPieces(state.topRows(m), u, false, &w);
  w.z_next_t = w.z_t + (dt / opt_.tau_z) * (w.z_drive_t - w.z_t);
  next.topRows(m) = w.z_next_t.transpose();
  Gates(w.z_next_t, &w);  // s from the updated z, as the authors' scan does
  auto x_next = next.bottomRows(n);
  XDrive(u, &w, x_next);
  x_next = x + (dt / opt_.tau_x) * (x_next - x);
}

void NmRnn::PullBackX(ConstMatRef u,
                      ConstMatRef lambda,
                      double c,
                      bool identity,
                      Work* w,
                      MatRef lambda_x,
                      VecRef g_theta) const {
  // Adjoint q = c λ on the x drive D = L w + B_x u_x, w = g s ⊙ h, h = V_effᵀ φ(x); c is folded
  // into the R x B and U x B factors so that q is never formed.
  const Eigen::Index n = opt_.num_neurons, r = opt_.rank, ux = opt_.x_input_size;
  w->e_t.resize(lambda.cols(), r);
  AtX(LAligned(), lambda, c, /*add=*/false, ToT(w->e_t));  // e = Lᵀ q
  w->h_bar_t = g_ * w->s_t.cwiseProduct(w->e_t);
  // s̄ = g h ⊙ e, then through the sigmoid.
  w->p_t = (g_ * w->h_t.cwiseProduct(w->e_t)).cwiseProduct(w->s_t - w->s_t.cwiseProduct(w->s_t));
  for (const auto& clamp : opt_.clamped_s) w->p_t.col(clamp.first).setZero();  // s_k constant
  // L̄ = q wᵀ (+ φ h̄ᵀ when V = L), V̄ = φ h̄ᵀ.
  w->w_t = (c * g_) * w->s_t.cwiseProduct(w->h_t);
  Eigen::Map<Eigen::MatrixXd> gu(g_theta.data() + u_off_, n, r);
  if (opt_.orthonormalize_u) {
    w->l_bar.setZero(n, r);
    AddXYt(lambda, OfT(w->w_t), w->l_bar);
    if (opt_.linear_symmetric) AddXYt(w->phi(), OfT(w->h_bar_t), w->l_bar);
    w->qr_m.resize(r, r);
    AddQrBackward(l_, r_qr_, w->l_bar, w->qr_m, gu);
  } else {
    AddXYt(lambda, OfT(w->w_t), gu);
    if (opt_.linear_symmetric) AddXYt(w->phi(), OfT(w->h_bar_t), gu);
  }
  if (!opt_.linear_symmetric) {
    AddXYt(w->phi(), OfT(w->h_bar_t), Eigen::Map<Eigen::MatrixXd>(g_theta.data() + v_off_, n, r));
  }
  const auto u_x = u.topRows(ux);
  NonzeroColumns(u_x, &w->u_cols);
  if (!w->u_cols.empty()) {
    w->cu = c * u_x;
    AddXYt(lambda,
           Of(w->cu),
           w->u_cols.data(),
           static_cast<Eigen::Index>(w->u_cols.size()),
           Eigen::Map<Eigen::MatrixXd>(g_theta.data() + bx_off_, n, ux));
  }
  // λ_x = (V_eff h̄) ⊙ φ'(x) − q (+ λ for the Euler step's identity).
  AY(VEffAligned(), OfT(w->h_bar_t), /*add=*/false, lambda_x);
  if (identity) {
    lambda_x = lambda_x.cwiseProduct(w->phi_slope()) + (lambda - c * lambda);
  } else {
    lambda_x = lambda_x.cwiseProduct(w->phi_slope()) - c * lambda;
  }
}

void NmRnn::PullBackZ(Work* w, MatRef lambda_x, VecRef g_theta) const {
  // Adjoint r = w->rz_t (transposed) on the z drive W_z tanh(z) + B_z u [+ W_zx φ(x) + b_zx]:
  // lam_z_t = ((W_zᵀ r) ⊙ tanh'(z))ᵀ.
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons;
  const Eigen::MatrixXd& r_t = w->rz_t;
  w->lam_z_t.resize(r_t.rows(), m);
  AY(r_t, Of(Block(wz_off_, m, m)), /*add=*/false, w->lam_z_t);
  w->lam_z_t = w->lam_z_t.cwiseProduct(w->a_slope_t);
  AtX(r_t,
      w->a_t,
      1.0,
      /*add=*/true,
      To(Eigen::Map<Eigen::MatrixXd>(g_theta.data() + wz_off_, m, m)));
  AtX(r_t,
      w->u_t,
      1.0,
      /*add=*/true,
      To(Eigen::Map<Eigen::MatrixXd>(g_theta.data() + bz_off_, m, opt_.input_size)));
  if (opt_.feedback) {
    w->g_zx_t.setZero(n, m);
    AddXYt(w->phi(), OfT(r_t), w->g_zx_t);
    Eigen::Map<Eigen::MatrixXd>(g_theta.data() + wzx_off_, m, n) += w->g_zx_t.transpose();
    g_theta.segment(bzx_off_, m) += r_t.colwise().sum().transpose();
    // λ_x += (W_zxᵀ r) ⊙ φ'(x).
    w->fb.resize(n, r_t.rows());
    AY(w_zx_t_, OfT(r_t), /*add=*/false, w->fb);
    lambda_x += w->fb.cwiseProduct(w->phi_slope());
  }
}

void NmRnn::Vjp(
    ConstMatRef state, ConstMatRef u, ConstMatRef lambda, MatRef lambda_out, VecRef g_theta) const {
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons, r = opt_.rank;
  Work& w = Scratch();
  XPieces(state.bottomRows(n), true, &w);
  ZPieces(state.topRows(m), u, true, &w);
  Gates(w.z_t, &w);
  auto lambda_x = lambda_out.bottomRows(n);
  PullBackX(u, lambda.bottomRows(n), 1.0 / opt_.tau_x, /*identity=*/false, &w, lambda_x, g_theta);
  AtX(w.p_t,
      w.z_t,
      1.0,
      /*add=*/true,
      To(Eigen::Map<Eigen::MatrixXd>(g_theta.data() + az_off_, r, m)));
  g_theta.segment(b_off_, r) += w.p_t.colwise().sum().transpose();
  w.rz_t = lambda.topRows(m).transpose() / opt_.tau_z;
  PullBackZ(&w, lambda_x, g_theta);
  w.lam_z_t -= w.rz_t;
  w.lz_t.resize(w.p_t.rows(), m);
  AY(w.p_t, Of(Block(az_off_, r, m)), /*add=*/false, w.lz_t);  // (A_zᵀ p)ᵀ
  w.lam_z_t += w.lz_t;
  lambda_out.topRows(m) = w.lam_z_t.transpose();
}

void NmRnn::EulerStepVjp(ConstMatRef state,
                         ConstMatRef u,
                         double dt,
                         ConstMatRef lambda_next,
                         MatRef lambda,
                         VecRef g_theta) const {
  if (!opt_.sequential_euler) {
    ContinuousModel::EulerStepVjp(state, u, dt, lambda_next, lambda, g_theta);
    return;
  }
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons, r = opt_.rank;
  Work& w = Scratch();
  XPieces(state.bottomRows(n), true, &w);
  ZPieces(state.topRows(m), u, true, &w);
  w.z_next_t = w.z_t + (dt / opt_.tau_z) * (w.z_drive_t - w.z_t);
  Gates(w.z_next_t, &w);
  // x step: x' = x + (dt/τx)(drive_x − x), with s = s(z').
  auto lambda_x = lambda.bottomRows(n);
  PullBackX(
      u, lambda_next.bottomRows(n), dt / opt_.tau_x, /*identity=*/true, &w, lambda_x, g_theta);
  AtX(w.p_t,
      w.z_next_t,
      1.0,
      /*add=*/true,
      To(Eigen::Map<Eigen::MatrixXd>(g_theta.data() + az_off_, r, m)));
  g_theta.segment(b_off_, r) += w.p_t.colwise().sum().transpose();
  w.lz_t.resize(w.p_t.rows(), m);
  AY(w.p_t, Of(Block(az_off_, r, m)), /*add=*/false, w.lz_t);  // (A_zᵀ p)ᵀ
  w.lz_t += lambda_next.topRows(m).transpose();
  // z step: z' = z + (dt/τz)(drive_z − z).
  w.rz_t = (dt / opt_.tau_z) * w.lz_t;
  PullBackZ(&w, lambda_x, g_theta);
  lambda.topRows(m) = (w.lam_z_t + (w.lz_t - w.rz_t)).transpose();
}

Eigen::MatrixXd NmRnn::Jacobian(ConstVecRef state, ConstVecRef u) const {
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons, r = opt_.rank;
  Work w;  // one trial: its own scratch, so that the batch scratch keeps its shapes
  XPieces(state.tail(n), true, &w);
  ZPieces(state.head(m), u, true, &w);
  Gates(w.z_t, &w);
  Eigen::MatrixXd jac = Eigen::MatrixXd::Zero(m + n, m + n);
  jac.topLeftCorner(m, m) = Block(wz_off_, m, m) * w.a_slope_t.row(0).asDiagonal();
  jac.topLeftCorner(m, m).diagonal().array() -= 1.0;
  if (opt_.feedback) {
    jac.topRightCorner(m, n) = Block(wzx_off_, m, n) * w.phi_slope().col(0).asDiagonal();
  }
  jac.topRows(m) /= opt_.tau_z;
  const Eigen::VectorXd s = w.s_t.row(0).transpose();
  Eigen::VectorXd ds = (w.h_t.row(0).transpose().array() * s.array() * (1.0 - s.array())).matrix();
  for (const auto& clamp : opt_.clamped_s) ds(clamp.first) = 0.0;  // s_k constant
  jac.bottomLeftCorner(n, m) = g_ * l_ * ds.asDiagonal() * Block(az_off_, r, m);
  jac.bottomRightCorner(n, n) =
      g_ * l_ * s.asDiagonal() * VEff().transpose() * w.phi_slope().col(0).asDiagonal();
  jac.bottomRightCorner(n, n).diagonal().array() -= 1.0;
  jac.bottomRows(n) /= opt_.tau_x;
  return jac;
}

namespace {

void CheckSize(const char* function, const char* what, Eigen::Index got, Eigen::Index want) {
  if (got != want) {
    throw std::invalid_argument(std::string("nm_rnn: ") + function + ": " + what + " has " +
                                std::to_string(got) + " entries, expected " + std::to_string(want));
  }
}

}  // namespace

Eigen::VectorXd NmRnn::XInputDrive(ConstVecRef u) const {
  CheckSize("XInputDrive", "u", u.size(), opt_.input_size);
  return Block(bx_off_, opt_.num_neurons, opt_.x_input_size) * u.head(opt_.x_input_size);
}

// One state, plain Eigen: analysis calls these a few hundred times, not in a time loop.
Eigen::VectorXd NmRnn::XRhsAtS(ConstVecRef x, ConstVecRef s, ConstVecRef u) const {
  CheckSize("XRhsAtS", "x", x.size(), opt_.num_neurons);
  CheckSize("XRhsAtS", "s", s.size(), opt_.rank);
  const Eigen::VectorXd phi =
      opt_.linear_symmetric ? Eigen::VectorXd(x) : Eigen::VectorXd(x.array().tanh().matrix());
  const Eigen::VectorXd h = VEff().transpose() * phi;
  Eigen::VectorXd dx = g_ * (l_ * s.cwiseProduct(h)) + XInputDrive(u);
  return (dx - x) / opt_.tau_x;
}

Eigen::MatrixXd NmRnn::XJacobianAtS(ConstVecRef x, ConstVecRef s, ConstVecRef u) const {
  CheckSize("XJacobianAtS", "x", x.size(), opt_.num_neurons);
  CheckSize("XJacobianAtS", "s", s.size(), opt_.rank);
  CheckSize("XJacobianAtS", "u", u.size(), opt_.input_size);
  Eigen::VectorXd slope = Eigen::VectorXd::Ones(x.size());
  if (!opt_.linear_symmetric) slope = (1.0 - x.array().tanh().square()).matrix();
  Eigen::MatrixXd jac = g_ * (l_ * s.asDiagonal()) * (VEff().transpose() * slope.asDiagonal());
  jac.diagonal().array() -= 1.0;
  return jac / opt_.tau_x;
}

void NmRnn::Readout(ConstMatRef state, MatRef y) const {
  AtX(c_t_, state.bottomRows(opt_.num_neurons), 1.0, /*add=*/false, To(y));  // C x
  if (opt_.readout_bias) y.colwise() += theta_.segment(d_off_, opt_.output_size);
}

void NmRnn::ReadoutVjp(ConstMatRef state, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const {
  const Eigen::Index n = opt_.num_neurons, o = opt_.output_size;
  AY(c_t_, Of(ybar), /*add=*/true, xbar.bottomRows(n));  // x̄ += Cᵀ ȳ
  // C̄ += ȳ xᵀ, formed transposed (N x O: columns along the neurons).
  Work& w = Scratch();
  w.g_c_t.setZero(n, o);
  AddXYt(state.bottomRows(n), Of(ybar), w.g_c_t);
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + c_off_, o, n) += w.g_c_t.transpose();
  if (opt_.readout_bias) g_theta.segment(d_off_, o) += ybar.rowwise().sum();
}

void NmRnn::Extras(ConstMatRef state,
                   ConstMatRef /*u*/,
                   std::vector<Eigen::MatrixXd>* extras) const {
  Work w;
  w.z_t = state.topRows(opt_.num_nm).transpose();
  Gates(w.z_t, &w);
  extras->assign(1, w.s_t.transpose());
}

}  // namespace ctrnn
