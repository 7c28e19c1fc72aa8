# Third-party dependencies and options, found once for every build mode.
option(DAPSMRI_BUILD_ITK "Build the ITK layer (OFF: the LibTorch/FFTW engine and its tests only)" ON)
option(DAPSMRI_BUILD_APPS "Build the command-line tools" ON)
option(DAPSMRI_BUILD_BENCHMARKS "Build the Google Benchmark executables" ON)
option(DAPSMRI_USE_CUDA "Build the cuFFT / CUDA backends" OFF)
option(DAPSMRI_SANITIZE "Instrument everything with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

option(DAPSMRI_LIBFUZZER "Coverage-guided libFuzzer targets for the readers that need no ITK (Clang, -DDAPSMRI_BUILD_ITK=OFF)" OFF)

if(DAPSMRI_LIBFUZZER)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR DAPSMRI_BUILD_ITK)
    message(FATAL_ERROR "DAPSMRI_LIBFUZZER needs Clang (CC=clang CXX=clang++) and -DDAPSMRI_BUILD_ITK=OFF: "
      "Debian's ITK headers accept only GCC")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(DAPSMRI_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

find_package(Torch REQUIRED)
find_package(ISMRMRD REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C) # the reader silences and checks HDF5 itself
find_package(PkgConfig REQUIRED)
pkg_check_modules(FFTW3F REQUIRED IMPORTED_TARGET fftw3f)
find_library(FFTW3F_THREADS_LIBRARY NAMES fftw3f_threads HINTS ${FFTW3F_LIBRARY_DIRS} REQUIRED)

if(DAPSMRI_USE_CUDA)
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
endif()
