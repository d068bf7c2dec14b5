/* cli/report_cmd.h — the parts of `mailvet report` in files of their own. */
#ifndef MAILVET_CLI_REPORT_CMD_H
#define MAILVET_CLI_REPORT_CMD_H

/* argv[0] is the subcommand's name ("show", "send"); exit status as mailvet(1) says. */
int mv_cli_report_show(int argc, char **argv); /* cli/report_show.c */
int mv_cli_report_send(int argc, char **argv); /* cli/report_send.c */

#endif
