#ifndef itkDAPSPhaseRetrievalImageFilter_h
#define itkDAPSPhaseRetrievalImageFilter_h

#include "itkDAPSRestorationImageFilter.h"

namespace itk
{

/** \class PhaseRetrievalParameters
 * \brief Phase retrieval's forward model: |FFT| of the image zero-padded to Oversampling times
 * its size (orthonormal, DC at index 0); the DAPS filter's output is the input's size
 * divided by Oversampling. The paper keeps the best of 4 runs (SetNumberOfRestarts(4)).
 * \ingroup DAPSMRI */
template <typename TBase>
class PhaseRetrievalParameters : public TBase
{
public:
  itkSetClampMacro(Oversampling, unsigned int, 1, 8);
  itkGetConstMacro(Oversampling, unsigned int);

protected:
  PhaseRetrievalParameters()
    : TBase(dapsmri::RestorationTask::PhaseRetrieval)
  {}
  void
  DescribeTask(dapsmri::RestorationProblem & problem, bool) const override
  {
    problem.oversampling = m_Oversampling;
  }
  void
  PrintSelf(std::ostream & os, Indent indent) const override
  {
    TBase::PrintSelf(os, indent);
    os << indent << "Oversampling: " << m_Oversampling << '\n';
  }

private:
  unsigned int m_Oversampling{ 2 };
};

/** \class DAPSPhaseRetrievalImageFilter
 * \brief Recovers an image from its Fourier magnitudes with DAPS (see
 * DAPSRestorationImageFilter). \ingroup DAPSMRI */
DAPSMRI_TASK_FILTER(DAPSPhaseRetrievalImageFilter, PhaseRetrievalParameters, DAPSRestorationImageFilter);

/** \class PhaseRetrievalForwardImageFilter
 * \brief The oversampled Fourier magnitudes of an image. \ingroup DAPSMRI */
DAPSMRI_TASK_FILTER(PhaseRetrievalForwardImageFilter, PhaseRetrievalParameters, RestorationForwardImageFilter);

} // namespace itk

#endif
