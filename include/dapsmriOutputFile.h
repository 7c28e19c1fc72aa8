#ifndef dapsmriOutputFile_h
#define dapsmriOutputFile_h

// All-or-nothing output files: written under a temporary name in the target's folder, flushed
// to disk, then renamed into place, so a file is either complete or the one that was there
// before. Temporary files are removed on failure and on SIGINT, SIGTERM and SIGHUP (which wait
// while files are renamed into place).
#include "DAPSMRIExport.h"

#include <memory>
#include <string>
#include <vector>

namespace dapsmri
{

class DAPSMRI_EXPORT OutputFile
{
public:
  /** Reserves a temporary path beside `target` that keeps its extension (".name.partial.ext"),
   * so a writer that picks the format from the extension still does. */
  explicit OutputFile(const std::string & target);
  /** Removes the temporary file unless Commit() ran. */
  ~OutputFile();
  OutputFile(const OutputFile &) = delete;
  OutputFile & operator=(const OutputFile &) = delete;

  const std::string & TemporaryPath() const { return m_Temporary; }
  const std::string & Target() const { return m_Target; }

  /** Flushes the temporary file to disk and renames it over the target. A detached header
   * (.mhd, .nhdr) names its data file after the temporary: that file is flushed and renamed to
   * the target's name first, and the header is made to name it. Throws std::runtime_error, the
   * target untouched, when the temporary is missing or cannot be flushed (a full disk). */
  void Commit();

  /** Commits the files in order, as one step for a signal: one that arrives meanwhile ends the
   * process after the last rename (all in place) or, when a commit fails, after removing the
   * temporaries that are left. */
  static void CommitAll(const std::vector<std::unique_ptr<OutputFile>> & files);

  /** Makes SIGINT, SIGTERM and SIGHUP remove every temporary file not yet committed before the
   * process ends (for command-line tools; a host application keeps its own handlers). */
  static void RemoveTemporariesOnSignals();

private:
  std::string m_Target, m_Temporary, m_TemporaryStem, m_Stem;
  std::vector<int> m_Slots; // in the table of temporaries the signal handler removes
  bool        m_Committed = false;
};

/** Refuses, before any work starts, outputs that would overwrite an input or each other, and
 * outputs whose folder is missing or not writable. Throws std::invalid_argument naming the path.
 * Empty entries are ignored. */
DAPSMRI_EXPORT void CheckOutputPaths(const std::vector<std::string> & outputs, const std::vector<std::string> & inputs);

} // namespace dapsmri

#endif
