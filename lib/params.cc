#include "lib/params.h"

#include <sstream>
#include <stdexcept>

namespace ctrnn {

Eigen::Index ParamBlock::size() const {
  Eigen::Index n = 1;
  for (Eigen::Index s : shape) n *= s;
  return n;
}

Eigen::Index ParamLayout::Add(const std::string& name,
                              std::vector<Eigen::Index> shape,
                              const std::string& meaning) {
  if (Has(name)) {
    throw std::invalid_argument("ParamLayout::Add: duplicate block '" + name + "'");
  }
  if (shape.empty() || shape.size() > 2) {
    throw std::invalid_argument("ParamLayout::Add: block '" + name + "' must be 1-D or 2-D");
  }
  for (Eigen::Index s : shape) {
    if (s <= 0) {
      throw std::invalid_argument("ParamLayout::Add: block '" + name + "' has extent " +
                                  std::to_string(s));
    }
  }
  ParamBlock block{name, std::move(shape), size_, meaning};
  size_ += block.size();
  blocks_.push_back(std::move(block));
  return blocks_.back().offset;
}

bool ParamLayout::Has(const std::string& name) const {
  for (const ParamBlock& b : blocks_) {
    if (b.name == name) return true;
  }
  return false;
}

const ParamBlock& ParamLayout::Find(const std::string& name) const {
  for (const ParamBlock& b : blocks_) {
    if (b.name == name) return b;
  }
  std::ostringstream msg;
  msg << "no parameter block '" << name << "'; blocks are:";
  for (const ParamBlock& b : blocks_) msg << " " << b.name;
  throw std::invalid_argument(msg.str());
}

Eigen::Map<Eigen::MatrixXd> BlockView(const ParamBlock& block, Eigen::VectorXd* v) {
  return Eigen::Map<Eigen::MatrixXd>(v->data() + block.offset, block.rows(), block.cols());
}

Eigen::Map<const Eigen::MatrixXd> BlockView(const ParamBlock& block, const Eigen::VectorXd& v) {
  return Eigen::Map<const Eigen::MatrixXd>(v.data() + block.offset, block.rows(), block.cols());
}

}  // namespace ctrnn
