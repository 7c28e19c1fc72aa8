// The baselines an ITK user would reach for, on a measurement written by daps-restore:
//   super-resolution: B-spline (order 3) up-sampling with itk::ResampleImageFilter;
//   inpainting:       a diffusion fill (Laplace's equation on the hidden pixels, seen ones fixed);
//   deblurring:       itk::WienerDeconvolutionImageFilter or itk::RichardsonLucyDeconvolutionImageFilter
//                     (periodic boundary, as the forward model);
//   hdr:              the clipped input scaled back, y / alpha.
//
//   dapsmri-restore-baselines MEASUREMENT OUTPUT --task T [--factor F] [--mask PATH]
//                             [--kernel PATH --method wiener|richardson-lucy --noise S] [--alpha A]
#include "itkBSplineInterpolateImageFunction.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkPeriodicBoundaryCondition.h"
#include "itkResampleImageFilter.h"
#include "itkRichardsonLucyDeconvolutionImageFilter.h"
#include "itkWienerDeconvolutionImageFilter.h"

#include <cmath>
#include <iostream>
#include <map>
#include <string>

namespace
{
using Image = itk::Image<float, 2>;

Image::Pointer
Read(const std::string & path)
{
  auto reader = itk::ImageFileReader<Image>::New();
  reader->SetFileName(path);
  reader->Update();
  Image::Pointer image = reader->GetOutput();
  image->DisconnectPipeline();
  // Pixel grid only: the forward models work on pixels (daps-restore's files carry the image's
  // geometry, a NIfTI one a flipped direction, which resampling would otherwise honour).
  image->SetSpacing(1.0);
  image->SetOrigin(0.0);
  Image::DirectionType identity;
  identity.SetIdentity();
  image->SetDirection(identity);
  return image;
}

Image::Pointer
BSplineUpsampling(Image::Pointer low, int factor)
{
  // Low-resolution pixel (i, j) is the mean of the block whose centre is at f i + (f - 1) / 2.
  low->SetSpacing(static_cast<double>(factor));
  low->SetOrigin(0.5 * (factor - 1));
  auto interpolator = itk::BSplineInterpolateImageFunction<Image, double, double>::New();
  interpolator->SetSplineOrder(3);
  auto resample = itk::ResampleImageFilter<Image, Image>::New();
  resample->SetInput(low);
  resample->SetInterpolator(interpolator);
  auto size = low->GetLargestPossibleRegion().GetSize();
  size[0] *= factor;
  size[1] *= factor;
  resample->SetSize(size);
  resample->SetOutputSpacing(1.0);
  resample->SetOutputOrigin(0.0);
  resample->SetDefaultPixelValue(0.0f);
  resample->Update();
  return resample->GetOutput();
}

Image::Pointer
DiffusionFill(Image::Pointer image, Image::Pointer mask)
{
  // Hidden pixels relax to the mean of their 4 neighbours (Jacobi iterations of Laplace's equation).
  const auto   size = image->GetLargestPossibleRegion().GetSize();
  const long   W = static_cast<long>(size[0]), H = static_cast<long>(size[1]);
  float *      x = image->GetBufferPointer();
  const float *seen = mask->GetBufferPointer();
  double       sum = 0.0, count = 0.0;
  for (long i = 0; i < W * H; ++i)
    if (seen[i] != 0.0f)
    {
      sum += x[i];
      ++count;
    }
  for (long i = 0; i < W * H; ++i)
    if (seen[i] == 0.0f)
      x[i] = static_cast<float>(count > 0 ? sum / count : 0.0);
  std::vector<float> next(x, x + W * H);
  for (int iteration = 0; iteration < 20000; ++iteration)
  {
    double change = 0.0;
    for (long r = 0; r < H; ++r)
      for (long c = 0; c < W; ++c)
      {
        const long i = r * W + c;
        if (seen[i] != 0.0f)
          continue;
        double total = 0.0;
        int    n = 0;
        for (const auto [dr, dc] : { std::pair<long, long>{ -1, 0 }, { 1, 0 }, { 0, -1 }, { 0, 1 } })
          if (r + dr >= 0 && r + dr < H && c + dc >= 0 && c + dc < W)
          {
            total += x[(r + dr) * W + c + dc];
            ++n;
          }
        next[i] = static_cast<float>(total / n);
        change = std::max(change, static_cast<double>(std::abs(next[i] - x[i])));
      }
    std::copy(next.begin(), next.end(), x);
    if (change < 1e-6)
      break;
  }
  return image;
}

template <typename TFilter>
Image::Pointer
Deconvolve(typename TFilter::Pointer filter, Image::Pointer blurred, Image::Pointer kernel)
{
  itk::PeriodicBoundaryCondition<Image> periodic;
  filter->SetInput(blurred);
  filter->SetKernelImage(kernel);
  filter->SetBoundaryCondition(&periodic);
  filter->NormalizeOn();
  filter->Update();
  return filter->GetOutput();
}
} // namespace

int
main(int argc, char * argv[])
{
  try
  {
    if (argc < 3)
    {
      std::cerr << "usage: dapsmri-restore-baselines MEASUREMENT OUTPUT --task T [--factor F] [--mask PATH] "
                   "[--kernel PATH --method wiener|richardson-lucy --noise S] [--alpha A]\n";
      return 2;
    }
    std::map<std::string, std::string> flags{ { "task", "" },  { "factor", "4" }, { "mask", "" }, { "kernel", "" },
                                              { "method", "wiener" }, { "noise", "0.01" }, { "alpha", "2" } };
    for (int i = 3; i + 1 < argc; i += 2)
    {
      const std::string name = std::string(argv[i]).substr(2);
      if (!flags.count(name))
        throw std::invalid_argument(std::string("unknown option ") + argv[i]);
      flags[name] = argv[i + 1];
    }
    auto           measurement = Read(argv[1]);
    Image::Pointer result;
    const auto &   task = flags["task"];
    if (task == "super-resolution")
      result = BSplineUpsampling(measurement, std::stoi(flags["factor"]));
    else if (task == "inpainting")
      result = DiffusionFill(measurement, Read(flags["mask"]));
    else if (task == "deblurring" && flags["method"] == "wiener")
    {
      auto wiener = itk::WienerDeconvolutionImageFilter<Image>::New();
      const double noise = std::stod(flags["noise"]);
      wiener->SetNoiseVariance(noise * noise);
      result = Deconvolve<itk::WienerDeconvolutionImageFilter<Image>>(wiener, measurement, Read(flags["kernel"]));
    }
    else if (task == "deblurring" && flags["method"] == "richardson-lucy")
    {
      auto lucy = itk::RichardsonLucyDeconvolutionImageFilter<Image>::New();
      lucy->SetNumberOfIterations(30);
      result = Deconvolve<itk::RichardsonLucyDeconvolutionImageFilter<Image>>(lucy, measurement, Read(flags["kernel"]));
    }
    else if (task == "hdr")
    {
      result = measurement;
      const double alpha = std::stod(flags["alpha"]);
      for (long i = 0, n = static_cast<long>(result->GetLargestPossibleRegion().GetNumberOfPixels()); i < n; ++i)
        result->GetBufferPointer()[i] /= static_cast<float>(alpha);
    }
    else
      throw std::invalid_argument("unknown task or method: " + task + " " + flags["method"]);
    auto writer = itk::ImageFileWriter<Image>::New();
    writer->SetInput(result);
    writer->SetFileName(argv[2]);
    writer->Update();
    return 0;
  }
  catch (const std::exception & e)
  {
    std::cerr << "dapsmri-restore-baselines: " << e.what() << '\n';
    return 1;
  }
}
