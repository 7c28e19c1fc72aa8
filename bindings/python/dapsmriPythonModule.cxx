// The dapsmri Python module: numpy arrays in and out over the library's plain C++ facade
// (dapsmriReconstruction.h, dapsmriRawDataReconstruction.h, dapsmriISMRMRDReader.h). No ITK and
// no LibTorch headers here; the work runs with the GIL released.
#include "dapsmriDAPSConfig.h"
#include "dapsmriISMRMRDReader.h"
#include "dapsmriRawDataReconstruction.h"
#include "dapsmriReconstruction.h"
#include "dapsmriRestoration.h"

#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace py = pybind11;
using namespace dapsmri;
using Complex = std::complex<float>;

namespace
{

PyObject * CancelledError = nullptr; // dapsmri.Cancelled, made when the module loads

[[noreturn]] void
RaisePython(PyObject * type, const std::string & message)
{
  PyErr_SetString(type, message.c_str());
  throw py::error_already_set();
}

/** Raises the library's exception as dapsmri.Cancelled (aborted), ValueError (bad input) or
 * RuntimeError, with the message the command-line tools print. Needs the GIL. */
[[noreturn]] void
RaiseTranslated(const std::exception_ptr & failure)
{
  try
  {
    std::rethrow_exception(failure);
  }
  catch (const py::error_already_set &)
  {
    throw;
  }
  catch (const std::exception & e)
  {
    const ErrorDescription d = DescribeError(e);
    RaisePython(d.kind == ErrorDescription::Kind::Aborted        ? CancelledError
                : d.kind == ErrorDescription::Kind::InvalidInput ? PyExc_ValueError
                                                                 : PyExc_RuntimeError,
                d.message);
  }
}

/** A Python progress(done, total) callback as a ProgressFunction, called with the GIL held.
 * Returning False cancels; an exception it raises cancels too and is raised again when the call
 * returns (Raise()). Ctrl-C cancels as well, with or without a callback. */
class PythonProgress
{
public:
  explicit PythonProgress(py::object callback)
    : m_Callback(std::move(callback))
  {
    if (!m_Callback.is_none() && !PyCallable_Check(m_Callback.ptr()))
      throw py::type_error("progress must be callable as progress(done, total), or None");
  }

  ProgressFunction
  Function()
  {
    return [this](int done, int total) {
      py::gil_scoped_acquire gil;
      try
      {
        if (PyErr_CheckSignals() != 0)
          throw py::error_already_set();
        return m_Callback.is_none() || !m_Callback(done, total).is(py::bool_(false));
      }
      catch (py::error_already_set & e)
      {
        m_Error = std::make_shared<py::error_already_set>(std::move(e));
        return false;
      }
    };
  }

  /** Raises what the callback raised, if it did. */
  void
  Raise() const
  {
    if (m_Error)
      throw *m_Error;
  }

private:
  py::object                             m_Callback;
  std::shared_ptr<py::error_already_set> m_Error;
};

/** f() with the GIL released; the library's exceptions (or the progress callback's own) raised
 * as Python exceptions. */
template <typename F>
auto
Run(const PythonProgress * progress, F && f) -> decltype(f())
{
  std::exception_ptr failure;
  {
    py::gil_scoped_release release;
    try
    {
      return f();
    }
    catch (...)
    {
      failure = std::current_exception();
    }
  }
  if (progress)
    progress->Raise();
  RaiseTranslated(failure);
}

// --- Arrays ----------------------------------------------------------------------------------

/** `values` as a numpy array of `shape` (C order) that owns them. */
template <typename T>
py::array_t<T>
ToArray(std::vector<T> values, const std::vector<py::ssize_t> & shape)
{
  auto *     owner = new std::vector<T>(std::move(values));
  py::capsule free(owner, [](void * p) { delete static_cast<std::vector<T> *>(p); });
  return py::array_t<T>(shape, owner->data(), free);
}

std::string
ShapeText(const py::array & a)
{
  std::string text = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d)
    text += (d ? ", " : "") + std::to_string(a.shape(d));
  return text + (a.ndim() == 1 ? ",)" : ")");
}

/** `value` as a C-ordered numpy array of `dtype`, or ValueError unless its dtype's kind is one
 * of `kinds` (numpy's letters). */
py::array
AsArray(py::handle value, const char * name, const char * kinds, const char * dtype, const char * expected)
{
  const auto numpy = py::module_::import("numpy");
  py::array  a = numpy.attr("asarray")(value);
  if (std::strchr(kinds, a.dtype().kind()) == nullptr)
    throw py::value_error(std::string(name) + " must be " + expected + ", got an array of " +
                          py::str(a.dtype()).cast<std::string>());
  return numpy.attr("ascontiguousarray")(a, dtype);
}

py::array_t<Complex>
ComplexArray(py::handle value, const char * name)
{
  return AsArray(value, name, "cfiu", "complex64", "a complex (or real) numeric array");
}

/** Any nonzero value of a mask (0.5 too) is a sample. */
py::array_t<uint8_t>
MaskArray(py::handle value)
{
  const auto numpy = py::module_::import("numpy");
  const auto a = AsArray(value, "mask", "biuf", "float64", "a boolean or numeric array (nonzero where sampled)");
  if (!numpy.attr("isfinite")(a).attr("all")().cast<bool>())
    throw py::value_error("mask holds NaN or Inf; give 1 (or any finite nonzero value) where sampled, 0 elsewhere");
  return numpy.attr("ascontiguousarray")(numpy.attr("not_equal")(a, 0), "uint8");
}

