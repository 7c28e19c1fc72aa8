#include "dapsmriAppUtilities.h"

#include "itkImageIOFactory.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <unistd.h>

namespace dapsmri::app
{

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
  try
  {
    size_t used = 0;
    const int v = std::stoi(Get(name), &used);
    if (used == Get(name).size())
      return v;
  }
  catch (const std::exception &)
  {
  }
  throw std::invalid_argument("--" + name + " needs an integer, got \"" + Get(name) + "\"");
}

double
Arguments::Double(const std::string & name) const
{
  try
  {
    size_t       used = 0;
    const double v = std::stod(Get(name), &used);
    if (used == Get(name).size())
      return v;
  }
  catch (const std::exception &)
  {
  }
  throw std::invalid_argument("--" + name + " needs a number, got \"" + Get(name) + "\"");
}

bool
Arguments::Has(const std::string & name) const
{
  auto s = m_Switches.find(name);
  return s != m_Switches.end() ? s->second : !Get(name).empty();
}

void
CheckImageOutputPath(const std::string & path)
{
  namespace fs = std::filesystem;
  const fs::path folder = fs::path(path).parent_path();
  if (!folder.empty() && !fs::is_directory(folder))
    throw std::invalid_argument("cannot write " + path + ": the folder " + folder.string() + " does not exist");
  if (!itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::WriteMode))
    throw std::invalid_argument("cannot write " + path + ": unknown image format (use .nii.gz, .nrrd, .mha or .png)");
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
WriteMontagePNG(const std::vector<MagnitudeImage::Pointer> & panels, const std::string & path)
{
  using PNGImage = itk::Image<unsigned char, 2>;
  const auto size = panels.front()->GetLargestPossibleRegion().GetSize();
  const auto n = size[0] * size[1];
  std::vector<float> reference(panels.front()->GetBufferPointer(), panels.front()->GetBufferPointer() + n);
  std::nth_element(reference.begin(), reference.begin() + static_cast<long>(0.995 * (n - 1)), reference.end());
  const float white = std::max(1e-30f, reference[static_cast<size_t>(0.995 * (n - 1))]);
  const itk::SizeValueType gap = 4;

  auto               montage = PNGImage::New();
  PNGImage::SizeType montageSize{ { panels.size() * (size[0] + gap) - gap, size[1] } };
  montage->SetRegions(montageSize);
  montage->Allocate();
  montage->FillBuffer(0);
  for (size_t p = 0; p < panels.size(); ++p)
  {
    for (itk::SizeValueType y = 0; y < size[1]; ++y)
      for (itk::SizeValueType x = 0; x < size[0]; ++x)
      {
        const float v = panels[p]->GetBufferPointer()[y * size[0] + x] / white;
        montage->GetBufferPointer()[y * montageSize[0] + p * (size[0] + gap) + x] =
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

void
ProgressLine::Finish()
{
  if (m_Terminal)
    std::fprintf(stderr, "\n");
}

} // namespace dapsmri::app
