// The library's image IO and raw-data geometry, as a C++ user calls them: multi-coil files round
// trip with their geometry, errors are itk::ExceptionObject naming the file, slices stack into a
// volume with the scanner geometry or are refused, and masks are made by name.
#include "dapsmriImageIO.h"
#include "dapsmriRawDataImages.h"
#include "dapsmriSimulation.h"

#include "dapsmriScratchPath.h"
#include "itkExceptionDescription.h"

#include <gtest/gtest.h>

using namespace dapsmri;

TEST(ImageIO, MultiCoilImagesRoundTripWithTheirGeometry)
{
  auto image = MultiCoilImage::New();
  image->SetRegions(MultiCoilImage::SizeType{ { 5, 3 } });
  image->SetNumberOfComponentsPerPixel(4);
  image->Allocate();
  for (size_t i = 0; i < 5 * 3 * 4; ++i)
    image->GetBufferPointer()[i] = { static_cast<float>(i), -0.5f * static_cast<float>(i) };
  image->SetSpacing(itk::Vector<double, 2>(std::vector<double>{ 0.7, 1.3 }.data()));
  image->SetOrigin(itk::Point<double, 2>(std::vector<double>{ -2.0, 4.0 }.data()));
  const dapsmri::testing::ScratchPath scratch("multicoil", ".nrrd");
  const std::string                   path = scratch.Path().string();
  WriteMultiCoil(image, path);
  const auto back = ReadMultiCoil(path);
  EXPECT_EQ(back->GetNumberOfComponentsPerPixel(), 4u);
  EXPECT_EQ(back->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
  EXPECT_EQ(back->GetSpacing(), image->GetSpacing());
  EXPECT_EQ(back->GetOrigin(), image->GetOrigin());
  EXPECT_TRUE(std::equal(image->GetBufferPointer(), image->GetBufferPointer() + 60, back->GetBufferPointer()));

  const auto missing = ErrorOf([] { ReadMultiCoil("/nonexistent/k.mha"); });
  EXPECT_NE(missing.find("/nonexistent/k.mha"), std::string::npos) << missing;
  EXPECT_NE(ErrorOf([&] { ReadMask(path); }).find("one 2-D scalar image"), std::string::npos);
  EXPECT_NE(ErrorOf([] { CheckImageOutputPath("/nonexistent/folder/out.nrrd"); }), "(no exception)");
}

TEST(RawDataImages, SlicesStackIntoAVolumeWithTheScannerGeometry)
{
  std::vector<RawSlice> slices(3);
  for (int i = 0; i < 3; ++i)
  {
    auto & s = slices[static_cast<size_t>(i)];
    s.width = 8;
    s.height = 6;
    s.spacing = { 1.5, 2.0 };
    s.readDirection = { 0.0, 1.0, 0.0 };
    s.phaseDirection = { 1.0, 0.0, 0.0 };
    s.sliceDirection = { 0.0, 0.0, -1.0 };
    s.position = { 10.0, 20.0, -3.0 * i };
    s.sliceThickness = 2.5;
  }
  CheckStackable(slices);
  const auto volume = AllocateVolume<itk::VectorImage<std::complex<float>, 3>>(slices, 4);
  EXPECT_EQ(volume->GetNumberOfComponentsPerPixel(), 4u);
  EXPECT_EQ(volume->GetLargestPossibleRegion().GetSize(), (itk::Size<3>{ { 8, 6, 3 } }));
  EXPECT_DOUBLE_EQ(volume->GetSpacing()[2], 3.0); // the distance of the slices, not their thickness
  EXPECT_DOUBLE_EQ(volume->GetSpacing()[0], 1.5);
  EXPECT_DOUBLE_EQ(volume->GetDirection()(1, 0), 1.0); // read along y
  EXPECT_DOUBLE_EQ(volume->GetDirection()(2, 2), -1.0);
  const auto origin = slices[0].Origin();
  for (unsigned i = 0; i < 3; ++i)
    EXPECT_DOUBLE_EQ(volume->GetOrigin()[i], origin[i]);

  slices[2].position = slices[1].position; // not equally spaced
  EXPECT_NE(ErrorOf([&] { CheckStackable(slices); }).find("not equally spaced"), std::string::npos);
  slices[2].width = 4;
  EXPECT_NE(ErrorOf([&] { CheckStackable(slices); }).find("matrix sizes"), std::string::npos);
  EXPECT_NE(ErrorOf([] { CheckStackable({}); }).find("no slices"), std::string::npos);
}

TEST(UndersamplingMasks, ByNameAreTheFactoriesMasks)
{
  EXPECT_EQ(UndersamplingMask("random", 32, 16, 4.0, 0.08, 3), FastMRIMask(32, 16, 4.0, 0.08, 3, false));
  EXPECT_EQ(UndersamplingMask("equispaced", 32, 16, 4.0, 0.08, 3), FastMRIMask(32, 16, 4.0, 0.08, 3, true));
  EXPECT_EQ(UndersamplingMask("variable-density", 32, 16, 4.0, 0.08, 3), VariableDensityMask(32, 16, 4.0, 0.08, 3));
  EXPECT_THROW(UndersamplingMask("spiral", 32, 16, 4.0, 0.08, 3), std::invalid_argument);
}
