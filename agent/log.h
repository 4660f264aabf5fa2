/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* key=value log lines with levels, on stderr. */
#ifndef BPFNET_AGENT_LOG_H
#define BPFNET_AGENT_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
int log_parse_level(const char *s, enum log_level *level);
/* msg is the event; the format adds key=value pairs: log_msg(LOG_INFO,
 * "synced", "services=%d", n) prints "level=info msg=synced services=3". */
void log_msg(enum log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