/** One slice (H, W, C) or a stack (S, H, W, C) of multi-coil k-space with its mask and maps,
 * converted to the library's layout (C order: x fastest, coils interleaved). */
struct Slices
{
  py::array_t<Complex> kSpace, maps;
  py::array_t<uint8_t> mask;
  bool                 stack = false, sharedMask = false, hasMaps = false;
  int64_t              count = 1, height = 0, width = 0, coils = 0;

  std::vector<MultiCoilData>
  Data() const
  {
    std::vector<MultiCoilData> data;
    const int64_t              plane = height * width;
    for (int64_t s = 0; s < count; ++s)
      data.push_back(MultiCoilData{ kSpace.data() + s * plane * coils, hasMaps ? maps.data() + s * plane * coils : nullptr,
                                    mask.data() + (sharedMask ? 0 : s * plane), height, width, coils });
    return data;
  }

  /** Per-slice images (S x H x W values) as (H, W) or (S, H, W). */
  std::vector<py::ssize_t>
  ImageShape() const
  {
    if (stack)
      return { count, height, width };
    return { height, width };
  }
};

Slices
ReadSlices(py::handle kSpace, py::handle mask, py::handle maps)
{
  Slices s;
  s.kSpace = ComplexArray(kSpace, "kspace");
  if (s.kSpace.ndim() != 3 && s.kSpace.ndim() != 4)
    throw py::value_error("kspace must be (H, W, C) for one slice or (S, H, W, C) for a stack, coils last; got shape " +
                          ShapeText(s.kSpace) + " (for one coil add an axis: kspace[..., None])");
  s.stack = s.kSpace.ndim() == 4;
  const py::ssize_t first = s.stack ? 1 : 0;
  s.count = s.stack ? s.kSpace.shape(0) : 1;
  s.height = s.kSpace.shape(first);
  s.width = s.kSpace.shape(first + 1);
  s.coils = s.kSpace.shape(first + 2);
  if (s.count * s.height * s.width * s.coils == 0)
    throw py::value_error("kspace has an empty axis: shape " + ShapeText(s.kSpace));
  const std::string plane = "(" + std::to_string(s.height) + ", " + std::to_string(s.width) + ")";
  s.mask = MaskArray(mask);
  s.sharedMask = s.mask.ndim() == 2;
  const bool maskFits = s.mask.ndim() >= 2 && s.mask.shape(s.mask.ndim() - 2) == s.height &&
                        s.mask.shape(s.mask.ndim() - 1) == s.width &&
                        (s.sharedMask || (s.stack && s.mask.ndim() == 3 && s.mask.shape(0) == s.count));
  if (!maskFits)
    throw py::value_error("mask must be (H, W) = " + plane +
                          (s.stack ? " (one for all slices) or (S, H, W) = (" + std::to_string(s.count) + ", " +
                                       std::to_string(s.height) + ", " + std::to_string(s.width) + ")"
                                   : std::string()) +
                          " to match kspace " + ShapeText(s.kSpace) + "; got shape " + ShapeText(s.mask));
  if (maps.is_none())
  {
    if (s.coils != 1)
      throw py::value_error("coil_maps is None but kspace has " + std::to_string(s.coils) +
                            " coils: pass coil sensitivities of kspace's shape (reconstruct_ismrmrd estimates them "
                            "from raw data)");
    return s;
  }
  s.maps = ComplexArray(maps, "coil_maps");
  s.hasMaps = true;
  if (s.maps.ndim() != s.kSpace.ndim() ||
      !std::equal(s.maps.shape(), s.maps.shape() + s.maps.ndim(), s.kSpace.shape()))
    throw py::value_error("coil_maps must have kspace's shape " + ShapeText(s.kSpace) + "; got " + ShapeText(s.maps));
  return s;
}

// --- DAPS parameters -------------------------------------------------------------------------

/** A parameter's Python keyword: its command-line flag with '-' as '_'. */
std::string
Keyword(const char * flag)
{
  std::string k = flag;
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

long long
Integer(py::handle v, const std::string & keyword, long long low, long long high)
{
  if (PyBool_Check(v.ptr()) || !PyIndex_Check(v.ptr()))
    throw py::type_error(keyword + " must be an integer, got " + py::repr(v).cast<std::string>());
  const auto index = py::reinterpret_steal<py::object>(PyNumber_Index(v.ptr()));
  int        overflow = 0;
  const auto value = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow != 0 || value < low || value > high)
    throw py::value_error(keyword + " must be between " + std::to_string(low) + " and " + std::to_string(high) +
                          ", got " + py::repr(v).cast<std::string>());
  return value;
}

void
Assign(py::handle v, int & field, const std::string & keyword)
{
  field = static_cast<int>(Integer(v, keyword, INT_MIN, INT_MAX));
}

void
Assign(py::handle v, uint64_t & field, const std::string & keyword)
{
  field = static_cast<uint64_t>(Integer(v, keyword, 0, LLONG_MAX));
}

void
Assign(py::handle v, double & field, const std::string & keyword)
{
  if (PyBool_Check(v.ptr()) || !PyNumber_Check(v.ptr()))
    throw py::type_error(keyword + " must be a number, got " + py::repr(v).cast<std::string>());
  field = py::float_(py::reinterpret_borrow<py::object>(v));
}

