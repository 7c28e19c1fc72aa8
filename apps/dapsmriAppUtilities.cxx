#include "dapsmriAppUtilities.h"

#include "dapsmriSimulation.h"
#include "itkCommand.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <cmath>
#include <iostream>
#include <unistd.h>

namespace dapsmri::app
{

int
Main(const char * name, const std::function<int()> & body)
{
  OutputFile::RemoveTemporariesOnSignals();
  try
  {
    return body();
  }
  catch (const itk::ExceptionObject & e)
  {
    std::cerr << name << ": " << Describe(e) << '\n';
  }
  catch (const std::exception & e)
  {
    std::cerr << name << ": " << e.what() << '\n';
  }
  return 1;
}

Arguments::Arguments(int argc, char * argv[], const std::map<std::string, std::string> & defaults,
                     const std::vector<std::string> & switches)
  : m_Values(defaults)
{
  for (const auto & s : switches)
    m_Switches[s] = false;
  for (int i = 1; i < argc; ++i)
  {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0)
    {
      m_Positional.push_back(arg);
      continue;
    }
    const std::string name = arg.substr(2);
    if (m_Switches.count(name))
    {
      m_Switches[name] = true;
      continue;
    }
    if (!m_Values.count(name))
      throw std::invalid_argument("unknown option " + arg + " (see --help)");
    if (i + 1 >= argc)
      throw std::invalid_argument("option " + arg + " needs a value");
    m_Values[name] = argv[++i];
    m_Given.insert(name);
  }
}

std::string
Arguments::Get(const std::string & name) const
{
  return m_Values.at(name);
}

int
Arguments::Int(const std::string & name) const
{
  int v = 0;
  ParseParameter(Get(name), v, name.c_str());
  return v;
}

int
Arguments::Int(const std::string & name, int low, int high) const
{
  const int v = Int(name);
  if (v < low || v > high)
    throw std::invalid_argument("--" + name + " must be between " + std::to_string(low) + " and " + std::to_string(high) +
                                ", got " + std::to_string(v));
  return v;
}

double
Arguments::Double(const std::string & name) const
{
  double v = 0.0;
  ParseParameter(Get(name), v, name.c_str());
  return v;
}

bool
Arguments::Has(const std::string & name) const
{
  auto s = m_Switches.find(name);
  return s != m_Switches.end() ? s->second : !Get(name).empty();
}

MagnitudeImage::Pointer
Magnitude(const std::vector<std::complex<float>> & image, int64_t height, int64_t width)
{
  auto                     out = MagnitudeImage::New();
  MagnitudeImage::SizeType size{ { static_cast<itk::SizeValueType>(width), static_cast<itk::SizeValueType>(height) } };
  out->SetRegions(size);
  out->Allocate();
  std::transform(image.begin(), image.end(), out->GetBufferPointer(), [](std::complex<float> z) { return std::abs(z); });
  return out;
}

void
WriteMontagePNG(const std::vector<MagnitudeImage::Pointer> & panels, const std::string & path, size_t columns,
                float white, size_t zoom)
{
  using PNGImage = itk::Image<unsigned char, 2>;
  const auto source = panels.front()->GetLargestPossibleRegion().GetSize();
  const auto n = source[0] * source[1];
  zoom = std::max<size_t>(zoom, 1);
  const itk::Size<2> size{ { source[0] * zoom, source[1] * zoom } };
  if (!(white > 0.0f))
  {
    std::vector<float> reference(panels.front()->GetBufferPointer(), panels.front()->GetBufferPointer() + n);
    const auto         rank = static_cast<long>(0.995 * static_cast<double>(n - 1));
    std::nth_element(reference.begin(), reference.begin() + rank, reference.end());
    white = std::max(1e-30f, reference[static_cast<size_t>(rank)]);
  }
  const itk::SizeValueType gap = 4;
  if (columns == 0)
    columns = panels.size();
  const size_t rows = (panels.size() + columns - 1) / columns;

  auto               montage = PNGImage::New();
  PNGImage::SizeType montageSize{ { columns * (size[0] + gap) - gap, rows * (size[1] + gap) - gap } };
  montage->SetRegions(montageSize);
  montage->Allocate();
  montage->FillBuffer(0);
  for (size_t p = 0; p < panels.size(); ++p)
  {
    const size_t left = (p % columns) * (size[0] + gap), top = (p / columns) * (size[1] + gap);
    for (itk::SizeValueType y = 0; y < size[1]; ++y)
      for (itk::SizeValueType x = 0; x < size[0]; ++x)
      {
        const float v = panels[p]->GetBufferPointer()[(y / zoom) * source[0] + x / zoom] / white;
        montage->GetBufferPointer()[(top + y) * montageSize[0] + left + x] =
          static_cast<unsigned char>(std::lround(255.0f * std::clamp(v, 0.0f, 1.0f)));
      }
  }
  WriteImageAtomically(montage.GetPointer(), path);
}

