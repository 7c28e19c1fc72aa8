// Reads multi-coil k-space, coil maps and a sampling mask, reconstructs them with DAPS and writes
// the magnitude image: the MRI filter in an ordinary ITK pipeline.
#include "dapsmriImageIO.h"
#include "itkComplexToModulusImageFilter.h"
#include "itkMRIDAPSReconstructionImageFilter.h"

#include <iostream>

int
main(int argc, char * argv[])
{
  if (argc < 5)
  {
    std::cerr << "usage: " << argv[0] << " KSPACE.mha COIL_MAPS.mha MASK.nrrd OUTPUT.nii.gz [MODEL.pt]\n";
    return 2;
  }
  try
  {
    using ReconstructionType = itk::MRIDAPSReconstructionImageFilter<>;
    auto reconstruction = ReconstructionType::New();
    reconstruction->SetKSpace(dapsmri::ReadMultiCoil(argv[1]));
    reconstruction->SetCoilSensitivities(dapsmri::ReadMultiCoil(argv[2]));
    reconstruction->SetMask(dapsmri::ReadMask(argv[3]));
    reconstruction->SetModelFileName(argc > 5 ? argv[5] : dapsmri::Prior::ShippedModelPath());

    using MagnitudeType = itk::ComplexToModulusImageFilter<ReconstructionType::OutputImageType, dapsmri::RealImage>;
    auto magnitude = MagnitudeType::New();
    magnitude->SetInput(reconstruction->GetOutput());
    magnitude->Update();
    dapsmri::WriteImageAtomically(magnitude->GetOutput(), argv[4]); // all of the file or none of it
  }
  catch (const itk::ExceptionObject & e)
  {
    std::cerr << argv[0] << ": " << dapsmri::Describe(e) << '\n';
    return 1;
  }
  return 0;
}