template <typename TEnum, typename = decltype(ToString(TEnum{}))>
void
Assign(py::handle v, TEnum & field, const std::string & keyword)
{
  if (!PyUnicode_Check(v.ptr()))
    throw py::type_error(keyword + " must be a string, got " + py::repr(v).cast<std::string>());
  try
  {
    ParseParameter(v.cast<std::string>(), field, keyword.c_str());
  }
  catch (const std::invalid_argument & e)
  {
    throw py::value_error(keyword + ": " + e.what());
  }
}

py::object
Value(int v)
{
  return py::int_(v);
}
py::object
Value(uint64_t v)
{
  return py::int_(v);
}
py::object
Value(double v)
{
  return py::float_(v);
}
template <typename TEnum, typename = decltype(ToString(TEnum{}))>
py::object
Value(TEnum v)
{
  return py::str(ToString(v));
}

const char *
TypeName(int)
{
  return "int";
}
const char *
TypeName(uint64_t)
{
  return "int";
}
const char *
TypeName(double)
{
  return "float";
}
template <typename TEnum, typename = decltype(ToString(TEnum{}))>
const char *
TypeName(TEnum)
{
  return "str";
}

DAPSConfig
PresetConfig(py::handle preset, const DAPSConfig & defaults = DAPSConfig{})
{
  if (preset.is_none())
    return defaults;
  try
  {
    return Preset(py::str(preset).cast<std::string>());
  }
  catch (const std::invalid_argument & e)
  {
    throw py::value_error(std::string("preset: ") + e.what());
  }
}

/** The preset's settings (`defaults` when there is none) with the DAPS keywords given over them (the command line's rule); any
 * other keyword is a TypeError naming the ones there are. */
DAPSConfig
Config(py::handle preset, const py::kwargs & keywords, const DAPSConfig & defaults = DAPSConfig{})
{
  DAPSConfig               c = PresetConfig(preset, defaults);
  std::vector<std::string> known;
#define DAPSMRI_PY_ASSIGN(field, Name, type, flag, placeholder, help)                                                  \
  known.push_back(Keyword(flag));                                                                                      \
  if (keywords.contains(known.back()))                                                                                 \
    Assign(keywords[py::str(known.back())], c.field, known.back());
  DAPSMRI_DAPS_PARAMETERS(DAPSMRI_PY_ASSIGN)
#undef DAPSMRI_PY_ASSIGN
  for (const auto & item : keywords)
  {
    const auto name = item.first.cast<std::string>();
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw py::type_error("unexpected keyword argument '" + name + "' (the DAPS parameters are " +
                           py::str(", ").attr("join")(known).cast<std::string>() + ")");
  }
  return c;
}

/** The settings reconstruct() and restore() share: the DAPS keywords over the preset (or
 * `defaults`), threads, intensity scale and a known noise level (which sets tau, so not both). */
ReconstructionSettings
Settings(py::handle preset, const py::kwargs & daps, const DAPSConfig & defaults, int threads, double intensityScale,
         double noiseStd)
{
  if (noiseStd > 0.0 && daps.contains("tau"))
    throw py::value_error("give noise_std or tau, not both: noise_std sets tau from the data's noise level");
  ReconstructionSettings settings;
  settings.daps = Config(preset, daps, defaults);
  settings.threads = threads;
  settings.intensityScale = intensityScale;
  settings.noiseStandardDeviation = noiseStd;
  return settings;
}

py::list
Parameters(py::handle preset)
{
  const DAPSConfig c = PresetConfig(preset);
  py::list         table;
#define DAPSMRI_PY_PARAMETER(field, Name, type, flag, placeholder, help)                                               \
  table.append(py::dict(py::arg("name") = #Name, py::arg("keyword") = Keyword(flag),                                   \
                        py::arg("flag") = std::string("--") + flag, py::arg("type") = TypeName(c.field),              \
                        py::arg("default") = Value(c.field), py::arg("help") = help));
  DAPSMRI_DAPS_PARAMETERS(DAPSMRI_PY_PARAMETER)
#undef DAPSMRI_PY_PARAMETER
  return table;
}

// --- Priors ------------------------------------------------------------------------------------

std::string
PathText(py::handle path)
{
  return py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>();
}

Prior
LoadPrior(py::handle path, const std::string & device)
{
  const std::string file = path.is_none() ? Prior::ShippedModelPath() : PathText(path);
  if (file.empty())
    throw py::value_error("no prior: pass the path of a TorchScript prior (no shipped model was found)");
  return Run(nullptr, [&] { return Prior::Load(file, device); });
}

/** `prior`, else the model file `model`, else the shipped prior. */
Prior
PriorFor(py::handle prior, py::handle model, const std::string & device)
{
  if (!prior.is_none() && !model.is_none())
    throw py::value_error("give prior or model, not both");
  if (!prior.is_none())
  {
    if (!py::isinstance<Prior>(prior))
      throw py::type_error("prior must be a dapsmri.Prior from load_prior(); give a model file as model=");
    return prior.cast<Prior>();
  }
  return LoadPrior(model, device);
}

// --- Results -----------------------------------------------------------------------------------

struct Reconstruction
{
  py::object mean, std = py::none();
  py::dict   statistics;
  double     relativeResidual = 0.0, intensityScale = 0.0, tau = 0.0;
};

struct VolumeReconstruction : Reconstruction
{
  py::object coilMaps, direction;
  double     noiseStd = 0.0;
  bool       prewhitened = false;
  py::tuple  spacing, origin;
};