namespace
{
double
Now()
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
} // namespace

ProgressLine::ProgressLine(std::string label)
  : m_Label(std::move(label))
  , m_Start(Now())
  , m_Terminal(isatty(fileno(stderr)) != 0)
{}

void
ProgressLine::Update(int done, int total)
{
  const int percent = 100 * done / std::max(1, total);
  if (!m_Terminal && percent / 10 == m_LastPercent / 10)
    return; // in logs: one line per 10 %
  m_LastPercent = percent;
  const double elapsed = Now() - m_Start, left = done > 0 ? elapsed * (total - done) / done : 0.0;
  const int    width = 30, filled = width * done / std::max(1, total);
  std::fprintf(stderr, "%s%s [%s%s] %3d%%  step %d/%d  %.0f s left%s", m_Terminal ? "\r" : "", m_Label.c_str(),
               std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(width - filled), '.').c_str(), percent, done, total, left,
               m_Terminal ? "   " : "\n");
  std::fflush(stderr);
}

namespace
{
/** An ITK observer that calls a std::function (ITK 5.2 has no LambdaCommand). */
class FunctionCommand : public itk::Command
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(FunctionCommand);
  using Self = FunctionCommand;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  void SetCallback(std::function<void(const itk::EventObject &)> f) { m_Function = std::move(f); }
  void Execute(itk::Object *, const itk::EventObject & event) override { m_Function(event); }
  void Execute(const itk::Object *, const itk::EventObject & event) override { m_Function(event); }

protected:
  FunctionCommand() = default;

private:
  std::function<void(const itk::EventObject &)> m_Function;
};
} // namespace

std::map<std::string, std::string>
SamplerFlagDefaults()
{
  // The defaults shown are the default preset's; a flag given on the command line overrides the
  // preset chosen with --preset (see SamplerConfig).
  const DAPSConfig                   c;
  std::map<std::string, std::string> defaults{ { "model", "" }, { "device", "cpu" }, { "preset", PresetNames[0] },
                                               { "threads", "0" } };
#define DAPSMRI_FLAG_DEFAULT(field, Name, type, flag, placeholder, help) defaults[flag] = ParameterText(c.field);
  DAPSMRI_DAPS_PARAMETERS(DAPSMRI_FLAG_DEFAULT)
#undef DAPSMRI_FLAG_DEFAULT
  return defaults;
}

std::string
SamplerFlagUsage()
{
  const auto         d = SamplerFlagDefaults();
  std::ostringstream u;
  // "  --flag VALUE" then the text from column 26, wrapped at 100 columns.
  const auto line = [&u](const std::string & flag, const std::string & text) {
    const std::string head = "  --" + flag;
    size_t            column = head.size() < 25 ? 25 : head.size() + 1;
    u << head << std::string(column - head.size(), ' ');
    std::istringstream words(text);
    for (std::string word, separator; words >> word; separator = " ")
    {
      if (column + separator.size() + word.size() > 100)
      {
        u << '\n' << std::string(25, ' ');
        column = 25;
        separator.clear();
      }
      u << separator << word;
      column += separator.size() + word.size();
    }
    u << '\n';
  };
  line("preset NAME", "mri (default: tuned for MRI) | reference (the paper's DAPS as published);");
  u << std::string(25, ' ') << "the flags below override single values of the preset\n";
#define DAPSMRI_FLAG_USAGE(field, Name, type, flag, placeholder, help)                                                 \
  line(std::string(flag) + " " + placeholder, std::string(help) + " (default " + d.at(flag) + ")");
  DAPSMRI_DAPS_PARAMETERS(DAPSMRI_FLAG_USAGE)
#undef DAPSMRI_FLAG_USAGE
  line("threads N", "threads (default: all cores)");
  return u.str();
}

DAPSConfig
SamplerConfig(const Arguments & args, const DAPSConfig & defaults)
{
  // The preset first, then only the flags given on the command line.
  DAPSConfig c = args.Given("preset") ? Preset(args.Get("preset")) : defaults;
#define DAPSMRI_FLAG_VALUE(field, Name, type, flag, placeholder, help)                                                 \
  if (args.Given(flag))                                                                                                \
    ParseParameter(args.Get(flag), c.field, flag);
  DAPSMRI_DAPS_PARAMETERS(DAPSMRI_FLAG_VALUE)
#undef DAPSMRI_FLAG_VALUE
  return c;
}

