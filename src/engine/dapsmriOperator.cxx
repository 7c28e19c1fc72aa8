#include "dapsmriOperator.h"

#include <algorithm>
#include <cmath>
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

StackedOperator::StackedOperator(std::vector<std::shared_ptr<const Operator>> operators, std::vector<double> weights)
  : m_Operators(std::move(operators))
  , m_Weights(std::move(weights))
{
  if (m_Operators.empty() || m_Operators.size() != m_Weights.size())
    throw std::invalid_argument("a stack of problems needs one operator and one weight per problem");
  std::vector<torch::Tensor> supports;
  bool                       anySupport = false;
  for (size_t s = 0; s < m_Operators.size(); ++s)
  {
    if (!m_Operators[s] || m_Operators[s]->ImageShape() != ImageShape())
      throw std::invalid_argument("the stacked problems must all act on images of one size");
    if (!(m_Weights[s] > 0.0) || !std::isfinite(m_Weights[s]))
      throw std::invalid_argument("the data-term weights of stacked problems must be positive and finite");
    m_Linear = m_Linear && m_Operators[s]->IsLinear();
    supports.push_back(m_Operators[s]->ObjectSupport());
    anySupport = anySupport || supports.back().defined();
  }
  if (anySupport)
  {
    const auto & defined = *std::find_if(supports.begin(), supports.end(), [](const auto & t) { return t.defined(); });
    for (auto & support : supports)
      if (!support.defined())
        support = torch::ones_like(defined);
    m_Support = torch::stack(supports);
  }
}

template <typename F>
torch::Tensor
StackedOperator::Each(const torch::Tensor & a, const torch::Tensor & b, F && f) const
{
  const int64_t S = Problems();
  if (a.dim() < 1 || a.size(0) % S != 0 || (b.defined() && b.size(0) != a.size(0)))
  {
    std::ostringstream msg;
    msg << "a stack of " << S << " problems takes batches of a multiple of " << S << " entries, got " << a.sizes()
        << (b.defined() ? " and " : "") << (b.defined() ? b.sizes() : a.sizes());
    throw std::invalid_argument(msg.str());
  }
  const int64_t              K = a.size(0) / S;
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < S; ++s)
    parts.push_back(f(*m_Operators[static_cast<size_t>(s)], m_Weights[static_cast<size_t>(s)], a.narrow(0, s * K, K),
                      b.defined() ? b.narrow(0, s * K, K) : b));
  return S == 1 ? parts.front() : torch::cat(parts);
}

torch::Tensor
StackedOperator::Forward(const torch::Tensor & x) const
{
  return Each(x, {}, [](const Operator & op, double w, const torch::Tensor & xs, const torch::Tensor &) {
    return op.Forward(xs).mul_(w);
  });
}

torch::Tensor
StackedOperator::Adjoint(const torch::Tensor & y) const
{
  return Each(y, {}, [](const Operator & op, double w, const torch::Tensor & ys, const torch::Tensor &) {
    return op.Adjoint(ys).mul_(w);
  });
}

torch::Tensor
StackedOperator::DataGradient(const torch::Tensor & x, const torch::Tensor & y) const
{
  // grad 0.5 ||w A(x) - y||^2 = w^2 grad 0.5 ||A(x) - y / w||^2, linear or not.
  CountGradient();
  return Each(x, y, [](const Operator & op, double w, const torch::Tensor & xs, const torch::Tensor & ys) {
    return op.DataGradient(xs, w == 1.0 ? ys : ys / w).mul_(w * w);
  });
}

torch::Tensor
StackedOperator::Normal(const torch::Tensor & x) const
{
  if (!IsLinear())
    throw std::logic_error("the normal operator A^H A exists only for linear operators");
  CountGradient();
  return Each(x, {}, [](const Operator & op, double w, const torch::Tensor & xs, const torch::Tensor &) {
    return op.Normal(xs).mul_(w * w);
  });
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
