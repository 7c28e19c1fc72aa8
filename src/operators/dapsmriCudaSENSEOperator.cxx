#include "dapsmriCudaSENSEOperator.h"

#include "dapsmriSENSEOperator.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <sstream>

namespace dapsmri
{

namespace
{
std::complex<float> *
ComplexData(const torch::Tensor & t)
{
  return t.defined() ? reinterpret_cast<std::complex<float> *>(t.data_ptr<c10::complex<float>>()) : nullptr;
}
} // namespace

CudaSENSEOperator::CudaSENSEOperator(const torch::Tensor & coilMaps, const torch::Tensor & mask,
                                     const torch::Device & device)
  : m_Device(device)
{
  if (!device.is_cuda())
    throw std::invalid_argument("the cuFFT SENSE operator needs a CUDA device, got " + device.str());
  CheckSENSEInputs(coilMaps, mask);
  std::string reason;
  const int   devices = cuda::DeviceCount(&reason);
  if (devices == 0 || device.index() >= devices)
    throw std::invalid_argument("device " + device.str() + " is not available to CUDA (" +
                                (devices == 0 ? reason : std::to_string(devices) + " devices") + ")");
  m_Coils = coilMaps.size(0);
  m_Height = coilMaps.size(1);
  m_Width = coilMaps.size(2);
  m_CoilMaps = coilMaps.to(device, torch::kComplexFloat).contiguous();
  m_Mask = (mask != 0).to(device, torch::kFloat).contiguous();
  m_Support = SensitiveRegion(m_CoilMaps);
  m_Device = m_CoilMaps.device(); // "cuda" resolved to the device it names now
}

void
CudaSENSEOperator::CheckDevice(const torch::Tensor & t, const char * what) const
{
  if (t.device() != m_Device)
  {
    std::ostringstream msg;
    msg << what << " is on " << t.device() << " but the operator is on " << m_Device
        << ": move it with .to() before the call";
    throw std::invalid_argument(msg.str());
  }
}

torch::Tensor
CudaSENSEOperator::Run(cuda::SENSEChain chain, const torch::Tensor & xIn, const torch::Tensor & yIn,
                       int64_t batch) const
{
  const c10::cuda::CUDAGuard guard(m_Device);
  const auto                 x = xIn.defined() ? xIn.contiguous() : xIn;
  const auto                 y = yIn.defined() ? yIn.contiguous() : yIn;
  const auto                 options = m_CoilMaps.options();
  auto                       workspace = torch::empty({ batch, m_Coils, m_Height, m_Width }, options);
  auto out = chain == cuda::SENSEChain::Forward ? torch::empty({ batch, m_Coils, m_Height, m_Width }, options)
                                                : torch::empty({ batch, m_Height, m_Width }, options);
  cuda::RunSENSE(chain, { batch, m_Coils, m_Height, m_Width }, ComplexData(m_CoilMaps), m_Mask.data_ptr<float>(),
                 ComplexData(x), ComplexData(y), ComplexData(out), ComplexData(workspace),
                 c10::cuda::getCurrentCUDAStream(m_Device.index()).stream());
  return out;
}

torch::Tensor
CudaSENSEOperator::Forward(const torch::Tensor & x) const
{
  CheckImageBatch(x, ImageShape(), "the image");
  CheckDevice(x, "the image");
  return Run(cuda::SENSEChain::Forward, x, {}, x.size(0));
}

torch::Tensor
CudaSENSEOperator::Adjoint(const torch::Tensor & y) const
{
  const int64_t batch = y.dim() == 4 ? y.size(0) : 1;
  CheckKSpaceBatch(y, batch, m_Coils, m_Height, m_Width);
  CheckDevice(y, "the k-space");
  return Run(cuda::SENSEChain::Adjoint, {}, y, batch);
}

torch::Tensor
CudaSENSEOperator::DataGradient(const torch::Tensor & x, const torch::Tensor & y) const
{
  CheckImageBatch(x, ImageShape(), "the image");
  CheckKSpaceBatch(y, x.size(0), m_Coils, m_Height, m_Width);
  CheckDevice(x, "the image");
  CheckDevice(y, "the k-space");
  CountGradient();
  return Run(cuda::SENSEChain::Gradient, x, y, x.size(0));
}

torch::Tensor
CudaSENSEOperator::Normal(const torch::Tensor & x) const
{
  CheckImageBatch(x, ImageShape(), "the image");
  CheckDevice(x, "the image");
  CountGradient();
  return Run(cuda::SENSEChain::Normal, x, {}, x.size(0));
}

} // namespace dapsmri