/** The slices' means (and standard deviations when there are) as arrays of `shape`. */
void
StoreImages(const std::vector<ReconstructionResult> & results, const std::vector<py::ssize_t> & shape,
            Reconstruction & r)
{
  std::vector<Complex> mean;
  std::vector<float>   deviation;
  for (const auto & s : results)
  {
    mean.insert(mean.end(), s.mean.begin(), s.mean.end());
    deviation.insert(deviation.end(), s.standardDeviation.begin(), s.standardDeviation.end());
  }
  r.mean = ToArray(std::move(mean), shape);
  if (!deviation.empty())
    r.std = ToArray(std::move(deviation), shape);
  const ResultsSummary summary = Summarise(results);
  const auto &         s = summary.statistics;
  r.statistics = py::dict(py::arg("denoiser_evaluations") = s.denoiserEvaluations,
                          py::arg("data_gradients") = s.dataGradients, py::arg("denoiser_seconds") = s.denoiserSeconds,
                          py::arg("mcmc_seconds") = s.mcmcSeconds, py::arg("total_seconds") = s.totalSeconds);
  r.relativeResidual = summary.largestRelativeResidual;
  r.intensityScale = summary.largestIntensityScale;
  r.tau = summary.smallestTau;
}

Reconstruction
ReconstructArrays(py::handle kSpace, py::handle mask, py::handle maps, py::handle prior, py::handle model,
            const std::string & device, int threads, double intensityScale, double noiseStd, int sliceBatch,
            py::handle preset, py::handle progress, const py::kwargs & daps)
{
  const Slices           in = ReadSlices(kSpace, mask, maps);
  ReconstructionSettings settings = Settings(preset, daps, DAPSConfig{}, threads, intensityScale, noiseStd);
  settings.sliceBatch = sliceBatch;
  const Prior    p = PriorFor(prior, model, device);
  PythonProgress report(py::reinterpret_borrow<py::object>(progress));
  const auto     data = in.Data();
  const auto results = Run(&report, [&] { return ReconstructSlices(p, data, settings, report.Function()); });
  Reconstruction r;
  StoreImages(results, in.ImageShape(), r);
  return r;
}

py::array_t<Complex>
ZeroFilled(py::handle kSpace, py::handle mask, py::handle maps, int threads)
{
  const Slices in = ReadSlices(kSpace, mask, maps);
  const auto   data = in.Data();
  auto         image = Run(nullptr, [&] {
    std::vector<Complex> all;
    for (const auto & d : data)
    {
      const auto slice = ZeroFilledImage(d, threads);
      all.insert(all.end(), slice.begin(), slice.end());
    }
    return all;
  });
  return ToArray(std::move(image), in.ImageShape());
}

RawData
ReadRawData(py::handle path, const std::string & dataset, bool keepRepetitions)
{
  ISMRMRDReadOptions options;
  options.dataset = dataset;
  options.keepRepetitions = keepRepetitions;
  const std::string file = PathText(path);
  return Run(nullptr, [&] { return ReadISMRMRD(file, options); });
}

VolumeReconstruction
ReconstructISMRMRD(py::handle path, py::handle coilMaps, bool prewhiten, const std::string & dataset,
                   bool keepRepetitions, bool adjointOnly, py::handle prior, py::handle model, const std::string & device,
                   int threads, int sliceBatch, py::handle preset, py::handle progress, const py::kwargs & daps)
{
  RawDataReconstructionOptions options;
  options.settings.daps = Config(preset, daps);
  options.settings.threads = threads;
  options.settings.sliceBatch = sliceBatch;
  options.prewhiten = prewhiten;
  options.noiseFromScans = !daps.contains("tau"); // daps-recon's --tau
  options.adjointOnly = adjointOnly;
  RawData data = ReadRawData(path, dataset, keepRepetitions);
  if (data.slices.empty())
    throw py::value_error("the file holds no slices");
  const int64_t S = static_cast<int64_t>(data.slices.size()), H = data.slices.front().height,
                W = data.slices.front().width, C = data.coils;
  if (py::isinstance<py::str>(coilMaps))
    options.coilMaps = coilMaps.cast<std::string>();
  else
  {
    const auto maps = ComplexArray(coilMaps, "coil_maps");
    const bool fits = (maps.ndim() == 4 && maps.shape(0) == S) || (maps.ndim() == 3 && S == 1);
    if (!fits || maps.shape(maps.ndim() - 3) != H || maps.shape(maps.ndim() - 2) != W ||
        maps.shape(maps.ndim() - 1) != C)
      throw py::value_error("coil_maps must be \"espirit\", \"walsh\" or an array (S, H, W, C) = (" + std::to_string(S) +
                            ", " + std::to_string(H) + ", " + std::to_string(W) + ", " + std::to_string(C) +
                            ") for this file; got shape " + ShapeText(maps));
    for (int64_t s = 0; s < S; ++s)
      options.coilMapsGiven.emplace_back(maps.data() + s * H * W * C, maps.data() + (s + 1) * H * W * C);
  }
  const Prior    p = adjointOnly && prior.is_none() && model.is_none() ? Prior{} : PriorFor(prior, model, device);
  PythonProgress report(py::reinterpret_borrow<py::object>(progress));
  const auto     result = Run(&report, [&] { return ReconstructRawData(p, data, options, report.Function()); });

  VolumeReconstruction r;
  StoreImages(result.slices, { S, H, W }, r);
  std::vector<Complex> maps;
  for (const auto & m : result.coilMaps)
    maps.insert(maps.end(), m.begin(), m.end());
  r.coilMaps = ToArray(std::move(maps), { S, H, W, C });
  r.noiseStd = result.noiseStandardDeviation;
  r.prewhitened = result.prewhitened;
  const auto & g = result.geometry;
  r.spacing = py::make_tuple(g.spacing[0], g.spacing[1], g.spacing[2]);
  r.origin = py::make_tuple(g.origin[0], g.origin[1], g.origin[2]);
  r.direction = ToArray(std::vector<double>(g.direction.begin(), g.direction.end()), { 3, 3 });
  return r;
}

