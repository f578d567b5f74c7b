"""``segport schedule EXPORT``: print a crontab line and a systemd timer."""

from __future__ import annotations

import click

from segport.cli.output import context, info, out
from segport.manage.schedule import schedule_lines


@click.command()
@click.argument("export")
@click.option("--cron", default="0 6 * * *", show_default=True, help="When, in cron syntax.")
@click.option("--on-calendar", default="*-*-* 06:00:00", show_default=True,
              help="When, in systemd calendar syntax.")
def schedule(export: str, cron: str, on_calendar: str) -> None:
    """Print a ready crontab line and a systemd service + timer that run EXPORT."""
    lines = schedule_lines(context(click.get_current_context()), export, cron=cron,
                           on_calendar=on_calendar)
    for note in lines.notes:
        info(f"Note: {note}")
    out.print("# crontab -e", highlight=False, markup=False)
    out.print(lines.crontab, highlight=False, markup=False, soft_wrap=True)
    out.print(f"\n# ~/.config/systemd/user/{lines.service_name}.service", highlight=False,
              markup=False)
    out.print(lines.service, highlight=False, markup=False, soft_wrap=True)
    out.print(f"# ~/.config/systemd/user/{lines.service_name}.timer", highlight=False,
              markup=False)
    out.print(lines.timer, highlight=False, markup=False, soft_wrap=True)
    out.print(f"# then: systemctl --user daemon-reload && systemctl --user enable --now "
              f"{lines.service_name}.timer", highlight=False, markup=False)


COMMANDS = [schedule]
