/*
 * decode.h: `jenkins-agent decode FILE|-`: print a readable dump of a Java Object Serialization
 * stream, a capture of remoting commands, or a golden file.
 */
#ifndef AG_AGENT_DECODE_H
#define AG_AGENT_DECODE_H

/* Read path ("-" for stdin), dump it to stdout. Returns the process exit status. */
int agent_decode_file(const char *path);

#endif
