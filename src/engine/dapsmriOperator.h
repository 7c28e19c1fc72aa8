#ifndef dapsmriOperator_h
#define dapsmriOperator_h

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace dapsmri
{

/** A measurement operator y = A(x) on a batch of complex images x: [B, H, W] (kComplexFloat).
 *
 * The DAPS engine needs the forward map and the gradient of the data term
 * 0.5 * ||A(x) - y||^2 with respect to the real and imaginary parts of x, returned as one
 * complex tensor (for linear A this is A^H (A x - y)). The default gradient uses autograd,
 * so a nonlinear operator only has to implement Forward(); linear operators override
 * Adjoint() and DataGradient() with explicit, faster code. */
class Operator
{
public:
  virtual ~Operator() = default;

  /** Image shape {H, W} this operator acts on. */
  virtual std::vector<int64_t> ImageShape() const = 0;

  virtual torch::Tensor Forward(const torch::Tensor & x) const = 0;

  virtual bool IsLinear() const { return false; }

  /** A^H y; only for linear operators (the default throws). */
  virtual torch::Tensor Adjoint(const torch::Tensor & y) const;

  /** Gradient of 0.5 ||A(x) - y||^2 w.r.t. (Re x, Im x), as a complex tensor like x. */
  virtual torch::Tensor DataGradient(const torch::Tensor & x, const torch::Tensor & y) const;

  /** A^H A x for linear operators (used by the exact Gaussian step's conjugate gradients). */
  virtual torch::Tensor Normal(const torch::Tensor & x) const;

  /** For a nonlinear operator: an upper bound of the data term's curvature, the largest
   * eigenvalue of J^H J of A over all x (0: unknown). Langevin's step size is checked against it
   * as against ||A^H A|| of a linear operator, which the sampler measures itself. */
  virtual double CurvatureBound() const { return 0.0; }

  /** Independent problems in one batch (StackedOperator); 1 for an ordinary operator. */
  virtual int64_t Problems() const { return 1; }

  /** Where the object can be nonzero: [H, W] float, 1 inside, 0 outside (a stacked operator:
   * [Problems(), H, W]); undefined (the default) when it can be anywhere. The sampler holds the
   * image at zero outside: there the data say nothing and the prior would fill the gap with
   * invented tissue. (Not a sampling pattern: pixels an inpainting operator does not see stay
   * inside the support.) */
  virtual torch::Tensor ObjectSupport() const { return {}; }

  /** Squared residual ||A(x) - y||^2 per batch entry: [B]. */
  torch::Tensor ResidualNorm2(const torch::Tensor & x, const torch::Tensor & y) const;

  /** Number of data-gradient or normal-operator evaluations since construction. */
  int64_t GradientEvaluations() const { return m_GradientEvaluations.load(); }

protected:
  void CountGradient() const { ++m_GradientEvaluations; }

private:
  mutable std::atomic<int64_t> m_GradientEvaluations{ 0 };
};

/** A linear operator given by Forward and Adjoint: its data gradient is A^H (A x - y), without
 * autograd. */
class LinearOperator : public Operator
{
public:
  bool          IsLinear() const override { return true; }
  torch::Tensor Adjoint(const torch::Tensor & y) const override = 0;
  torch::Tensor DataGradient(const torch::Tensor & x, const torch::Tensor & y) const override
  {
    CountGradient();
    return Adjoint(Forward(x) - y);
  }
};

/** The operator that measures nothing: DAPS with it samples the prior alone. */
class NullOperator : public Operator
{
public:
  NullOperator(int64_t height, int64_t width)
    : m_Shape{ height, width }
  {}
  std::vector<int64_t> ImageShape() const override { return m_Shape; }
  bool                 IsLinear() const override { return true; }
  torch::Tensor        Forward(const torch::Tensor & x) const override
  {
    return torch::zeros({ x.size(0), 1 }, x.options());
  }
  torch::Tensor Adjoint(const torch::Tensor & y) const override
  {
    return torch::zeros({ y.size(0), m_Shape[0], m_Shape[1] }, y.options());
  }
  torch::Tensor DataGradient(const torch::Tensor & x, const torch::Tensor &) const override
  {
    CountGradient();
    return torch::zeros_like(x);
  }

private:
  std::vector<int64_t> m_Shape;
};

/** S independent problems in one batch, so that one network call serves all of them (the slices
 * of a volume): a batch of S x K images holds K images of problem 0, then K of problem 1, ...
 * Problem s is operators[s] with its data term weighted by weights[s], A = blockdiag(w_s A_s), and
 * its measurement is w_s y_s: weights let problems with different noise levels tau_s share one
 * tau (w_s = tau / tau_s). The sampler stacks the S measurements on a first dimension. */
class StackedOperator : public Operator
{
public:
  StackedOperator(std::vector<std::shared_ptr<const Operator>> operators, std::vector<double> weights);

  int64_t              Problems() const override { return static_cast<int64_t>(m_Operators.size()); }
  std::vector<int64_t> ImageShape() const override { return m_Operators.front()->ImageShape(); }
  bool                 IsLinear() const override { return m_Linear; }
  torch::Tensor        Forward(const torch::Tensor & x) const override;
  torch::Tensor        Adjoint(const torch::Tensor & y) const override;
  torch::Tensor        DataGradient(const torch::Tensor & x, const torch::Tensor & y) const override;
  torch::Tensor        Normal(const torch::Tensor & x) const override;
  torch::Tensor        ObjectSupport() const override { return m_Support; }

private:
  /** cat over s of f(s, w_s, the s-th chunk of a, of b): the batch split into Problems() parts. */
  template <typename F>
  torch::Tensor Each(const torch::Tensor & a, const torch::Tensor & b, F && f) const;

  std::vector<std::shared_ptr<const Operator>> m_Operators;
  std::vector<double>                          m_Weights;
  bool                                         m_Linear = true;
  torch::Tensor                                m_Support; // [S, H, W], or undefined
};

/** Throws std::invalid_argument unless t is a complex float tensor [B, H, W] of `shape`. */
void CheckImageBatch(const torch::Tensor & t, const std::vector<int64_t> & shape, const char * what);

} // namespace dapsmri

#endif
