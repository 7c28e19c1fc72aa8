# Third-party dependencies and options, found once for every build mode.
option(DAPSMRI_BUILD_ITK "Build the ITK layer (OFF: the LibTorch/FFTW engine and its tests only)" ON)
option(DAPSMRI_BUILD_APPS "Build the command-line tools" ON)
option(DAPSMRI_BUILD_BENCHMARKS "Build the Google Benchmark executables" ON)
option(DAPSMRI_USE_CUDA "Build the cuFFT / CUDA backends" OFF)
option(DAPSMRI_SANITIZE "Instrument everything with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

if(DAPSMRI_SANITIZE)
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
