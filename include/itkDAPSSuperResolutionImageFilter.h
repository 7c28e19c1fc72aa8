#ifndef itkDAPSSuperResolutionImageFilter_h
#define itkDAPSSuperResolutionImageFilter_h

#include "itkDAPSRestorationImageFilter.h"

namespace itk
{

/** \class SuperResolutionParameters
 * \brief Super-resolution's forward model: the image down-sampled by Factor (block means, or
 * bicubic with antialiasing when Bicubic is on). The DAPS filter's output is Factor times the
 * input's size. \ingroup DAPSMRI */
template <typename TBase>
class SuperResolutionParameters : public TBase
{
public:
  itkSetClampMacro(Factor, unsigned int, 1, 64);
  itkGetConstMacro(Factor, unsigned int);
  itkSetMacro(Bicubic, bool);
  itkGetConstMacro(Bicubic, bool);
  itkBooleanMacro(Bicubic);

protected:
  SuperResolutionParameters()
    : TBase(dapsmri::RestorationTask::SuperResolution)
  {}
  void
  DescribeTask(dapsmri::RestorationProblem & problem, bool) const override
  {
    problem.factor = m_Factor;
    problem.bicubic = m_Bicubic;
  }
  void
  PrintSelf(std::ostream & os, Indent indent) const override
  {
    TBase::PrintSelf(os, indent);
    os << indent << "Factor: " << m_Factor << '\n' << indent << "Bicubic: " << m_Bicubic << '\n';
  }

private:
  unsigned int m_Factor{ 4 };
  bool         m_Bicubic{ false };
};

/** \class DAPSSuperResolutionImageFilter
 * \brief Up-samples an image by Factor with DAPS (see DAPSRestorationImageFilter). \ingroup DAPSMRI */
DAPSMRI_TASK_FILTER(DAPSSuperResolutionImageFilter, SuperResolutionParameters, DAPSRestorationImageFilter);

/** \class SuperResolutionForwardImageFilter
 * \brief Down-samples an image by Factor, as DAPSSuperResolutionImageFilter assumes. \ingroup DAPSMRI */
DAPSMRI_TASK_FILTER(SuperResolutionForwardImageFilter, SuperResolutionParameters, RestorationForwardImageFilter);

} // namespace itk

#endif
