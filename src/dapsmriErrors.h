#ifndef dapsmriErrors_h
#define dapsmriErrors_h

// Turns the engine's standard exceptions into itk::ExceptionObject at the facade boundary.
#include "dapsmriSampler.h"

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
  try
  {
    return f();
  }
  catch (const itk::ExceptionObject &)
  {
    throw;
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
  catch (const std::exception & e)
  {
    throw itk::ExceptionObject(__FILE__, __LINE__, e.what(), where);
  }
}

} // namespace dapsmri

#endif
