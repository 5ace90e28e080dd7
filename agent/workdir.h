/*
 * workdir.h: the work directory as agent.jar lays it out (remoting's
 * org.jenkinsci.remoting.engine.WorkDirManager; shared/spec/transport.md section 9.7):
 *
 *     <workDir>/                    created on demand (mode 0755), must be RWX
 *       <internalDir>/ (remoting)   created on demand, must be RWX
 *         logs/                     remoting.log.0 .. remoting.log.4 (INFO and above)
 *
 * With -agentLog the log goes to that file instead of logs/. Without -workDir and -agentLog no
 * file is touched. Called once from main() before the event loop; not thread-safe. The struct
 * owns its paths and the log file descriptor, which it hands to ag_log_set_tee_fd().
 *
 * Rotation of logs/remoting.log.N runs from a logger sink (ag_log_add_sink) that this module
 * adds while it writes the work directory log: the struct must stay at its address until
 * agent_workdir_fini(), which removes the sink.
 */
#ifndef AG_AGENT_WORKDIR_H
#define AG_AGENT_WORKDIR_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "err.h"

struct agent_conf;

/* JUL FileHandler's limits in agent.jar: 10 MiB per file, 5 files. */
#define AGENT_WORKDIR_LOG_MAX_BYTES (10u * 1024u * 1024u)
#define AGENT_WORKDIR_LOG_FILES 5

struct agent_workdir {
    char *work_dir;     /* owned: absolute -workDir, or NULL */
    char *internal_dir; /* owned: <work_dir>/<internalDir>, or NULL */
    char *log_dir;      /* owned: <internal_dir>/logs, or NULL when not logging there */
    char *log_path;     /* owned: the file the log is teed into, or NULL */
    int log_fd;         /* owned: -1 when none; the logger's tee fd while set up */
    uint64_t max_bytes; /* rotate remoting.log.0 past this size (tests lower it) */
    bool sink_set;      /* we hold the logger's sink (for rotation) */
};

/*
 * Check and create the directories, open the log file, start teeing the log into it and log
 * agent.jar's "Using ... as a remoting work directory" / "Both error and output logs will be
 * printed to ..." lines. Errors carry agent.jar's texts (e.g. "The specified working directory
 * should be fully accessible to the remoting executable (RWX): /x") with AG_EUSAGE, or a
 * negative errno. wd is always initialised, so agent_workdir_fini() is safe after any return.
 */
AG_MUST_CHECK int agent_workdir_setup(struct agent_workdir *wd, const struct agent_conf *conf,
                                      struct ag_err *err);

/*
 * Rotate the work directory log when remoting.log.0 has grown past max_bytes: .3 -> .4, ...,
 * .0 -> .1, then a fresh .0 on the same descriptor number (dup2), so the logger's tee fd stays
 * valid. Cheap (one fstat). Called for every line written to the file (from the log sink);
 * callable directly too, but not while the logger runs a sink on another thread.
 * Returns 0 or -errno.
 */
AG_MUST_CHECK int agent_workdir_log_maybe_rotate(struct agent_workdir *wd);

/* Stop teeing, close the log file and free the paths. */
void agent_workdir_fini(struct agent_workdir *wd);

#endif
