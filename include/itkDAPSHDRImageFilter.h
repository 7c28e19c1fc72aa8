#ifndef itkDAPSHDRImageFilter_h
#define itkDAPSHDRImageFilter_h

#include "itkDAPSRestorationImageFilter.h"

namespace itk
{

/** \class HDRParameters
 * \brief HDR's forward model: clip(Alpha x, -1, 1) (the paper: Alpha = 2). \ingroup DAPSMRI */
template <typename TBase>
class HDRParameters : public TBase
{
public:
  itkSetMacro(Alpha, double);
  itkGetConstMacro(Alpha, double);

protected:
  HDRParameters()
    : TBase(dapsmri::RestorationTask::HDR)
  {}
  void
  DescribeTask(dapsmri::RestorationProblem & problem, bool) const override
  {
    problem.alpha = m_Alpha;
  }
  void
  PrintSelf(std::ostream & os, Indent indent) const override
  {
    TBase::PrintSelf(os, indent);
    os << indent << "Alpha: " << m_Alpha << '\n';
  }

private:
  double m_Alpha{ 2.0 };
};

/** \class DAPSHDRImageFilter
 * \brief Recovers the clipped range of an image with DAPS (see DAPSRestorationImageFilter).
 * \ingroup DAPSMRI */
DAPSMRI_TASK_FILTER(DAPSHDRImageFilter, HDRParameters, DAPSRestorationImageFilter);

/** \class HDRForwardImageFilter
 * \brief clip(Alpha x, -1, 1) of an image. \ingroup DAPSMRI */
DAPSMRI_TASK_FILTER(HDRForwardImageFilter, HDRParameters, RestorationForwardImageFilter);

} // namespace itk

#endif
