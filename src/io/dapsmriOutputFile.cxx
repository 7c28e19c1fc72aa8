#include "dapsmriOutputFile.h"

#include <array>
#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace dapsmri
{
namespace fs = std::filesystem;

namespace
{
// Temporaries the signal handler removes: fixed storage, so the handler only reads memory and
// calls unlink (async-signal-safe). A detached header reserves slots for its data file names.
constexpr int                                 Slots = 64;
std::array<std::array<char, 4096>, Slots>     g_TemporaryPaths;
std::array<std::atomic<bool>, Slots>          g_InUse{};
std::mutex                                    g_SlotsLock;
const char * const                            DataFileSuffixes[] = { ".raw", ".zraw", ".raw.gz", ".img", ".img.gz" };

int
Reserve(const std::string & path)
{
  if (path.size() >= g_TemporaryPaths[0].size())
    return -1;
  std::lock_guard<std::mutex> lock(g_SlotsLock);
  for (int i = 0; i < Slots; ++i)
    if (!g_InUse[static_cast<size_t>(i)].load())
    {
      std::memcpy(g_TemporaryPaths[static_cast<size_t>(i)].data(), path.c_str(), path.size() + 1);
      g_InUse[static_cast<size_t>(i)].store(true);
      return i;
    }
  return -1; // more open outputs than slots: such temporaries are removed on errors, not on signals
}

void
Release(int slot)
{
  if (slot >= 0)
    g_InUse[static_cast<size_t>(slot)].store(false);
}

// While outputs are renamed into place a signal waits (it may arrive on any thread): a run that
// is stopped then ends with all of its outputs in place, never with some renamed and a detached
// header's data file replaced under the previous header.
std::atomic<int> g_Committing{ 0 };
std::atomic<int> g_PendingSignal{ 0 };

void
RemoveTemporariesAndDie(int signalNumber)
{
  for (size_t i = 0; i < Slots; ++i)
    if (g_InUse[i].load())
      unlink(g_TemporaryPaths[i].data());
  std::signal(signalNumber, SIG_DFL);
  std::raise(signalNumber);
}

extern "C" void
OnSignal(int signalNumber)
{
  if (g_Committing.load() > 0)
    g_PendingSignal.store(signalNumber);
  else
    RemoveTemporariesAndDie(signalNumber);
}

/** Defers the signals while it lives; the outermost one delivers a signal that came meanwhile. */
class CommitSection
{
public:
  CommitSection() { ++g_Committing; }
  ~CommitSection()
  {
    if (--g_Committing == 0 && g_PendingSignal.load() != 0)
      RemoveTemporariesAndDie(g_PendingSignal.load());
  }
  CommitSection(const CommitSection &) = delete;
  CommitSection & operator=(const CommitSection &) = delete;
};

bool
IsDetachedHeader(const std::string & extension)
{
  return extension == ".mhd" || extension == ".nhdr";
}

/** Writes a file's data to disk; false when that fails (as on a full disk). */
bool
Flush(const fs::path & path, int flags = O_RDONLY)
{
  const int fd = open(path.c_str(), flags);
  if (fd < 0)
    return false;
  const bool ok = fsync(fd) == 0;
  return close(fd) == 0 && ok;
}

[[noreturn]] void
Failed(const std::string & target, const std::string & why)
{
  throw std::runtime_error("could not write " + target + ": " + why + "; the previous file, if any, is unchanged");
}
} // namespace

OutputFile::OutputFile(const std::string & target)
  : m_Target(target)
{
  const fs::path    path(target);
  const std::string name = path.filename().string();
  const auto        dot = name.find('.');
  const std::string extension = dot == std::string::npos ? "" : name.substr(dot);
  m_Stem = name.substr(0, dot);
  m_TemporaryStem = "." + m_Stem + ".partial";
  m_Temporary = (path.parent_path() / (m_TemporaryStem + extension)).string();
  std::error_code ignored;
  fs::remove(m_Temporary, ignored);
  m_Slots.push_back(Reserve(m_Temporary));
  if (IsDetachedHeader(extension))
    for (const char * suffix : DataFileSuffixes)
      m_Slots.push_back(Reserve((path.parent_path() / (m_TemporaryStem + suffix)).string()));
}

OutputFile::~OutputFile()
{
  std::error_code ignored;
  if (!m_Committed)
  {
    fs::remove(m_Temporary, ignored);
    const fs::path folder = fs::path(m_Temporary).parent_path();
    for (const char * suffix : DataFileSuffixes)
      fs::remove(folder / (m_TemporaryStem + suffix), ignored);
  }
  for (int slot : m_Slots)
    Release(slot);
}

void
OutputFile::Commit()
{
  const CommitSection section;
  std::error_code     error;
  if (!fs::is_regular_file(m_Temporary, error) || fs::file_size(m_Temporary, error) == 0 || error)
    Failed(m_Target, "the writer left no data (is the disk full?)");
  const fs::path folder = fs::path(m_Temporary).parent_path();
  if (IsDetachedHeader(fs::path(m_Temporary).extension().string()))
  {
    // The data file beside the header: flushed, renamed to the target's stem, named in the header.
    for (const char * suffix : DataFileSuffixes)
    {
      const fs::path data = folder / (m_TemporaryStem + suffix);
      if (!fs::exists(data, error))
        continue;
      if (!Flush(data))
        Failed(m_Target, "its data file could not be flushed to disk (is the disk full?)");
      std::ifstream     in(m_Temporary);
      std::stringstream text;
      text << in.rdbuf();
      std::string header = text.str();
      for (size_t at = header.find(m_TemporaryStem + suffix); at != std::string::npos;
           at = header.find(m_TemporaryStem + suffix, at))
        header.replace(at, m_TemporaryStem.size(), m_Stem);
      std::ofstream out(m_Temporary, std::ios::trunc);
      out << header;
      out.close();
      if (!out)
        Failed(m_Target, "its header could not be rewritten (is the disk full?)");
      fs::rename(data, folder / (m_Stem + suffix), error);
      if (error)
        Failed(m_Target, "its data file could not be renamed (" + error.message() + ")");
    }
  }
  if (!Flush(m_Temporary))
    Failed(m_Target, "it could not be flushed to disk (is the disk full?)");
  fs::rename(m_Temporary, m_Target, error);
  if (error)
    Failed(m_Target, "the finished file could not be renamed into place (" + error.message() + ")");
  m_Committed = true;
  Flush(folder.empty() ? fs::path(".") : folder, O_RDONLY | O_DIRECTORY); // the rename itself
}

void
OutputFile::CommitAll(const std::vector<std::unique_ptr<OutputFile>> & files)
{
  const CommitSection section;
  for (const auto & file : files)
    file->Commit();
}

void
OutputFile::RemoveTemporariesOnSignals()
{
  static std::once_flag once;
  std::call_once(once, [] {
    for (int signalNumber : { SIGINT, SIGTERM, SIGHUP })
    {
      struct sigaction action
      {};
      action.sa_handler = OnSignal;
      sigemptyset(&action.sa_mask);
      sigaction(signalNumber, &action, nullptr);
    }
  });
}

void
CheckOutputPaths(const std::vector<std::string> & outputs, const std::vector<std::string> & inputs)
{
  const auto same = [](const std::string & a, const std::string & b) {
    std::error_code error;
    if (fs::exists(a, error) && fs::exists(b, error))
      return fs::equivalent(a, b, error); // also hard links and different spellings
    return fs::weakly_canonical(a, error) == fs::weakly_canonical(b, error);
  };
  for (size_t i = 0; i < outputs.size(); ++i)
  {
    const std::string & output = outputs[i];
    if (output.empty())
      continue;
    for (const auto & input : inputs)
      if (!input.empty() && same(output, input))
        throw std::invalid_argument("refusing to write " + output + ": it is an input (" + input +
                                    "); inputs are never overwritten, choose another output name");
    for (size_t j = 0; j < i; ++j)
      if (!outputs[j].empty() && same(output, outputs[j]))
        throw std::invalid_argument("two outputs are the same file (" + outputs[j] + " and " + output +
                                    "); give each output its own name");
    std::error_code error;
    if (fs::is_directory(output, error))
      throw std::invalid_argument("cannot write " + output + ": it is a folder; give a file name");
    const fs::path folder = fs::path(output).parent_path().empty() ? fs::path(".") : fs::path(output).parent_path();
    if (!fs::is_directory(folder, error))
      throw std::invalid_argument("cannot write " + output + ": the folder " + folder.string() + " does not exist");
    if (access(folder.c_str(), W_OK | X_OK) != 0)
      throw std::invalid_argument("cannot write " + output + ": the folder " + folder.string() + " is not writable");
  }
}

} // namespace dapsmri
