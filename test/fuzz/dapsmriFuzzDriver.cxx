// A small stand-in for libFuzzer's main (Debian's ITK headers accept only GCC, and libFuzzer
// needs Clang): it runs every seed file, then `-runs=N` inputs made from the seeds by random
// byte-level mutations (deterministic for a given `-seed=S`), or as many as fit in
// `-max_total_time=SECONDS`. A target reports a bug by crashing (or through the sanitizers).
//   dapsmriFuzzXxx [-runs=N] [-max_total_time=S] [-seed=S] SEED_FILE...
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

namespace
{
using Bytes = std::vector<uint8_t>;

/** One to eight edits of the kinds that find parser bugs: flipped bits, random and boundary
 * bytes, inserted and deleted bytes, copied blocks, truncation. */
Bytes
Mutate(Bytes input, std::mt19937_64 & random)
{
  const auto below = [&random](size_t n) { return n == 0 ? size_t{ 0 } : static_cast<size_t>(random() % n); };
  const int  edits = 1 + static_cast<int>(random() % 8);
  for (int e = 0; e < edits && !input.empty(); ++e)
  {
    const size_t at = below(input.size());
    switch (random() % 7)
    {
      case 0:
        input[at] ^= static_cast<uint8_t>(1u << (random() % 8));
        break;
      case 1:
        input[at] = static_cast<uint8_t>(random());
        break;
      case 2:
      {
        static const uint8_t boundary[] = { 0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff };
        input[at] = boundary[below(sizeof(boundary))];
        break;
      }
      case 3:
        input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(random()));
        break;
      case 4:
        input.erase(input.begin() + static_cast<std::ptrdiff_t>(at));
        break;
      case 5:
      {
        const size_t from = below(input.size()), length = 1 + below(std::min<size_t>(64, input.size() - std::max(at, from)));
        std::memmove(input.data() + at, input.data() + from, length);
        break;
      }
      default:
        input.resize(at + 1);
        break;
    }
  }
  return input;
}
} // namespace

int
main(int argc, char * argv[])
{
  long           runs = 1000;
  double         seconds = 0.0; // no time limit
  uint64_t       seed = 1;
  std::vector<Bytes> seeds;
  for (int i = 1; i < argc; ++i)
  {
    const std::string argument = argv[i];
    if (argument.rfind("-runs=", 0) == 0)
      runs = std::atol(argument.c_str() + 6);
    else if (argument.rfind("-max_total_time=", 0) == 0)
    {
      seconds = std::atof(argument.c_str() + 16);
      runs = -1; // as many as fit
    }
    else if (argument.rfind("-seed=", 0) == 0)
      seed = std::strtoull(argument.c_str() + 6, nullptr, 10);
    else if (argument[0] == '-')
      std::cerr << "ignoring libFuzzer flag " << argument << '\n';
    else
    {
      std::ifstream file(argument, std::ios::binary);
      if (!file)
      {
        std::cerr << "cannot read seed " << argument << '\n';
        return 2;
      }
      seeds.emplace_back(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
  }
  if (seeds.empty())
  {
    std::cerr << "usage: " << argv[0] << " [-runs=N] [-max_total_time=S] [-seed=S] SEED_FILE...\n";
    return 2;
  }
  for (const auto & s : seeds)
    LLVMFuzzerTestOneInput(s.data(), s.size());
  std::mt19937_64 random(seed);
  const auto      start = std::chrono::steady_clock::now();
  long            done = 0;
  for (; runs < 0 || done < runs; ++done)
  {
    if (runs < 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds)
      break;
    const Bytes input = Mutate(seeds[static_cast<size_t>(random() % seeds.size())], random);
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::cout << "ran " << seeds.size() << " seeds and " << done << " mutated inputs without a crash\n";
  return 0;
}
