#ifndef dapsmriStandardErrors_h
#define dapsmriStandardErrors_h

// The library's public functions throw itk::ExceptionObject: this turns the standard exceptions
// of the code below them into one, keeping the message. Torch-free (see dapsmriErrors.h for the
// engine's own exceptions).
#include "itkMacro.h"

#include <exception>
#include <stdexcept>

namespace dapsmri
{

template <typename F>
auto
TranslateStandardErrors(const char * where, F && f) -> decltype(f())
{
  try
  {
    return f();
  }
  catch (const itk::ExceptionObject &)
  {
    throw;
  }
  catch (const std::invalid_argument & e) // bad input: callers (the Python module) may tell it apart
  {
    throw itk::InvalidArgumentError(__FILE__, __LINE__, e.what(), where);
  }
  catch (const std::exception & e)
  {
    throw itk::ExceptionObject(__FILE__, __LINE__, e.what(), where);
  }
}

} // namespace dapsmri

#endif
