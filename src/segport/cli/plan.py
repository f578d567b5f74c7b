"""``segport plan EXPORT``: a dry run — counts and samples of what a run would do."""

from __future__ import annotations

import click

from segport.cli.output import context, emit_json, info, table, warn


@click.command()
@click.argument("export")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--allow-mass-removal", is_flag=True,
              help="Plan as if the blast-radius guard were lifted.")
def plan(export: str, as_json: bool, allow_mass_removal: bool) -> None:
    """Show what a run of EXPORT would add, update, remove and reject; nothing is sent or saved."""
    from segport.manage.planning import plan as make_plan

    with make_plan(context(click.get_current_context()), export,
                   allow_mass_removal=allow_mass_removal) as result:
        if as_json:
            emit_json(result.summary())
            return
        rows = []
        for s in result.segments:
            c = s.counts
            rows.append((s.name, f"{c.read:,}", f"{c.invalid:,}", f"{c.duplicates:,}",
                         f"{c.adds:,}", f"{c.updates:,}", f"{c.unchanged:,}", f"{c.removals:,}"))
        table(f"Plan for export '{export}' ({result.export.mode}) — nothing sent",
              ["segment", "read", "invalid", "duplicates", "add", "update", "unchanged",
               "remove"], rows)
        for s in result.segments:
            for kind, samples in s.samples.items():
                if samples:
                    info(f"{s.name} — {kind}: " + "; ".join(
                        f"{x.email or '(no email)'}" + (f" ({x.detail})" if x.detail else "")
                        for x in samples))
        for refusal in result.refusals:
            warn(f"A run would be refused: {refusal.message}")


COMMANDS = [plan]
