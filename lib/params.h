// Named parameter blocks over one flat parameter vector theta (DESIGN.md §3.6).
//
// A block {name, shape, offset} views theta[offset, offset + size) as an array of the block's
// mathematical shape, stored column-major (Eigen's default): a matrix block of shape {r, c} is
// Eigen::Map<MatrixXd>(theta.data() + offset, r, c). The archive writes each block with the same
// shape as h5py sees it, so W[i, j] means the same thing in C++, HDF5 and Python.
#ifndef CTRNN_LIB_PARAMS_H_
#define CTRNN_LIB_PARAMS_H_

#include <string>
#include <vector>

#include <Eigen/Core>

namespace ctrnn {

struct ParamBlock {
  std::string name;
  std::vector<Eigen::Index> shape;  // 1 or 2 entries: {n} or {rows, cols}
  Eigen::Index offset = 0;
  std::string meaning;  // one line for SCHEMA-like listings and `ctrnn info`
  Eigen::Index size() const;
  Eigen::Index rows() const { return shape.empty() ? 1 : shape[0]; }
  Eigen::Index cols() const { return shape.size() < 2 ? 1 : shape[1]; }
};

class ParamLayout {
 public:
  // Appends a block and returns its offset. Throws std::invalid_argument on a duplicate name or a
  // non-positive extent.
  Eigen::Index Add(const std::string& name,
                   std::vector<Eigen::Index> shape,
                   const std::string& meaning);
  const std::vector<ParamBlock>& blocks() const { return blocks_; }
  bool Has(const std::string& name) const;
  // Throws std::invalid_argument naming the block and the known names when absent.
  const ParamBlock& Find(const std::string& name) const;
  Eigen::Index size() const { return size_; }

 private:
  std::vector<ParamBlock> blocks_;
  Eigen::Index size_ = 0;
};

// Views of a block inside any vector laid out by `layout` (theta or a gradient).
Eigen::Map<Eigen::MatrixXd> BlockView(const ParamBlock& block, Eigen::VectorXd* v);
Eigen::Map<const Eigen::MatrixXd> BlockView(const ParamBlock& block, const Eigen::VectorXd& v);

}  // namespace ctrnn

#endif  // CTRNN_LIB_PARAMS_H_
