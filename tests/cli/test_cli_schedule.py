"""`segport schedule EXPORT` prints lines that would really run the export."""

from __future__ import annotations

import shlex

from cli_setup import with_connections
from clirunner import Cli


def test_schedule_prints_crontab_and_systemd_units(ready: Cli) -> None:
    with_connections(ready)
    r = ready("exports", "add", "--name", "Weekly VIP", "--connection", "SG shared",
              "--segment", "Everyone", "--map", "email=email", "--list-id", "l", user="ana")
    assert r.code == 0, r.output
    r = ready("schedule", "Weekly VIP", "--cron", "30 7 * * 1", user="bo")
    assert r.code == 0, r.output
    cron = next(line for line in r.stdout.splitlines() if line.startswith("30 7 * * 1 "))
    argv = shlex.split(cron.removeprefix("30 7 * * 1 ").split(" >> ")[0])
    assert argv[0].endswith("segport") and argv[1:] == [
        "--workspace", str(ready.workspace), "run", "Weekly VIP"]
    assert "OnCalendar=*-*-* 06:00:00" in r.stdout and "Type=oneshot" in r.stdout
    assert "schedule off" in r.stderr and "SEGPORT_API_KEY_SG_SHARED" in r.stderr
    assert ready("schedule", "Weekly VIP", "--cron", "every day", user="ana").code == 2
    assert ready("schedule", "Nope", user="ana").code == 2
