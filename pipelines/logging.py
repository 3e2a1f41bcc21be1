"""A concise console logger for `creditpipe run`: one line per event, no stack traces.

Dagster's default console logger prints full tracebacks; a user of the CLI gets the
one-paragraph explanation instead, and the Dagster event log keeps the details.
"""

import logging
import sys

import dagster as dg


class _StageFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", {}) or {}
        step = meta.get("step_key") or "run"
        message = str(meta.get("orig_message") or record.getMessage())
        if record.levelno >= logging.ERROR:
            # the first line only: the CLI ends with the full explanation, the event log keeps the trace
            message = message.strip().split("\n")[0]
        return f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {step:<20} {message}"


@dg.logger(
    config_schema={"log_level": dg.Field(str, is_required=False, default_value="INFO")},
    description="One line per event, no stack traces (the CLI's console output).",
)
def concise_console(init_context) -> logging.Logger:
    log = logging.Logger("creditpipe", level=init_context.logger_config["log_level"])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StageFormatter())
    # "Dependencies ... not executed" repeats for every downstream step; the run's end says it once
    handler.addFilter(lambda record: "Not executing." not in record.getMessage())
    log.addHandler(handler)
    return log