/** A view of `values` (copied) with the shape of one slice's image or k-space. */
template <typename T>
py::array_t<T>
SliceArray(const std::vector<T> & values, const RawSlice & s, bool coils)
{
  if (coils)
    return ToArray(values, { s.height, s.width, s.coils });
  return ToArray(values, { s.height, s.width });
}

py::tuple
Tuple(const std::array<double, 3> & v)
{
  return py::make_tuple(v[0], v[1], v[2]);
}

// --- Restoration -------------------------------------------------------------------------------

/** A real 2-D image as float32 (H, W), C order. */
py::array_t<float>
ImageArray(py::handle value, const char * name)
{
  auto a = AsArray(value, name, "biuf", "float32", "a real 2-D array");
  if (a.ndim() != 2)
    throw py::value_error(std::string(name) + " must be 2-D (H, W), got shape " + ShapeText(a));
  return a;
}

/** The forward model of `task` for an image of height x width (the task's own arguments only). */
RestorationProblem
Problem(const std::string & task, int64_t height, int64_t width, int64_t factor, bool bicubic, py::handle mask,
        py::handle kernel, int64_t oversampling, double alpha, bool warmStart)
{
  RestorationProblem p;
  try
  {
    p.task = ParseRestorationTask(task);
  }
  catch (const std::exception & e)
  {
    throw py::value_error(std::string("task: ") + e.what());
  }
  p.height = height;
  p.width = width;
  p.factor = factor;
  p.bicubic = bicubic;
  p.oversampling = oversampling;
  p.alpha = alpha;
  p.warmStart = warmStart;
  if (!mask.is_none())
  {
    const auto m = MaskArray(mask);
    p.mask.assign(m.data(), m.data() + m.size());
  }
  else if (p.task == RestorationTask::Inpainting)
    throw py::value_error("inpainting needs mask= (H, W), nonzero where the image was seen (box_mask(), random_mask())");
  if (!kernel.is_none())
  {
    const auto k = ImageArray(kernel, "kernel");
    p.kernel.assign(k.data(), k.data() + k.size());
    p.kernelHeight = k.shape(0);
    p.kernelWidth = k.shape(1);
  }
  else if (p.task == RestorationTask::Deblurring)
    throw py::value_error("deblurring needs kernel= (a 2-D array; gaussian_blur_kernel(), motion_blur_kernel())");
  return p;
}

py::array_t<float>
MeasureImage(py::handle image, const std::string & task, int64_t factor, bool bicubic, py::handle mask,
             py::handle kernel, int64_t oversampling, double alpha)
{
  const auto x = ImageArray(image, "image");
  const auto p = Problem(task, x.shape(0), x.shape(1), factor, bicubic, mask, kernel, oversampling, alpha, true);
  std::vector<float> values(x.data(), x.data() + x.size());
  const auto [y, size] = Run(nullptr, [&] { return std::make_pair(Measure(p, values), MeasurementSize(p)); });
  return ToArray(std::vector<float>(y), { static_cast<py::ssize_t>(size[0]), static_cast<py::ssize_t>(size[1]) });
}

Reconstruction
RestoreImage(py::handle measurement, const std::string & task, int64_t factor, bool bicubic, py::handle mask,
             py::handle kernel, int64_t oversampling, double alpha, bool warmStart, int restarts, py::handle prior,
             py::handle model, const std::string & device, int threads, double intensityScale, double noiseStd,
             py::handle preset, py::handle progress, const py::kwargs & daps)
{
  const auto y = ImageArray(measurement, "measurement");
  auto       p = Problem(task, 0, 0, factor, bicubic, mask, kernel, oversampling, alpha, warmStart);
  const auto size = Run(nullptr, [&] { return ImageSize(p, y.shape(0), y.shape(1)); });
  p.height = size[0];
  p.width = size[1];
  const ReconstructionSettings settings =
    Settings(preset, daps, DefaultConfig(p.task), threads, intensityScale, noiseStd);
  const Prior        pr = PriorFor(prior, model, device);
  PythonProgress     report(py::reinterpret_borrow<py::object>(progress));
  std::vector<float> values(y.data(), y.data() + y.size());
  const auto result = Run(&report, [&] { return Restore(pr, p, values, settings, restarts, report.Function()); });
  Reconstruction r;
  StoreImages({ result }, { static_cast<py::ssize_t>(p.height), static_cast<py::ssize_t>(p.width) }, r);
  return r;
}

} // namespace

