# Third-party dependencies and options, found once for every build mode.
include(GNUInstallDirs)
set(DAPSMRI_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/DAPSMRI)
option(DAPSMRI_BUILD_ITK "Build the ITK layer (OFF: the LibTorch/FFTW engine and its tests only)" ON)
option(DAPSMRI_BUILD_APPS "Build the command-line tools" ON)
option(DAPSMRI_BUILD_BENCHMARKS "Build the Google Benchmark executables" ON)
option(DAPSMRI_BUILD_PYTHON "Build the dapsmri Python module (pybind11, numpy arrays; no ITK Python needed)" ON)
if(DAPSMRI_BUILD_PYTHON AND NOT DEFINED DAPSMRI_INSTALL_PYTHONDIR)
  # Built for Debian's python3 (its numpy, its dist-packages) rather than the first python3 on the
  # PATH (a pyenv or virtualenv one may lack numpy), unless -DPython3_EXECUTABLE says otherwise.
  find_program(DAPSMRI_DEBIAN_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(DAPSMRI_DEBIAN_PYTHON AND NOT Python3_EXECUTABLE)
    set(Python3_EXECUTABLE ${DAPSMRI_DEBIAN_PYTHON} CACHE FILEPATH "The Python the dapsmri module is built for")
  endif()
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  # Installed where Debian's python3 looks: /usr/lib/python3/dist-packages for packages, else
  # <prefix>/lib/python3.X/dist-packages (for /usr/local, on sys.path by default).
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(DAPSMRI_INSTALL_PYTHONDIR lib/python3/dist-packages)
  else()
    set(DAPSMRI_INSTALL_PYTHONDIR lib/python3.${Python3_VERSION_MINOR}/dist-packages)
  endif()
endif()
option(DAPSMRI_USE_CUDA "Build the cuFFT / CUDA backends" OFF)
option(DAPSMRI_SANITIZE "Instrument everything with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

option(DAPSMRI_LIBFUZZER "Coverage-guided libFuzzer targets for the readers that need no ITK (Clang, -DDAPSMRI_BUILD_ITK=OFF)" OFF)

if(DAPSMRI_LIBFUZZER)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR DAPSMRI_BUILD_ITK)
    message(FATAL_ERROR "DAPSMRI_LIBFUZZER needs Clang (CC=clang CXX=clang++) and -DDAPSMRI_BUILD_ITK=OFF: "
      "Debian's ITK headers accept only GCC")
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=fuzzer-no-link,address,undefined;-fno-sanitize-recover=undefined;-fno-omit-frame-pointer>")
  add_link_options(-fsanitize=address,undefined)
elseif(DAPSMRI_SANITIZE)
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=address,undefined;-fno-sanitize-recover=undefined;-fno-omit-frame-pointer>")
  add_link_options(-fsanitize=address,undefined)
endif()

find_package(Torch REQUIRED)
# At least C++17 (the code; Debian's LibTorch 1.13 and LibTorch 2.x up to 2.11), C++20 for later
# LibTorch releases; a higher standard set by the caller (an ITK tree) is kept.
set(_dapsmri_cxx_standard 17)
if(Torch_VERSION VERSION_GREATER_EQUAL 2.12)
  set(_dapsmri_cxx_standard 20)
endif()
if(NOT CMAKE_CXX_STANDARD OR CMAKE_CXX_STANDARD LESS _dapsmri_cxx_standard)
  set(CMAKE_CXX_STANDARD ${_dapsmri_cxx_standard})
endif()
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

# FFTW by plain search (no pkg-config): the GPU check finds it unpacked from Debian's .deb files
# through CMAKE_PREFIX_PATH on machines without pkg-config.
find_path(FFTW3F_INCLUDE_DIR fftw3.h REQUIRED)
find_library(FFTW3F_LIBRARY NAMES fftw3f REQUIRED)
find_library(FFTW3F_THREADS_LIBRARY NAMES fftw3f_threads REQUIRED)
find_path(NLOHMANN_JSON_INCLUDE_DIR nlohmann/json.hpp REQUIRED)
if(NOT TARGET DAPSMRI::FFTW3F)
  add_library(DAPSMRI::FFTW3F INTERFACE IMPORTED)
  set_target_properties(DAPSMRI::FFTW3F PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${FFTW3F_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${FFTW3F_THREADS_LIBRARY};${FFTW3F_LIBRARY}")
endif()

if(DAPSMRI_BUILD_ITK OR ITK_SOURCE_DIR)
  find_package(ISMRMRD REQUIRED)
  find_package(HDF5 REQUIRED COMPONENTS C) # the reader silences and checks HDF5 itself
endif()

# CUDA: the cuFFT SENSE kernels build wherever the toolkit is (CI has one, no GPU). The operator
# that runs them on LibTorch's tensors and stream needs a LibTorch built with CUDA (Debian's is
# CPU-only; a CUDA PyTorch's torch.utils.cmake_prefix_path has one).
set(DAPSMRI_TORCH_CUDA OFF)
if(DAPSMRI_USE_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    # Turing to Hopper as machine code, plus PTX for the GPUs that came after.
    set(CMAKE_CUDA_ARCHITECTURES 75-real 80-real 86-real 89-real 90-real 90-virtual)
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  if(TARGET c10_cuda OR C10_CUDA_LIBRARY)
    set(DAPSMRI_TORCH_CUDA ON)
  endif()
  message(STATUS "DAPSMRI: cuFFT backend on; LibTorch with CUDA: ${DAPSMRI_TORCH_CUDA}")
endif()
