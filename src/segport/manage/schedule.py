"""Ready-to-paste crontab and systemd timer lines for running an export unattended."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from segport.errors import ConfigError
from segport.manage.context import Context
from segport.secrets import env_var_for

_CRON_FIELD = re.compile(r"^[\d*/,\-]+$")


@dataclass(frozen=True)
class ScheduleLines:
    """The crontab line and the systemd service + timer units for one export."""

    crontab: str
    service_name: str
    service: str
    timer: str
    notes: list[str]


def segport_command() -> str:
    """The absolute path of the ``segport`` executable running now (cron has a bare PATH)."""
    here = Path(sys.argv[0])
    if here.name == "segport" and here.exists():
        return str(here.resolve())
    found = shutil.which("segport")
    return found or f"{sys.executable} -m segport"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "export"


def schedule_lines(ctx: Context, export_name: str, *, cron: str = "0 6 * * *",
                   on_calendar: str = "*-*-* 06:00:00") -> ScheduleLines:
    """Lines that run ``segport run EXPORT`` on a schedule (cron syntax and systemd calendar)."""
    access = ctx.member_access()
    export = access.config.exports.get(export_name)
    if export is None:
        raise ConfigError(f"No export named '{export_name}'. See 'segport exports list'.")
    access.require_manage_export(export)
    fields = cron.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ConfigError(f"--cron '{cron}' is not five cron fields, e.g. '0 6 * * *'.")
    workspace = shlex.quote(str(ctx.workspace.root))
    run = f"{shlex.quote(segport_command())} --workspace {workspace} run {shlex.quote(export_name)}"
    log = shlex.quote(str(ctx.workspace.runs_dir / "scheduled.log"))
    name = f"segport-{_slug(export_name)}"
    service = (f"[Unit]\nDescription=segport: run export {export_name}\n\n[Service]\n"
               f"Type=oneshot\nExecStart={run}\n")
    timer = (f"[Unit]\nDescription=segport: run export {export_name} on schedule\n\n[Timer]\n"
             f"OnCalendar={on_calendar}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n")
    notes = []
    if not export.schedule:
        notes.append(f"Export '{export_name}' has its schedule off, so 'segport run --all' skips "
                     "it; the lines below run it by name anyway.")
    if export.connection:
        notes.append(f"Unattended runs need the connection's key: an unlocked OS keyring in that "
                     f"session, or {env_var_for(export.connection)} in the job's environment "
                     "(e.g. systemd's EnvironmentFile=, mode 0600).")
    return ScheduleLines(crontab=f"{cron} {run} >> {log} 2>&1", service_name=name,
                         service=service, timer=timer, notes=notes)