PYBIND11_MODULE(_dapsmri, m)
{
  m.doc() = "The compiled part of the dapsmri package (see help(dapsmri)).";
  py::options options;
  options.disable_function_signatures(); // each docstring starts with its Python signature instead

  static py::exception<struct CancelledTag> cancelled(m, "Cancelled", PyExc_RuntimeError);
  cancelled.attr("__doc__") = "Raised when a progress callback returned False (or Ctrl-C was pressed) during a "
                              "reconstruction. A RuntimeError.";
  CancelledError = cancelled.ptr();

  py::class_<Prior>(m, "Prior", "A loaded diffusion prior (TorchScript model); make one with load_prior().")
    .def_property_readonly("name", &Prior::Name, "The model's name.")
    .def_property_readonly("description", &Prior::Description, "What the model is.")
    .def_property_readonly("training_data", &Prior::TrainingData, "What it was trained on.")
    .def_property_readonly("normalization", &Prior::Normalization,
                           "Its intensity convention: \"p99_magnitude\" (images scaled so that the 99th percentile "
                           "of the magnitude is 1) or \"none\".")
    .def_property_readonly("sigma_data", &Prior::SigmaData, "The data's standard deviation (EDM's sigma_data).")
    .def_property_readonly("downsampling_factor", &Prior::DownsamplingFactor,
                           "Image sides must be multiples of it (they are padded otherwise).")
    .def("__repr__", [](const Prior & p) { return "<dapsmri.Prior " + p.Name() + ">"; });

  m.def("load_prior", [](py::object path, const std::string & device) { return LoadPrior(path, device); },
        py::arg("path") = py::none(), py::arg("device") = "cpu",
        R"(load_prior(path=None, device="cpu") -> Prior

Loads a TorchScript prior.

path: the model file (str or os.PathLike); None: the shipped brain prior (ValueError when
    there is none).
device: "cpu" or "cuda:N", where the whole reconstruction runs.
Raises ValueError naming the file and what is wrong with it.)");

  m.def("parameters", &Parameters, py::arg("preset") = py::none(),
        R"(parameters(preset=None) -> list of dict

The DAPS parameters: a list of dicts with name (the ITK filter's Set/Get name), keyword
(for reconstruct() and reconstruct_ismrmrd()), flag (daps-recon's), type ("int", "float" or
"str"), default (the preset's value; preset None: "mri") and help. Generated from the library's
one parameter table, as the command-line flags are.)");

  py::class_<RawSlice>(m, "RawSlice", "One 2-D slice of multi-coil k-space read by read_ismrmrd().")
    .def_property_readonly(
      "kspace", [](const RawSlice & s) { return SliceArray(s.kSpace, s, true); },
      "Centred k-space (H, W, C), complex64 (DC at (H/2, W/2)); zero where nothing was acquired. A copy.")
    .def_property_readonly(
      "mask", [](const RawSlice & s) { return SliceArray(s.mask, s, false); },
      "(H, W) uint8: 1 where samples are used as data.")
    .def_property_readonly(
      "calibration", [](const RawSlice & s) { return SliceArray(s.calibration, s, false); },
      "(H, W) uint8: 1 at measured samples of parallel-imaging calibration lines.")
    .def_readonly("averages", &RawSlice::averages, "The fewest acquisitions averaged into one line.")
    .def_readonly("spacing", &RawSlice::spacing, "Pixel spacing (x, y) in mm.")
    .def_readonly("position", &RawSlice::position, "The slice centre in patient coordinates (LPS, mm).")
    .def_readonly("read_direction", &RawSlice::readDirection, "Unit vector of x (LPS).")
    .def_readonly("phase_direction", &RawSlice::phaseDirection, "Unit vector of y (LPS).")
    .def_readonly("slice_direction", &RawSlice::sliceDirection, "Unit vector normal to the slice (LPS).")
    .def_readonly("slice_thickness", &RawSlice::sliceThickness, "In mm.")
    .def_readonly("slice_index", &RawSlice::sliceIndex, "The file's slice counter.")
    .def_readonly("repetition", &RawSlice::repetition, "The repetition; -1 when repetitions were averaged.")
    .def("origin", [](const RawSlice & s) { return Tuple(s.Origin()); },
         "origin() -> (x, y, z)\n\nThe position of pixel (0, 0) (LPS, mm): the centre minus half the field of view along x and y.")
    .def("__repr__", [](const RawSlice & s) {
      return "<dapsmri.RawSlice " + std::to_string(s.height) + " x " + std::to_string(s.width) + " x " +
             std::to_string(s.coils) + " coils, slice " + std::to_string(s.sliceIndex) + ">";
    });

  py::class_<RawData>(m, "RawData", "Raw Cartesian MRI data read by read_ismrmrd().")
    .def_readonly("slices", &RawData::slices, "The slices (RawSlice), along the slice direction, then by repetition.")
    .def_property_readonly(
      "noise",
      [](const RawData & d) {
        return ToArray(d.noise, { static_cast<py::ssize_t>(d.coils ? d.noise.size() / d.coils : 0), d.coils });
      },
      "Noise-scan samples (N, C), complex64; N = 0 when the file has none.")
    .def_readonly("coils", &RawData::coils, "The number of receive coils.")
    .def_readonly("noise_dwell_time", &RawData::noiseDwellTime, "Of the noise scans, in us.")
    .def_readonly("data_dwell_time", &RawData::dataDwellTime, "Of the imaging readouts, in us.")
    .def_readonly("header", &RawData::header, "The ISMRMRD XML header.")
    .def("__repr__", [](const RawData & d) {
      return "<dapsmri.RawData " + std::to_string(d.slices.size()) + " slice(s), " + std::to_string(d.coils) + " coils>";
    });

  m.def("read_ismrmrd", &ReadRawData, py::arg("path"), py::arg("dataset") = "dataset",
        py::arg("keep_repetitions") = false,
        R"(read_ismrmrd(path, dataset="dataset", keep_repetitions=False) -> RawData

Reads a Cartesian 2-D (multi-slice) ISMRMRD file, read-only, as daps-recon does.

keep_repetitions: one slice per (slice, repetition) instead of their average.
Returns RawData. Raises ValueError (or RuntimeError) naming what is missing, corrupt or
unsupported.)");

  py::class_<Reconstruction>(m, "Reconstruction", "What reconstruct() returns.")
    .def_readonly("mean", &Reconstruction::mean,
                  "The posterior mean (the image), complex64: (H, W), or (S, H, W) for a stack of slices.")
    .def_readonly("std", &Reconstruction::std, "Per-pixel posterior standard deviation (float32), None when samples == 1.")
    .def_readonly("statistics", &Reconstruction::statistics,
                  "The run's cost: denoiser_evaluations, data_gradients, denoiser_seconds, mcmc_seconds, "
                  "total_seconds.")
    .def_readonly("relative_residual", &Reconstruction::relativeResidual, "||A mean - y|| / ||y|| (largest of the slices).")
    .def_readonly("intensity_scale", &Reconstruction::intensityScale,
                  "The data units per prior unit used (largest of the slices).")
    .def_readonly("tau", &Reconstruction::tau, "The data-term noise level used, in the prior's units (smallest of the slices).");

  py::class_<VolumeReconstruction, Reconstruction>(m, "VolumeReconstruction",
                                                   "What reconstruct_ismrmrd() returns: a Reconstruction of every "
                                                   "slice (mean (S, H, W)) with its coil maps and geometry.")
    .def_readonly("coil_maps", &VolumeReconstruction::coilMaps, "The coil maps used, (S, H, W, C) complex64.")
    .def_readonly("noise_std", &VolumeReconstruction::noiseStd,
                  "The k-space noise std per real part after prewhitening; 0 when not prewhitened.")
    .def_readonly("prewhitened", &VolumeReconstruction::prewhitened, "Whether the noise scans whitened the coils.")
    .def_readonly("spacing", &VolumeReconstruction::spacing, "Voxel spacing (x, y, slice) in mm, as daps-recon writes it.")
    .def_readonly("origin", &VolumeReconstruction::origin, "The position of voxel (0, 0, 0) (LPS, mm).")
    .def_readonly("direction", &VolumeReconstruction::direction,
                  "3 x 3 array whose columns are the x (read), y (phase) and slice directions (LPS).");

  m.def("reconstruct", &ReconstructArrays, py::arg("kspace"), py::arg("mask"), py::arg("coil_maps") = py::none(), py::kw_only(),
        py::arg("prior") = py::none(), py::arg("model") = py::none(), py::arg("device") = "cpu", py::arg("threads") = 0,
        py::arg("intensity_scale") = 0.0, py::arg("noise_std") = 0.0, py::arg("slice_batch") = 0,
        py::arg("preset") = py::none(), py::arg("progress") = py::none(),
        R"(reconstruct(kspace, mask, coil_maps=None, *, prior=None, model=None, device="cpu", threads=0,
            intensity_scale=0.0, noise_std=0.0, slice_batch=0, preset=None, progress=None,
            **daps_keywords) -> Reconstruction

Reconstructs undersampled multi-coil Cartesian k-space with DAPS.

kspace: centred k-space (H, W, C), coils last, or a stack of slices (S, H, W, C); converted
    to complex64.
mask: (H, W), nonzero where sampled; for a stack also (S, H, W).
coil_maps: sensitivities of kspace's shape; None only for one coil.
prior: a Prior from load_prior(); model: the path of a model file instead; neither: the
    shipped prior. device: where a model given by path runs ("cpu", "cuda:N").
threads: 0 = every core. intensity_scale: data units per prior unit, 0 = estimate.
noise_std: the k-space noise std per real part, if known: sets tau (do not also give tau).
slice_batch: slices per network batch, 0 = automatic.
preset: "mri" (default) or "reference"; DAPS keywords (see parameters(), e.g. steps=,
    seed=, samples=, mcmc=) override single values of it.
progress: progress(done, total) after every annealing step, from the worker; return False
    (or raise) to cancel: the call then raises Cancelled (or the callback's exception).
Returns a Reconstruction. Raises ValueError for bad input, with what to pass instead.)");

  m.def("zero_filled", &ZeroFilled, py::arg("kspace"), py::arg("mask"), py::arg("coil_maps") = py::none(),
        py::arg("threads") = 0,
        R"(zero_filled(kspace, mask, coil_maps=None, threads=0) -> numpy.ndarray

The zero-filled SENSE image sum_c conj(S_c) F^H (M y_c), the classical baseline.

Takes kspace, mask and coil_maps as reconstruct() does; returns complex64 (H, W) or (S, H, W).)");

  m.def("reconstruct_ismrmrd", &ReconstructISMRMRD, py::arg("path"), py::kw_only(), py::arg("coil_maps") = "espirit",
        py::arg("prewhiten") = true, py::arg("dataset") = "dataset", py::arg("keep_repetitions") = false,
        py::arg("adjoint_only") = false, py::arg("prior") = py::none(), py::arg("model") = py::none(),
        py::arg("device") = "cpu", py::arg("threads") = 0, py::arg("slice_batch") = 0, py::arg("preset") = py::none(),
        py::arg("progress") = py::none(),
        R"(reconstruct_ismrmrd(path, *, coil_maps="espirit", prewhiten=True, dataset="dataset",
                    keep_repetitions=False, adjoint_only=False, prior=None, model=None,
                    device="cpu", threads=0, slice_batch=0, preset=None, progress=None,
                    **daps_keywords) -> VolumeReconstruction

Reconstructs every slice of an ISMRMRD file exactly as daps-recon does.

The noise scans (unless prewhiten=False) whiten the coils and set tau, divided by
sqrt(averages) per slice, unless tau= is given (daps-recon's --tau). coil_maps: "espirit" or
"walsh", estimated from the calibration lines, or an array (S, H, W, C).
adjoint_only: the zero-filled SENSE images instead of DAPS (no prior needed).
The other arguments are reconstruct()'s. With the same settings, the volume equals
daps-recon's output bit for bit.
Returns a VolumeReconstruction: mean (S, H, W), with coil_maps, noise_std, prewhitened and
the volume's geometry (spacing, origin, direction).)");

  const char * const tasks = "super-resolution, inpainting, deblurring, phase-retrieval or hdr";
  m.def("measure", &MeasureImage, py::arg("image"), py::arg("task"), py::kw_only(), py::arg("factor") = 4,
        py::arg("bicubic") = false, py::arg("mask") = py::none(), py::arg("kernel") = py::none(),
        py::arg("oversampling") = 2, py::arg("alpha") = 2.0,
        (std::string(R"(measure(image, task, *, factor=4, bicubic=False, mask=None, kernel=None, oversampling=2,
        alpha=2.0) -> numpy.ndarray

The restoration task's forward model y = A(x) of a real image (H, W), as float32: task is )") +
         tasks + R"(.
super-resolution: block means of factor x factor pixels (bicubic=True: bicubic down-sampling);
inpainting: the image where mask (H, W) is nonzero, 0 elsewhere; deblurring: the periodic
convolution with kernel (a 2-D array); phase-retrieval: the Fourier magnitudes of the image
zero-padded to oversampling times its size; hdr: clip(alpha x, -1, 1).)")
          .c_str());

  m.def("restore", &RestoreImage, py::arg("measurement"), py::arg("task"), py::kw_only(), py::arg("factor") = 4,
        py::arg("bicubic") = false, py::arg("mask") = py::none(), py::arg("kernel") = py::none(),
        py::arg("oversampling") = 2, py::arg("alpha") = 2.0, py::arg("warm_start") = true, py::arg("restarts") = 1,
        py::arg("prior") = py::none(), py::arg("model") = py::none(), py::arg("device") = "cpu",
        py::arg("threads") = 0, py::arg("intensity_scale") = 0.0, py::arg("noise_std") = 0.0,
        py::arg("preset") = py::none(), py::arg("progress") = py::none(),
        R"(restore(measurement, task, *, factor=4, bicubic=False, mask=None, kernel=None, oversampling=2,
        alpha=2.0, warm_start=True, restarts=1, prior=None, model=None, device="cpu", threads=0,
        intensity_scale=0.0, noise_std=0.0, preset=None, progress=None, **daps_keywords)
        -> Reconstruction

Restores an image from a measurement made by measure()'s forward model (daps-restore's job).
The task's arguments are measure()'s; the image's size follows from the measurement's.
warm_start: inpainting and phase retrieval start from a classical estimate (a smooth fill of
the hole, HIO + ER) rather than from noise. restarts: runs (seeds seed, seed + 1, ...) of which
the one that fits the data best is kept. The DAPS settings are the task's own defaults
(daps-restore's), or preset=, with DAPS keywords over them; the other arguments are
reconstruct()'s. Returns a Reconstruction whose mean (H, W) is complex64: its magnitude is
the image daps-restore writes.)");

  // The library's masks and kernels as 2-D numpy arrays.
  const auto square = [](int64_t size) { return std::vector<py::ssize_t>{ size, size }; };
  m.def(
    "box_mask",
    [](int64_t height, int64_t width, int64_t x, int64_t y, int64_t boxWidth, int64_t boxHeight) {
      return ToArray(Run(nullptr, [&] { return BoxMask(height, width, x, y, boxWidth, boxHeight); }), { height, width });
    },
    py::arg("height"), py::arg("width"), py::arg("x"), py::arg("y"), py::arg("box_width"), py::arg("box_height"),
    "box_mask(height, width, x, y, box_width, box_height) -> numpy.ndarray\n\nAn inpainting mask (height, width), "
    "uint8, 1 where seen: all but the box at column x, row y.");
  m.def(
    "random_mask",
    [](int64_t height, int64_t width, double fraction, uint64_t seed) {
      return ToArray(Run(nullptr, [&] { return RandomMask(height, width, fraction, seed); }), { height, width });
    },
    py::arg("height"), py::arg("width"), py::arg("fraction"), py::arg("seed") = 0,
    "random_mask(height, width, fraction, seed=0) -> numpy.ndarray\n\nAn inpainting mask (height, width), uint8, "
    "with a seeded random fraction of the pixels hidden (0).");
  m.def(
    "gaussian_blur_kernel",
    [square](int64_t size, double sigma) {
      return ToArray(Run(nullptr, [&] { return GaussianBlurKernel(size, sigma); }), square(size));
    },
    py::arg("size"), py::arg("sigma"),
    "gaussian_blur_kernel(size, sigma) -> numpy.ndarray\n\nA normalised Gaussian kernel (size, size), float32.");
  m.def(
    "motion_blur_kernel",
    [square](int64_t size, double intensity, uint64_t seed) {
      return ToArray(Run(nullptr, [&] { return MotionBlurKernel(size, intensity, seed); }), square(size));
    },
    py::arg("size"), py::arg("intensity") = 0.5, py::arg("seed") = 0,
    "motion_blur_kernel(size, intensity=0.5, seed=0) -> numpy.ndarray\n\nA normalised seeded camera-path kernel "
    "(size, size), float32; intensity in [0, 1] sets how much the path turns.");
}
