#ifndef dapsmriStopwatch_h
#define dapsmriStopwatch_h

// Wall-clock time for the run statistics (DAPSStatistics, RawDataReconstruction). Plain C++.
#include <chrono>

namespace dapsmri
{

using Clock = std::chrono::steady_clock;

/** Seconds from `start` to now. */
inline double
SecondsSince(Clock::time_point start)
{
  return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace dapsmri

#endif
