// daps-prior-samples: draws images from a prior alone (DAPS with no measurement) and writes them
// as a PNG montage, to see what the prior believes images look like.
#include "dapsmriAppUtilities.h"

#include <iostream>

int
main(int argc, char * argv[])
{
  using namespace dapsmri;
  return app::Main("daps-prior-samples", [&] {
    auto defaults = app::SamplerFlagDefaults();
    defaults.insert({ { "size", "128" }, { "count", "16" }, { "columns", "4" }, { "zoom", "1" } });
    defaults["preset"] = "reference"; // sampling from sigma 100: the "mri" preset starts at 10, where data exist
    app::Arguments args(argc, argv, defaults, { "help" });
    if (args.Has("help") || args.Positional().size() != 1)
    {
      std::cout << "usage: daps-prior-samples OUTPUT.png [--model PATH] [--size N] [--count K] [--columns C]\n"
                   "                          [--zoom Z (each pixel as ZxZ in the PNG)]\n"
                   "                          [--steps N] [--ode-steps N] [--ode-solver euler|heun] [--mcmc-steps N]\n"
                   "                          [--preset reference|mri] [--seed S] [--threads N]\n"
                   "--steps 1 --ode-solver heun --ode-steps 18 is the plain EDM sampler (probability-flow ODE\n"
                   "from sigma 100); the montage shows magnitudes on the prior's scale (1 = the 99th percentile).\n";
      return args.Has("help") ? 0 : 2;
    }
    const std::string output = args.Positional()[0];
    app::CheckImageOutputPath(output);
    const std::string model = args.Has("model") ? args.Get("model") : Prior::ShippedModelPath();
    if (model.empty())
      throw std::invalid_argument("no prior: pass --model PATH");
    const Prior   prior = Prior::Load(model, args.Get("device"));
    const int64_t N = args.Int("size", 8, 4096);
    const int     count = args.Int("count", 1, 1024);
    args.Int("columns", 1, 1024);
    args.Int("zoom", 1, 16);

    ReconstructionSettings settings;
    settings.daps = app::SamplerConfig(args);
    settings.threads = args.Int("threads", 0, MaximumThreads);
    app::ProgressLine progress("prior samples");
    const auto        images = SamplePrior(prior, N, N, count, settings, [&](int done, int total) {
      progress.Update(done, total);
      return true;
    });
    progress.Finish();
    std::vector<app::MagnitudeImage::Pointer> panels;
    for (int i = 0; i < count; ++i)
    {
      std::vector<std::complex<float>> one(images.begin() + i * N * N, images.begin() + (i + 1) * N * N);
      panels.push_back(app::Magnitude(one, N, N));
    }
    app::WriteMontagePNG(panels, output, static_cast<size_t>(args.Int("columns")), 1.0f,
                         static_cast<size_t>(args.Int("zoom")));
    std::cerr << "wrote " << count << " samples of " << model << " to " << output << '\n';
    return 0;
  });
}
