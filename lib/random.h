// A seeded random source whose streams are the same on every platform: std::mt19937_64 (fully
// specified by the standard) with our own uniform and normal transforms (the standard library's
// distributions are implementation-defined).
#ifndef CTRNN_LIB_RANDOM_H_
#define CTRNN_LIB_RANDOM_H_

#include <cstdint>
#include <random>
#include <string>

#include <Eigen/Core>

namespace ctrnn {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  // Uniform on [0, 1) with 53 random bits.
  double Uniform();
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Standard normal (Box–Muller, both variates used).
  double Normal();
  // A rows x cols matrix of N(0, 1) * scale, filled column by column.
  Eigen::MatrixXd NormalMatrix(Eigen::Index rows, Eigen::Index cols, double scale);
  Eigen::MatrixXd UniformMatrix(Eigen::Index rows, Eigen::Index cols, double lo, double hi);
  std::uint64_t NextU64() { return engine_(); }
  // An integer uniform on [0, n) (n >= 1), without modulo bias.
  std::uint64_t Below(std::uint64_t n);

  // The full generator state as text (for checkpoints), and its restoration: a restored Rng
  // continues with exactly the numbers the saved one would have drawn. SetState throws
  // std::invalid_argument on text that is not such a state.
  std::string State() const;
  void SetState(const std::string& state);

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_RANDOM_H_
