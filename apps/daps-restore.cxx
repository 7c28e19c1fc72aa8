// daps-restore: image restoration with the DAPS engine (super-resolution, inpainting, deblurring,
// phase retrieval, HDR) on image files, with the sampler flags and progress of daps-recon.
#include "dapsmriAppUtilities.h"

#include "dapsmriRestore.xml.h"
#include "dapsmriSimulation.h"
#include "itkDAPSDeblurringImageFilter.h"
#include "itkDAPSHDRImageFilter.h"
#include "itkDAPSInpaintingImageFilter.h"
#include "itkDAPSPhaseRetrievalImageFilter.h"
#include "itkDAPSSuperResolutionImageFilter.h"

#include <iostream>
#include <sstream>

namespace
{
const char * const Usage = R"(usage: daps-restore INPUT OUTPUT --task TASK [options]

Restores an image with a diffusion prior (DAPS). INPUT is the measurement: the low-resolution,
masked, blurred, clipped image, or the Fourier magnitudes (phase retrieval); with --simulate it
is a clean image that is put through the forward model first, and the PSNR against it is shown.
OUTPUT is the restored image (the magnitude; --complex for the complex image).

  --task T               super-resolution | inpainting | deblurring | phase-retrieval | hdr
  --simulate             INPUT is a clean image: measure it, restore, report PSNR
  --noise S              with --simulate: Gaussian noise std added to the measurement (default 0)
  --measurement-output PATH  also write the measurement
  --mask-output PATH     inpainting: also write the mask used (1 where seen)
  --kernel-output PATH   deblurring: also write the kernel used
  --factor F             super-resolution factor, a divisor of the size (default 4)
  --bicubic              super-resolution by bicubic down-sampling (default: block means)
  --mask PATH            inpainting: mask image, nonzero where seen (default: --box)
  --box X,Y,W,H          inpainting: the hidden box (default: the centre quarter of the image)
  --random-fraction P    inpainting: hide this fraction of the pixels at random instead
  --cold-start           inpainting and phase retrieval: start from noise alone, not from a
                         smooth fill of the hole or an HIO + ER estimate
  --kernel K             deblurring: gaussian | motion (default gaussian)
  --kernel-size N        deblurring kernel size (default 61)
  --blur-sigma S         Gaussian kernel std in pixels (default 3)
  --motion-intensity I   motion kernel turning, 0 to 1 (default 0.5)
  --oversampling S       phase retrieval: Fourier oversampling (default 2)
  --alpha A              HDR: y = clip(alpha x, -1, 1) (default 2)
  --restarts N           runs of which the best-fitting one is kept (default 1)
  --intensity-scale S    data units per prior unit; 0: the 99th percentile of |y| for the linear
                         tasks, 1 for phase retrieval and HDR (default 0)
  --std-output PATH      per-pixel posterior standard deviation (needs --samples > 1)
  --complex              write the complex image
  --model PATH           TorchScript prior (default: the shipped brain prior)
  --device D             cpu | cuda:N: where the whole DAPS loop runs (default cpu)
  --xml                  print the 3D Slicer module description and exit
The sampler flags below apply over the task's own defaults (--preset replaces them): the mri
preset for the linear tasks (inpainting from sigma 0.3, warm started); for the nonlinear ones the
reference preset (Langevin) with the paper's step size, 5e-5 (phase retrieval, 50 levels from
sigma 0.2 to 0.02 after HIO + ER) and 2e-5 (HDR).
)";

using namespace dapsmri;
using RealImage = app::MagnitudeImage;
using ComplexImage = itk::Image<std::complex<float>, 2>;

std::vector<int64_t>
ParseBox(const std::string & text)
{
  std::vector<int64_t> box;
  std::stringstream    stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    box.push_back(std::stoll(item));
  if (box.size() != 4 || box[2] < 1 || box[3] < 1)
    throw std::invalid_argument("--box needs X,Y,W,H with a positive width and height, got \"" + text + "\"");
  return box;
}

/** The task's images the flags describe: the inpainting mask (for an image of the input's size)
 * and the blur kernel. */
struct TaskImages
{
  itk::Image<unsigned char, 2>::Pointer mask;
  RealImage::Pointer                    kernel;
};

