// daps-montage: puts the middle slice of several images side by side in one PNG, on the grey
// scale of the first (the reference), and prints each one's PSNR against it.
#include "dapsmriAppUtilities.h"

#include "itkImageFileReader.h"

#include <cmath>
#include <iostream>

int
main(int argc, char * argv[])
{
  using namespace dapsmri;
  return app::Main("daps-montage", [&] {
    app::Arguments args(argc, argv, {}, { "help" });
    if (args.Has("help") || args.Positional().size() < 2)
    {
      std::cout << "usage: daps-montage OUTPUT.png REFERENCE IMAGE...\n";
      return args.Has("help") ? 0 : 2;
    }
    const auto & files = args.Positional();
    app::CheckImageOutputPath(files[0]);
    using Volume = itk::Image<float, 3>;
    std::vector<app::MagnitudeImage::Pointer> panels;
    for (size_t i = 1; i < files.size(); ++i)
    {
      auto reader = itk::ImageFileReader<Volume>::New();
      reader->SetFileName(files[i]);
      reader->Update();
      const auto size = reader->GetOutput()->GetLargestPossibleRegion().GetSize();
      if (!panels.empty() && (size[0] != panels[0]->GetLargestPossibleRegion().GetSize()[0] ||
                              size[1] != panels[0]->GetLargestPossibleRegion().GetSize()[1]))
        throw std::invalid_argument(files[i] + " does not have the reference's size");
      const size_t plane = size[0] * size[1];
      const auto * start = reader->GetOutput()->GetBufferPointer() + (size[2] / 2) * plane;
      std::vector<std::complex<float>> values(start, start + plane);
      panels.push_back(app::Magnitude(values, static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0])));
    }
    const auto * reference = panels[0]->GetBufferPointer();
    const size_t n = panels[0]->GetLargestPossibleRegion().GetNumberOfPixels();
    const float  peak = *std::max_element(reference, reference + n);
    for (size_t i = 1; i < panels.size(); ++i)
    {
      double se = 0.0;
      for (size_t p = 0; p < n; ++p)
        se += std::pow(panels[i]->GetBufferPointer()[p] - reference[p], 2);
      std::cout << files[i + 1] << ": PSNR " << 10.0 * std::log10(peak * peak / (se / n)) << " dB\n";
    }
    app::WriteMontagePNG(panels, files[0]);
    return 0;
  });
}
