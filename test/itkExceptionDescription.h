#ifndef itkExceptionDescription_h
#define itkExceptionDescription_h

// For the error tests: the description of the itk::ExceptionObject that f() throws.
#include "itkMacro.h"

#include <string>

template <typename F>
std::string
ErrorOf(F && f)
{
  try
  {
    f();
  }
  catch (const itk::ExceptionObject & e)
  {
    return e.GetDescription();
  }
  return "(no exception)";
}

#endif