TaskImages
TaskImagesFromFlags(const app::Arguments & args, RestorationTask task, const RealImage * input, uint64_t seed)
{
  TaskImages images;
  const auto    size = input->GetLargestPossibleRegion().GetSize();
  const int64_t width = static_cast<int64_t>(size[0]), height = static_cast<int64_t>(size[1]);
  if (task == RestorationTask::Inpainting)
  {
    if (args.Has("mask"))
      images.mask = app::ReadMask(args.Get("mask"), "inpainting mask"); // its size is checked by the filters
    else
    {
      const auto box = args.Has("box") ? ParseBox(args.Get("box"))
                                       : std::vector<int64_t>{ width / 4, height / 4, width / 2, height / 2 };
      images.mask = app::ToImage<app::MaskImage>(args.Double("random-fraction") > 0.0
                                                   ? RandomMask(height, width, args.Double("random-fraction"), seed)
                                                   : BoxMask(height, width, box[0], box[1], box[2], box[3]),
                                                 height, width);
      images.mask->SetSpacing(input->GetSpacing()); // the image's pixels (--mask-output)
      images.mask->SetOrigin(input->GetOrigin());
      images.mask->SetDirection(input->GetDirection());
    }
  }
  if (task == RestorationTask::Deblurring)
  {
    const int64_t n = args.Int("kernel-size", 3, 1025);
    if (args.Get("kernel") != "gaussian" && args.Get("kernel") != "motion")
      throw std::invalid_argument("unknown kernel \"" + args.Get("kernel") + "\" (choose gaussian or motion)");
    images.kernel = app::ToImage<RealImage>(args.Get("kernel") == "gaussian"
                                              ? GaussianBlurKernel(n, args.Double("blur-sigma"))
                                              : MotionBlurKernel(n, args.Double("motion-intensity"), seed),
                                            n, n);
  }
  return images;
}

/** Sets the task's parameters from the flags on a forward-model or DAPS filter of the task. */
template <typename TBase>
void
SetTaskParameters(itk::SuperResolutionParameters<TBase> * filter, const app::Arguments & args, const TaskImages &)
{
  filter->SetFactor(static_cast<unsigned int>(args.Int("factor", 1, 64)));
  filter->SetBicubic(args.Has("bicubic"));
}
template <typename TBase>
void
SetTaskParameters(itk::InpaintingParameters<TBase> * filter, const app::Arguments &, const TaskImages & images)
{
  filter->SetMask(images.mask);
}
template <typename TBase>
void
SetTaskParameters(itk::DeblurringParameters<TBase> * filter, const app::Arguments &, const TaskImages & images)
{
  filter->SetKernelImage(images.kernel);
}
template <typename TBase>
void
SetTaskParameters(itk::PhaseRetrievalParameters<TBase> * filter, const app::Arguments & args, const TaskImages &)
{
  filter->SetOversampling(static_cast<unsigned int>(args.Int("oversampling", 1, 8)));
}
template <typename TBase>
void
SetTaskParameters(itk::HDRParameters<TBase> * filter, const app::Arguments & args, const TaskImages &)
{
  filter->SetAlpha(args.Double("alpha"));
}

/** Measures the input with the task's forward filter (--simulate) or takes it as the measurement,
 * restores it with the task's DAPS filter, and writes every output requested, all or none. */
template <template <typename, typename> class TForward, template <typename, typename> class TDAPS,
          typename TOutputImage>
void
RunTask(const app::Arguments & args, RealImage * input, const TaskImages & images, const std::string & output)
{
  const uint64_t     seed = app::SamplerConfig(args).seed;
  RealImage::Pointer measurement = input;
  if (args.Has("simulate"))
  {
    auto forward = TForward<RealImage, RealImage>::New();
    forward->SetInput(input);
    SetTaskParameters(forward.GetPointer(), args, images);
    forward->SetNoiseStandardDeviation(args.Double("noise"));
    forward->SetSeed(seed + 1);
    forward->Update();
    measurement = forward->GetOutput();
  }
  auto       filter = TDAPS<RealImage, TOutputImage>::New();
  const auto task = filter->GetTask();
  filter->SetInput(measurement);
  SetTaskParameters(filter.GetPointer(), args, images);
  const std::string model = app::ConfigureFilter(filter.GetPointer(), args, false);
  filter->SetIntensityScale(args.Double("intensity-scale"));
  filter->SetNumberOfRestarts(args.Int("restarts", 1, 64));
  filter->SetWarmStart(!args.Has("cold-start"));
  app::ObserveProgress(filter.GetPointer(), "DAPS " + ToString(task));
  filter->Update();

  std::vector<std::unique_ptr<OutputFile>> outputs;
  outputs.push_back(app::WriteImageToTemporary(filter->GetOutput(), output));
  const auto add = [&](const auto * image, const char * flag) {
    if (args.Has(flag))
      outputs.push_back(app::WriteImageToTemporary(image, args.Get(flag)));
  };
  add(filter->GetStandardDeviationOutput(), "std-output");
  add(measurement.GetPointer(), "measurement-output");
  if (images.mask)
    add(images.mask.GetPointer(), "mask-output");
  if (images.kernel)
    add(images.kernel.GetPointer(), "kernel-output");
  if (args.Has("returnparameterfile"))
    outputs.push_back(app::ReturnParametersToTemporary(args.Get("returnparameterfile"), filter->GetStatistics(),
                                                       filter->GetRelativeResidual(),
                                                       filter->GetEstimatedIntensityScale()));
  OutputFile::CommitAll(outputs);

  const auto size = filter->GetOutput()->GetLargestPossibleRegion().GetSize();
  std::cerr << ToString(task) << " of a " << size[0] << " x " << size[1] << " image with prior " << model << ": NFE "
            << filter->GetStatistics().denoiserEvaluations << ", " << filter->GetStatistics().totalSeconds
            << " s, relative data residual " << filter->GetRelativeResidual() << ", intensity scale "
            << filter->GetEstimatedIntensityScale() << "; wrote " << output << '\n';
  if (args.Has("simulate"))
  {
    const auto * restored = filter->GetOutput()->GetBufferPointer();
    const std::vector<std::complex<float>> mean(restored, restored + size[0] * size[1]);
    const auto * clean = input->GetBufferPointer();
    const std::vector<std::complex<float>> truth(clean, clean + size[0] * size[1]);
    std::cerr << "PSNR against the clean image: restored " << MagnitudePSNR(mean, truth) << " dB\n";
  }
}

