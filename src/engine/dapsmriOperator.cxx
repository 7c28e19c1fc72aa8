#include "dapsmriOperator.h"

#include <sstream>
#include <stdexcept>

namespace dapsmri
{

torch::Tensor
Operator::Adjoint(const torch::Tensor &) const
{
  throw std::logic_error("this operator is nonlinear: it has no adjoint");
}

torch::Tensor
Operator::DataGradient(const torch::Tensor & x, const torch::Tensor & y) const
{
  CountGradient();
  torch::AutoGradMode enable(true);
  auto                 leaf = x.detach().clone().requires_grad_(true);
  auto                 loss = 0.5 * (Forward(leaf) - y).abs().pow(2).sum();
  // For a real loss of a complex leaf, PyTorch's gradient is dL/dRe + i dL/dIm.
  return torch::autograd::grad({ loss }, { leaf })[0].detach();
}

torch::Tensor
Operator::Normal(const torch::Tensor & x) const
{
  if (!IsLinear())
  {
    throw std::logic_error("the normal operator A^H A exists only for linear operators");
  }
  CountGradient();
  return Adjoint(Forward(x));
}

torch::Tensor
Operator::ResidualNorm2(const torch::Tensor & x, const torch::Tensor & y) const
{
  torch::NoGradGuard noGrad;
  auto               r = (Forward(x) - y).abs().pow(2);
  return r.reshape({ r.size(0), -1 }).sum(1);
}

void
CheckImageBatch(const torch::Tensor & t, const std::vector<int64_t> & shape, const char * what)
{
  if (t.scalar_type() != torch::kComplexFloat || t.dim() != 3 || t.size(1) != shape[0] || t.size(2) != shape[1])
  {
    std::ostringstream msg;
    msg << what << " must be a complex float tensor [B, " << shape[0] << ", " << shape[1] << "], got "
        << t.scalar_type() << " " << t.sizes();
    throw std::invalid_argument(msg.str());
  }
}

} // namespace dapsmri