std::unique_ptr<OutputFile>
ReturnParametersToTemporary(const std::string & path, const DAPSStatistics & statistics, double relativeResidual,
                            double intensityScale)
{
  auto          target = std::make_unique<OutputFile>(path);
  std::ofstream file(target->TemporaryPath());
  file.precision(10);
  file << "denoiserEvaluations = " << statistics.denoiserEvaluations << '\n'
       << "dataGradients = " << statistics.dataGradients << '\n'
       << "seconds = " << statistics.totalSeconds << '\n'
       << "relativeResidual = " << relativeResidual << '\n'
       << "usedIntensityScale = " << intensityScale << '\n';
  file.close();
  if (!file)
    throw std::runtime_error("could not write " + path + " (is the disk full?)");
  return target;
}

std::string
ModelPath(const Arguments & args, bool required)
{
  const std::string model = args.Has("model") ? args.Get("model") : Prior::ShippedModelPath();
  if (model.empty() && required)
    throw std::invalid_argument("no prior: pass --model PATH (no shipped model was found)");
  return model;
}

template <typename TInputImage, typename TOutputImage>
std::string
ConfigureFilter(itk::DAPSImageFilterBase<TInputImage, TOutputImage> * filter, const Arguments & args,
                bool allowGaussianFallback)
{
  const std::string model = ModelPath(args, !allowGaussianFallback);
  if (!model.empty())
  {
    filter->SetModelFileName(model);
    filter->SetDevice(args.Get("device"));
  }
  else
  {
    filter->SetPrior(Prior::Gaussian({ 0.0f, 0.0f }, 0.5));
  }
  filter->SetDAPSConfig(SamplerConfig(args, filter->GetDAPSConfig()));
  filter->SetNumberOfThreads(args.Int("threads", 0, MaximumThreads));
  return model;
}

/** The base classes of the tools' filters. */
using MRIBase = itk::DAPSImageFilterBase<MultiCoilImage, itk::Image<std::complex<float>, 2>>;
using RestorationBase = itk::DAPSImageFilterBase<MagnitudeImage, MagnitudeImage>;
using ComplexRestorationBase = itk::DAPSImageFilterBase<MagnitudeImage, itk::Image<std::complex<float>, 2>>;
template std::string ConfigureFilter(MRIBase *, const Arguments &, bool);
template std::string ConfigureFilter(RestorationBase *, const Arguments &, bool);
template std::string ConfigureFilter(ComplexRestorationBase *, const Arguments &, bool);

ProgressReport::ProgressReport(std::string name)
  : m_Line(name)
  , m_Name(std::move(name))
  , m_Slicer(isatty(fileno(stdout)) == 0)
  , m_Start(Now())
{}

void
ProgressReport::Start()
{
  m_Start = Now();
  if (m_Slicer)
    std::printf("<filter-start><filter-name>%s</filter-name><filter-comment>DAPS annealing</filter-comment>"
                "</filter-start>\n",
                m_Name.c_str());
  std::fflush(stdout);
}

void
ProgressReport::Update(int done, int total)
{
  m_Line.Update(done, total);
  if (m_Slicer)
    std::printf("<filter-progress>%.4f</filter-progress>\n", static_cast<double>(done) / std::max(1, total));
  std::fflush(stdout);
}

void
ProgressReport::End()
{
  m_Line.Finish();
  if (m_Slicer)
    std::printf("<filter-end><filter-name>%s</filter-name><filter-time>%.1f</filter-time></filter-end>\n",
                m_Name.c_str(), Now() - m_Start);
  std::fflush(stdout);
}

ProgressFunction
ProgressReport::Function()
{
  return [this](int done, int total) {
    Update(done, total);
    return true;
  };
}

template <typename TInputImage, typename TOutputImage>
void
ObserveProgress(itk::DAPSImageFilterBase<TInputImage, TOutputImage> * filter, const std::string & name)
{
  auto report = std::make_shared<ProgressReport>(name);
  auto onStart = FunctionCommand::New();
  onStart->SetCallback([report](const itk::EventObject &) { report->Start(); });
  auto onIteration = FunctionCommand::New();
  onIteration->SetCallback([report, filter](const itk::EventObject &) {
    const int total = filter->GetNumberOfAnnealingSteps();
    report->Update(static_cast<int>(std::lround(filter->GetProgress() * total)), total);
  });
  auto onEnd = FunctionCommand::New();
  onEnd->SetCallback([report](const itk::EventObject &) { report->End(); });
  filter->AddObserver(itk::StartEvent(), onStart);
  filter->AddObserver(itk::IterationEvent(), onIteration);
  filter->AddObserver(itk::EndEvent(), onEnd);
}

template void ObserveProgress(MRIBase *, const std::string &);
template void ObserveProgress(RestorationBase *, const std::string &);
template void ObserveProgress(ComplexRestorationBase *, const std::string &);

void
ProgressLine::Finish()
{
  if (m_Terminal)
    std::fprintf(stderr, "\n");
}

} // namespace dapsmri::app