/** RunTask for the task's filters, with a complex or a magnitude output. */
template <template <typename, typename> class TForward, template <typename, typename> class TDAPS>
void
RunTask(const app::Arguments & args, RealImage * input, const TaskImages & images, const std::string & output)
{
  if (args.Has("complex"))
    RunTask<TForward, TDAPS, ComplexImage>(args, input, images, output);
  else
    RunTask<TForward, TDAPS, RealImage>(args, input, images, output);
}

} // namespace

int
main(int argc, char * argv[])
{
  return app::Main("daps-restore", [&] {
    auto defaults = app::SamplerFlagDefaults();
    defaults.insert({ { "task", "" },
                      { "noise", "0" },
                      { "measurement-output", "" },
                      { "mask-output", "" },
                      { "kernel-output", "" },
                      { "factor", "4" },
                      { "mask", "" },
                      { "box", "" },
                      { "random-fraction", "0" },
                      { "kernel", "gaussian" },
                      { "kernel-size", "61" },
                      { "blur-sigma", "3" },
                      { "motion-intensity", "0.5" },
                      { "oversampling", "2" },
                      { "alpha", "2" },
                      { "restarts", "1" },
                      { "intensity-scale", "0" },
                      { "std-output", "" },
                      { "returnparameterfile", "" } });
    app::Arguments args(argc, argv, defaults, { "help", "simulate", "bicubic", "cold-start", "complex", "xml" });
    if (args.Has("xml"))
    {
      std::cout << RestoreXML;
      return 0;
    }
    if (args.Has("help") || args.Positional().size() != 2 || !args.Has("task"))
    {
      std::cout << Usage << app::SamplerFlagUsage();
      return args.Has("help") ? 0 : 2;
    }
    const std::string input = args.Positional()[0], output = args.Positional()[1];
    // Everything that can be checked is checked before the work: no output may replace an input.
    CheckOutputPaths({ output, args.Get("std-output"), args.Get("measurement-output"), args.Get("mask-output"),
                       args.Get("kernel-output"), args.Get("returnparameterfile") },
                     { input, args.Get("mask"), args.Get("model") });
    app::CheckImageOutputPath(output, true);
    for (const char * flag : { "std-output", "measurement-output", "mask-output", "kernel-output" })
      if (args.Has(flag))
        app::CheckImageOutputPath(args.Get(flag), true);
    const auto task = ParseRestorationTask(args.Get("task"));
    if (args.Has("mask-output") && task != RestorationTask::Inpainting)
      throw std::invalid_argument("--mask-output needs --task inpainting");
    if (args.Has("kernel-output") && task != RestorationTask::Deblurring)
      throw std::invalid_argument("--kernel-output needs --task deblurring");
    if (args.Has("std-output") && args.Int("samples") < 2)
      throw std::invalid_argument("--std-output needs --samples > 1");
    if (!(args.Double("noise") >= 0.0) || !(args.Double("intensity-scale") >= 0.0))
      throw std::invalid_argument("--noise and --intensity-scale must not be negative");

    const auto image = app::ReadScalarImage(input, args.Has("simulate") ? "clean image" : "measurement");
    const auto images = TaskImagesFromFlags(args, task, image, app::SamplerConfig(args).seed);
    switch (task)
    {
      case RestorationTask::SuperResolution:
        RunTask<itk::SuperResolutionForwardImageFilter, itk::DAPSSuperResolutionImageFilter>(args, image, images, output);
        break;
      case RestorationTask::Inpainting:
        RunTask<itk::InpaintingForwardImageFilter, itk::DAPSInpaintingImageFilter>(args, image, images, output);
        break;
      case RestorationTask::Deblurring:
        RunTask<itk::DeblurringForwardImageFilter, itk::DAPSDeblurringImageFilter>(args, image, images, output);
        break;
      case RestorationTask::PhaseRetrieval:
        RunTask<itk::PhaseRetrievalForwardImageFilter, itk::DAPSPhaseRetrievalImageFilter>(args, image, images, output);
        break;
      case RestorationTask::HDR:
        RunTask<itk::HDRForwardImageFilter, itk::DAPSHDRImageFilter>(args, image, images, output);
        break;
    }
    return 0;
  });
}
