#ifndef dapsmriErrors_h
#define dapsmriErrors_h

// Turns the engine's exceptions (standard, LibTorch's, an abort) into itk::ExceptionObject at the
// facade boundary.
#include "dapsmriSampler.h"
#include "dapsmriStandardErrors.h"

#include "itkMacro.h"
#include "itkProcessObject.h"

#include <string>

namespace dapsmri
{

inline std::string
FirstLine(const std::string & text)
{
  return text.substr(0, text.find('\n'));
}

template <typename F>
auto
TranslateErrors(const char * where, F && f) -> decltype(f())
{
  return TranslateStandardErrors(where, [&]() -> decltype(f()) {
    try
    {
      return f();
    }
    catch (const Aborted & e)
    {
      itk::ProcessAborted aborted(__FILE__, __LINE__);
      aborted.SetDescription(e.what());
      aborted.SetLocation(where);
      throw aborted;
    }
    catch (const c10::Error & e)
    {
      throw itk::ExceptionObject(__FILE__, __LINE__, "LibTorch error: " + FirstLine(e.what()), where);
    }
  });
}

} // namespace dapsmri

#endif
