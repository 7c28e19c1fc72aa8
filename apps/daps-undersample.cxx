// daps-undersample: keeps a fastMRI-style subset of the phase-encode lines of a fully sampled
// ISMRMRD file, for studies of accelerated acquisitions on real raw data.
#include "dapsmriAppUtilities.h"
#include "dapsmriISMRMRDReader.h"
#include "dapsmriSimulation.h"

#include <iostream>

int
main(int argc, char * argv[])
{
  using namespace dapsmri;
  return app::Main("daps-undersample", [&] {
    app::Arguments args(argc, argv,
                        { { "acceleration", "4" }, { "center-fraction", "0.08" }, { "seed", "0" }, { "dataset", "dataset" },
                          { "mask", "random" } },
                        { "help" });
    if (args.Has("help") || args.Positional().size() != 2)
    {
      std::cout << "usage: daps-undersample INPUT.h5 OUTPUT.h5 [--acceleration R] [--center-fraction F]\n"
                   "                        [--mask random|equispaced|variable-density] [--seed S] [--dataset NAME]\n";
      return args.Has("help") ? 0 : 2;
    }
    if (args.Int("seed") < 0)
      throw std::invalid_argument("--seed must not be negative");
    const auto data = ReadISMRMRD(args.Positional()[0], { args.Get("dataset"), false });
    const int64_t H = data.slices.front().height;
    if (args.Get("mask") == "poisson")
      throw std::invalid_argument("a 2-D Poisson-disc mask needs two phase-encode directions; 2-D raw data has one");
    const auto mask = UndersamplingMask(args.Get("mask"), H, 1, args.Double("acceleration"), args.Double("center-fraction"),
                                    static_cast<uint64_t>(args.Int("seed")));
    const auto kept = UndersampleISMRMRD(args.Positional()[0], args.Positional()[1], mask, args.Get("dataset"));
    std::cerr << "kept " << kept << " of " << H << " phase-encode lines; wrote " << args.Positional()[1] << '\n';
    return 0;
  });
}
